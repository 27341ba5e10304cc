"""``being token``: the token of the service of these settings (``--url``: the console's link with it)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from service._service_access import console_url
from service._token import client_token, token_path
from service.commands._common import EXIT_FAILED, EXIT_OK, add_config_option, load_or_exit
from service.commands._service_client import service_address

__all__ = ["register"]


def handle(args: argparse.Namespace) -> int:
    settings = load_or_exit(args)
    token = client_token(settings)
    if token is None:
        http = settings.http
        print(
            f"being token: no token found: {token_path(settings.storage.database_path)} does not exist "
            f"(the service writes it at start), and neither ${http.token_env} nor http.token_file gives one",
            file=sys.stderr,
        )
        return EXIT_FAILED
    if args.url:
        address = service_address(settings)
        print(console_url(address.host, address.port, token))
    else:
        print(token)
    return EXIT_OK


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("token", help="print the token the service's HTTP routes need")
    add_config_option(parser)
    parser.add_argument("--url", action="store_true", help="print the console's link with the token instead")
    parser.set_defaults(handler=handle)
