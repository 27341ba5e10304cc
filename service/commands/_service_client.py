"""Asking the running service (which holds the database) over HTTP; ``None`` when none answers."""

from __future__ import annotations

from typing import Any

import httpx

from service._discovery import ServiceAddress, read_address
from service.errors import ServiceAnswerError
from service.settings import Settings

__all__ = ["ask_service"]


def ask_service(
    settings: Settings, method: str, path: str, params: dict[str, str], timeout_s: float = 10.0
) -> dict[str, Any] | None:
    """The JSON body of the service's answer, or ``None`` when no service listens.

    Raises:
        ServiceAnswerError: the service answered with an error (the message is the service's).
    """
    address = read_address(settings.storage.database_path) or ServiceAddress(settings.http.host, settings.http.port, 0)
    try:
        response = httpx.request(method, f"{address.base_url}{path}", params=params, timeout=timeout_s)
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
