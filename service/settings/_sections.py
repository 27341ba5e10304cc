"""The settings tree: one frozen dataclass per ``[section]`` of config.toml.

Units are in the key names. Every field here has a line in config.toml with the
same default (``tests/service/test_config_file.py`` holds them together). Sections
that belong to one part of the service live beside it in this package
(``_llm.py``, ``_resilience.py``, ...) and are named here once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from service.settings._fields import setting
from service.settings._http_access import ClientLimitSettings, EventStreamSettings, check_token_env
from service.settings._llm import LLMSettings
from service.settings._memory import MemorySettings
from service.settings._mind import MindSettings
from service.settings._nats import NatsSettings
from service.settings._operations import CheckSettings, HealthSettings
from service.settings._resilience import ResilienceSettings
from service.settings._surfaces import IngestSettings, OutboxSettings
from service.settings._tracing import TracingSettings

__all__ = [
    "HttpSettings",
    "InboxSettings",
    "LogSettings",
    "RecorderSettings",
    "ReplySettings",
    "Settings",
    "ShutdownSettings",
    "SinkSettings",
    "StorageSettings",
    "TickSettings",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class StorageSettings:
    """``[storage]``: where the memory lives."""

    database_path: str = setting("data/being.duckdb", help="DuckDB file holding every table")
    duckdb_threads: int = setting(2, help="threads DuckDB may use", min=1, max=256)
    # DuckDB keeps the blocks it wrote cached up to its limit: at 1024 that was 283 MiB after 200,000 vectors
    duckdb_memory_limit_mb: int = setting(128, help="DuckDB memory limit", min=64)


@dataclass(frozen=True, slots=True, kw_only=True)
class TickSettings:
    """``[ticks]``: the being's two clocks."""

    light_interval_s: float = setting(1.0, help="light tick: inbox read cadence", min=0.01, max=3600.0)
    heavy_interval_s: float = setting(60.0, help="heavy tick: one thought", min=0.1, max=86400.0)


