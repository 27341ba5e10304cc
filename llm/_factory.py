"""Build the configured backend from plain settings values (``llm/`` does not import ``service/``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import urlsplit

import aiohttp

from llm._http import HttpConfig
from llm._http_backend import RequestHeaders
from llm._ollama import OllamaBackend
from llm._openai import DEFAULT_OPENAI_URL, OpenAIBackend
from llm._protocol import LLMBackend

__all__ = ["DEFAULT_OLLAMA_URL", "BackendSettings", "OptionSettings", "backend_from_settings", "ollama_host_url"]

DEFAULT_OLLAMA_URL = "http://127.0.0.1:11434"


class OptionSettings(Protocol):
    """The generation options (``[llm.options]``); negative seed and zero num_ctx mean "server's default"."""

    @property
    def num_predict(self) -> int: ...
    @property
    def temperature(self) -> float: ...
    @property
    def seed(self) -> int: ...
    @property
    def num_ctx(self) -> int: ...


class BackendSettings(Protocol):
    """What :func:`backend_from_settings` reads (``service.settings.LLMSettings`` has all of it)."""

    @property
    def backend(self) -> str: ...
    @property
    def base_url(self) -> str: ...
    @property
    def chat_model(self) -> str: ...
    @property
    def embed_model(self) -> str: ...
    @property
    def keep_alive(self) -> str: ...
    @property
    def api_key_env(self) -> str: ...
    @property
    def connect_timeout_s(self) -> float: ...
    @property
    def first_byte_timeout_s(self) -> float: ...
    @property
    def read_timeout_s(self) -> float: ...
    @property
    def write_timeout_s(self) -> float: ...
    @property
    def pool_timeout_s(self) -> float: ...
    @property
    def max_connections(self) -> int: ...
    @property
    def max_keepalive_connections(self) -> int: ...
    @property
    def keepalive_expiry_s(self) -> float: ...
    @property
    def options(self) -> OptionSettings: ...


def ollama_host_url(value: str) -> str:
    """``OLLAMA_HOST`` as a URL, the way Ollama reads it: scheme http and port 11434 unless given,
    and a bind-all address (``0.0.0.0``, ``::``) meaning this machine."""
    text = value.strip()
    if "://" not in text:
        text = "http://" + text
    parts = urlsplit(text)
    host = parts.hostname or "127.0.0.1"
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1"
    default_port = 443 if parts.scheme == "https" else 11434
    port = parts.port or default_port
    shown = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{shown}:{port}{parts.path.rstrip('/')}"


def _options(options: OptionSettings) -> dict[str, Any]:
    out: dict[str, Any] = {"num_predict": options.num_predict, "temperature": options.temperature}
    if options.seed >= 0:
        out["seed"] = options.seed
    if options.num_ctx > 0:
        out["num_ctx"] = options.num_ctx
    return out


def backend_from_settings(
    settings: BackendSettings,
    env: Mapping[str, str],
    *,
    connector: aiohttp.BaseConnector | None = None,
    request_headers: RequestHeaders | None = None,
) -> LLMBackend:
    """The backend ``settings.backend`` names, configured.

    ``OLLAMA_HOST`` in ``env`` is used when ``base_url`` is left at its default and the backend is
    "ollama"; the "openai" backend at the default URL talks to Ollama's ``/v1``. The API key is read
    from ``env[settings.api_key_env]`` (none is sent when it is unset).

    Raises:
        ValueError: an unknown backend name or a malformed URL.
    """
    base_url = settings.base_url.rstrip("/")
    if settings.backend == "ollama":
        if base_url == DEFAULT_OLLAMA_URL and env.get("OLLAMA_HOST", "").strip():
            base_url = ollama_host_url(env["OLLAMA_HOST"])
    elif settings.backend == "openai":
        if base_url == DEFAULT_OLLAMA_URL:
            base_url = DEFAULT_OPENAI_URL
    else:
        raise ValueError(f"llm.backend: expected 'ollama' or 'openai', got {settings.backend!r}")
    http = HttpConfig(
        base_url=base_url,
        connect_timeout_s=settings.connect_timeout_s,
        first_byte_timeout_s=settings.first_byte_timeout_s,
        read_timeout_s=settings.read_timeout_s,
        write_timeout_s=settings.write_timeout_s,
        pool_timeout_s=settings.pool_timeout_s,
        max_connections=settings.max_connections,
        max_keepalive_connections=settings.max_keepalive_connections,
        keepalive_expiry_s=settings.keepalive_expiry_s,
    )
    options = _options(settings.options)
    if settings.backend == "ollama":
        return OllamaBackend(
            http=http,
            chat_model=settings.chat_model,
            embed_model=settings.embed_model,
            options=options,
            keep_alive=settings.keep_alive,
            connector=connector,
            request_headers=request_headers,
        )
    return OpenAIBackend(
        http=http,
        chat_model=settings.chat_model,
        embed_model=settings.embed_model,
        options=options,
        api_key=env.get(settings.api_key_env) or None,
        connector=connector,
        request_headers=request_headers,
    )
