"""The routes that write or copy memory answer only this machine: others get a 403 naming the command to run."""

from __future__ import annotations

import json
from unittest import mock

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from service.http._local_peer import refused_unless_local


def _request(peer: str) -> web.Request:
    transport = mock.Mock()
    transport.get_extra_info.side_effect = lambda name, default=None: (peer, 4321) if name == "peername" else default
    return make_mocked_request("POST", "/backup", transport=transport)


@pytest.mark.parametrize("peer", ["127.0.0.1", "::1", "127.8.9.1"])
def test_this_machine_may_go_on(peer: str) -> None:
    assert refused_unless_local(_request(peer), "POST /backup", "backup") is None


@pytest.mark.parametrize("peer", ["172.17.0.1", "10.0.0.2", "", "not an address"])
def test_another_machine_is_refused_with_the_command_to_run_here(peer: str) -> None:
    refused = refused_unless_local(_request(peer), "POST /backup", "backup")
    assert refused is not None and refused.status == 403
    assert refused.text is not None
    assert json.loads(refused.text) == {
        "error": "POST /backup is accepted only from this machine; run `being backup` here"
    }