@dataclass(frozen=True, slots=True, kw_only=True)
class InboxSettings:
    """``[inbox]``: the text file users append messages to."""

    path: str = setting("inbox.txt", help="inbox file, one message per line")
    max_bytes: int = setting(
        1024 * 1024,
        help="the most bytes read from an inbox file at once (memory bound; files of any size are read)",
        min=1024,
    )
    max_line_bytes: int = setting(64 * 1024, help="longer lines become dead letters", min=16, max=16 * 1024 * 1024)
    urgent_prefix: str = setting("!URGENT", help="a line starting with this is user.urgent")
    max_pending_events: int = setting(
        256, help="messages read and not yet answered and stored, at most (backpressure)", min=1, max=1_000_000
    )
    quiet_s: float = setting(
        2.0,
        help="a claimed inbox unchanged this long and open in no other process is final (last line read, deleted)",
        min=0.0,
    )

    def __post_init__(self) -> None:
        if self.max_bytes < self.max_line_bytes + 4:
            raise ValueError(
                f"inbox.max_bytes must be at least inbox.max_line_bytes + 4 = {self.max_line_bytes + 4}"
                " (room for the longest line and its newline)"
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class SinkSettings:
    """``[sink]``: how writes are batched on their way to DuckDB."""

    batch_max_rows: int = setting(10000, help="a batch is written when it has this many rows", min=1)
    batch_max_wait_s: float = setting(0.25, help="... or when its first row has waited this long", min=0.001, max=60.0)
    queue_max_batches: int = setting(
        256, help="batches waiting for the writer thread before its queue counts as over its bound", min=1
    )


def _is_host_name(name: str) -> bool:
    """A bare host name or address: what a Host header holds before its port (``[::1]`` and ``::1`` both pass)."""
    bare = name[1:-1] if name.startswith("[") and name.endswith("]") else name
    if not bare or any(c in bare for c in "/@?#[] \t"):
        return False
    return ":" not in bare or bare.count(":") >= 2  # one colon is a port; two or more an IPv6 address


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpSettings:
    """``[http]``: /metrics, /healthz and the query routes."""

    host: str = setting("127.0.0.1", help="address to bind; 0.0.0.0 only inside a container")
    port: int = setting(8766, help="TCP port", min=0, max=65535)
    max_body_bytes: int = setting(1024 * 1024, help="larger request bodies get 413 (every route)", min=1024)
    allowed_hosts: tuple[str, ...] = setting(
        (), help="host names clients may use in Host and Origin, besides loopback and the bound address"
    )
    header_timeout_s: float = setting(
        10.0,
        help="a connection must deliver a whole request head this soon after it opens or its last answer",
        min=0.0,
        min_exclusive=True,
        max=600.0,
    )
    body_timeout_s: float = setting(
        10.0, help="a request body must arrive whole this soon after its head", min=0.0, min_exclusive=True, max=600.0
    )
    max_connections: int = setting(100, help="open connections at most; more are closed at once", min=1, max=100_000)
    token_env: str = setting("DIGITAL_BEING_TOKEN", help="environment variable holding the token (not BEING_*)")
    token_file: str = setting("", help="file holding the token; empty: the variable, else one made at start")
    metrics_public: bool = setting(False, help="serve /metrics without the token")
    limits: ClientLimitSettings = field(default_factory=ClientLimitSettings)
    events: EventStreamSettings = field(default_factory=EventStreamSettings)

    def __post_init__(self) -> None:
        check_token_env(self.token_env)
        for name in self.allowed_hosts:
            if not _is_host_name(name):
                raise ValueError(
                    f"http.allowed_hosts: expected host names or addresses without scheme, port or path "
                    f"(e.g. 'being.lan'), got {name!r}"
                )


@dataclass(frozen=True, slots=True, kw_only=True)
class ShutdownSettings:
    """``[shutdown]``: what happens on SIGTERM/SIGINT."""

    drain_timeout_s: float = setting(
        10.0, help="in-flight work may finish for this long after the first signal", min=0.0, max=600.0
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class LogSettings:
    """``[log]``: what the service prints."""

    level: str = setting("info", help="lowest level printed", choices=("debug", "info", "warning", "error"))
    format: str = setting(
        "auto", help="json lines, readable text, or auto (text on a terminal)", choices=("auto", "json", "text")
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplySettings:
    """``[reply]``: the being answers each user message with the LLM."""

    enabled: bool = setting(True, help="answer user messages (off: messages are stored unanswered)")
    max_concurrent: int = setting(
        1, help="replies being computed at once; match the server's OLLAMA_NUM_PARALLEL", min=1, max=64
    )
    deferred_enabled: bool = setting(True, help="answer a message that got a fallback for real once the LLM is back")
    deferred_interval_s: float = setting(
        30.0, help="the oldest message waiting for its real answer is asked again this often", min=0.1, max=86400.0
    )
    deferred_max_pending: int = setting(
        1000, help="messages waiting for a real answer kept in memory (the rest wait for a restart)", min=1
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class RecorderSettings:
    """``[recorder]``: every event and LLM exchange kept for replay."""

    enabled: bool = setting(True, help="record every event and LLM exchange in the events and llm_exchanges tables")


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """Every setting the service has, one attribute per section."""

    storage: StorageSettings = field(default_factory=StorageSettings)
    ticks: TickSettings = field(default_factory=TickSettings)
    inbox: InboxSettings = field(default_factory=InboxSettings)
    sink: SinkSettings = field(default_factory=SinkSettings)
    http: HttpSettings = field(default_factory=HttpSettings)
    shutdown: ShutdownSettings = field(default_factory=ShutdownSettings)
    log: LogSettings = field(default_factory=LogSettings)
    reply: ReplySettings = field(default_factory=ReplySettings)
    recorder: RecorderSettings = field(default_factory=RecorderSettings)
    llm: LLMSettings = field(default_factory=LLMSettings)
    resilience: ResilienceSettings = field(default_factory=ResilienceSettings)
    memory: MemorySettings = field(default_factory=MemorySettings)
    mind: MindSettings = field(default_factory=MindSettings)
    checks: CheckSettings = field(default_factory=CheckSettings)
    health: HealthSettings = field(default_factory=HealthSettings)
    ingest: IngestSettings = field(default_factory=IngestSettings)
    outbox: OutboxSettings = field(default_factory=OutboxSettings)
    tracing: TracingSettings = field(default_factory=TracingSettings)
    nats: NatsSettings = field(default_factory=NatsSettings)
