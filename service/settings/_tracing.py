"""``[tracing]``: OpenTelemetry spans of each message through the pipeline, off by default (docs/tracing.md)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from service.settings._errors import SettingsError
from service.settings._fields import setting

__all__ = ["TracingSettings", "exporter_headers"]

_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an HTTP token (RFC 9110)
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True, slots=True, kw_only=True)
class TracingSettings:
    """``[tracing]``: where spans go and how many traces are kept."""

    enabled: bool = setting(False, help="make spans of every message (off: no tracing object is made)")
    service_name: str = setting("digital-being", help="the service.name resource attribute of every span")
    exporter: str = setting("otlp", help="otlp (OTLP/HTTP protobuf) or console (stdout)", choices=("otlp", "console"))
    endpoint: str = setting("http://127.0.0.1:4318/v1/traces", help="the OTLP/HTTP traces URL (otlp)")
    headers_env: str = setting(
        "", help="environment variable holding the exporter's headers, name=value,name=value (empty: none)"
    )
    sample_ratio: float = setting(1.0, help="share of new traces kept (a caller's sampled flag wins)", min=0.0, max=1.0)
    export_timeout_s: float = setting(10.0, help="one export's time limit, retries included", min=0.1, max=300.0)
    max_queue_spans: int = setting(
        2048, help="finished spans waiting for export, at most; more are dropped", min=1, max=1_000_000
    )

    def __post_init__(self) -> None:
        name = self.service_name
        if not name.strip() or not name.isprintable() or len(name) > 200:
            raise ValueError(f"tracing.service_name: expected 1 to 200 printable characters, got {name!r}")
        url = urlsplit(self.endpoint)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"tracing.endpoint: expected an http:// or https:// URL, got {self.endpoint!r}")
        if url.username is not None or url.password is not None:
            raise ValueError("tracing.endpoint: credentials do not belong in the URL; put them in tracing.headers_env")
        if self.headers_env and not _ENV_NAME.fullmatch(self.headers_env):
            raise ValueError(f"tracing.headers_env: expected an environment variable's name, got {self.headers_env!r}")


def exporter_headers(settings: TracingSettings, env: Mapping[str, str]) -> dict[str, str]:
    """The exporter's headers from ``env[settings.headers_env]`` (``name=value`` pairs split by commas).

    Raises:
        SettingsError: a pair without ``=``, or a name that is not an HTTP header name (the value
            itself, often a key, is never shown).
    """
    if not settings.headers_env:
        return {}
    text = env.get(settings.headers_env, "")
    headers: dict[str, str] = {}
    for n, pair in enumerate(part for part in text.split(",") if part.strip()):
        name, sep, value = pair.partition("=")
        name = name.strip()
        if not sep or not _HEADER_NAME.fullmatch(name) or any(c in value for c in "\r\n\0"):
            raise SettingsError(
                settings.headers_env,
                f"<{len(text)} characters, not shown>",
                f"name=value pairs separated by commas (pair {n + 1} is not one)",
                "environment",
            )
        headers[name] = value.strip()
    return headers
