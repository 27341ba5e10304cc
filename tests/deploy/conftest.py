"""What the deployment files are checked against: the tools (promtool, docker-compose) and a real scrape."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import pytest

from tests.metrics_support import live_service
from tests.support import REPO, until

DEPLOY = REPO / "deploy"


def tool(name: str, package: str) -> str:
    """The path of ``name``; a skip when it is missing here, a failure in CI (``CI`` set: .ci/run installs it)."""
    found = shutil.which(name)
    if found is not None:
        return found
    message = f"{name} is not installed (Debian package {package!r}; .ci/run installs it)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def promtool() -> str:
    return tool("promtool", "prometheus")


async def _scrape(folder: Path) -> str:
    async with live_service(folder) as service:
        service.say("hello")
        await service.client.get("/healthz")
        await until(
            lambda: (
                (service.runtime.registry.get_sample_value("being_episodes_written_total", {"type": "user.reply"}) or 0)
                >= 1
            ),
            timeout_s=30,
            what="a reply stored",
        )
        return await service.scrape()


@pytest.fixture(scope="session")
def service_scrape(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The text of /metrics of a real service that answered one message."""
    return asyncio.run(_scrape(tmp_path_factory.mktemp("scraped")))
