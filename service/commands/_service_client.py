"""Asking the running service (which holds the database) over HTTP; ``None`` when none answers.

Every request carries the service's token (``service/_token.py``: the variable named by
``http.token_env``, the ``http.token_file``, or the ``<database>.token`` the service wrote).
"""

from __future__ import annotations

from typing import Any

import httpx

from service._discovery import ServiceAddress, read_address
from service._token import client_token
from service.errors import ServiceAnswerError
from service.settings import Settings

__all__ = ["ask_service", "auth_headers", "service_address"]


def service_address(settings: Settings) -> ServiceAddress:
    """The published address of the service of these settings, else the configured one."""
    return read_address(settings.storage.database_path) or ServiceAddress(settings.http.host, settings.http.port, 0)


def auth_headers(settings: Settings) -> dict[str, str]:
    """``Authorization: Bearer`` with the token of the service of these settings (none when none is found)."""
    token = client_token(settings)
    return {"Authorization": f"Bearer {token}"} if token is not None else {}


def ask_service(
    settings: Settings, method: str, path: str, params: dict[str, str], timeout_s: float = 10.0
) -> dict[str, Any] | None:
    """The JSON body of the service's answer, or ``None`` when no service listens.

    Raises:
        ServiceAnswerError: the service answered with an error (the message is the service's).
    """
    address = service_address(settings)
    headers = auth_headers(settings)
    try:
        response = httpx.request(method, f"{address.base_url}{path}", params=params, headers=headers, timeout=timeout_s)
    except httpx.TransportError:
        return None
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code != 200:
        message = body.get("error") if isinstance(body, dict) else None
        raise ServiceAnswerError(f"the service answered {response.status_code}: {message or response.text[:200]}")
    if not isinstance(body, dict):
        raise ServiceAnswerError(
            f"the service answered with something that is not a JSON object: {response.text[:200]}"
        )
    return body
