"""``[llm]`` and ``[llm.options]``: which LLM server the being thinks with, and how patiently."""

from __future__ import annotations

from dataclasses import dataclass, field

from service.settings._fields import setting

__all__ = ["LLMOptionsSettings", "LLMSettings"]


@dataclass(frozen=True, slots=True, kw_only=True)
class LLMOptionsSettings:
    """``[llm.options]``: generation options sent with every call (a call may override them)."""

    num_predict: int = setting(512, help="most tokens in one reply; -1 for no limit", min=-1, max=131072)
    temperature: float = setting(0.7, help="sampling temperature; 0 is the most repeatable", min=0.0, max=2.0)
    seed: int = setting(-1, help="fixed sampling seed for repeatable replies; -1 leaves it to the server", min=-1)
    num_ctx: int = setting(0, help="context window in tokens; 0 keeps the model's own", min=0, max=1048576)


@dataclass(frozen=True, slots=True, kw_only=True)
class LLMSettings:
    """``[llm]``: the LLM server, models, timeouts and connection pool."""

    backend: str = setting(
        "ollama", help="server API: Ollama's own, or OpenAI-compatible", choices=("ollama", "openai")
    )
    base_url: str = setting(
        "http://127.0.0.1:11434", help="server URL; OLLAMA_HOST is used while this is left at its default"
    )
    chat_model: str = setting("llama3.2", help="model for chat and generate")
    embed_model: str = setting("nomic-embed-text", help="model for embeddings")
    keep_alive: str = setting("5m", help="how long the server keeps a model loaded after a call (Ollama)")
    api_key_env: str = setting("OPENAI_API_KEY", help="environment variable holding the bearer key (openai)")
    connect_timeout_s: float = setting(5.0, help="TCP connect timeout", min=0.01, max=600.0)
    first_byte_timeout_s: float = setting(
        60.0,
        help="longest wait from sending a request to the first byte of its answer (loading the model counts)",
        min=0.01,
        max=3600.0,
    )
    read_timeout_s: float = setting(30.0, help="longest wait between two bytes of an answer", min=0.01, max=3600.0)
    write_timeout_s: float = setting(
        30.0, help="checked, not applied: sending counts within first_byte_timeout_s", min=0.01, max=600.0
    )
    pool_timeout_s: float = setting(30.0, help="longest wait for a free connection", min=0.01, max=600.0)
    max_connections: int = setting(8, help="connections open to the server at once", min=1, max=1024)
    max_keepalive_connections: int = setting(
        8, help="0: no keep-alive; otherwise idle connections are kept open", min=0, max=1024
    )
    keepalive_expiry_s: float = setting(30.0, help="an idle connection is closed after this long", min=0.0, max=3600.0)
    lexical_dim: int = setting(384, help="length of the offline lexical embedder's vectors", min=8, max=8192)
    options: LLMOptionsSettings = field(default_factory=LLMOptionsSettings)

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url: expected an http:// or https:// URL, got {self.base_url!r}")
        if self.max_keepalive_connections > self.max_connections:
            raise ValueError(
                f"max_keepalive_connections ({self.max_keepalive_connections}) must not exceed "
                f"max_connections ({self.max_connections})"
            )
