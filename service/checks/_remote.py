"""Checks of the servers the service talks to: the LLM (reachable, models present) and Redis when configured.

They are warnings: without the LLM the being still stores every message and answers with
fallbacks, and without Redis every shared-cache lookup is a miss. Each request gives up after
``checks.remote_timeout_s``; the LLM is asked once (version, then models) for all three checks.
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass

from llm import LLMError, backend_from_settings, ollama_host_url
from service.checks._check import Check, CheckFailed, Probe, Severity
from service.checks._redis_ping import RedisUnanswered, ping_redis

__all__ = ["REMOTE_CHECKS"]


_HINT = " (set llm.base_url or BEING_LLM_BASE_URL; until it answers, every reply is a fallback)"


@dataclass(frozen=True, slots=True)
class _Server:
    """What the LLM server said: where it is, its version, its models."""

    where: str
    version: str
    models: frozenset[str]


_DEFAULT_URL = "http://127.0.0.1:11434"  # [llm] base_url's default, where OLLAMA_HOST takes over


def _full_name(model: str) -> str:
    """Ollama's naming: a model without a tag is ``:latest`` (OpenAI-style ids have none and match as they are)."""
    return model if ":" in model.rsplit("/", 1)[-1] else model + ":latest"


def _where(probe: Probe) -> str:
    """The server the backend will talk to, said the way the backend resolves it."""
    llm = probe.settings.llm
    url = llm.base_url.rstrip("/")
    if llm.backend == "ollama" and url == _DEFAULT_URL and probe.env.get("OLLAMA_HOST", "").strip():
        return ollama_host_url(probe.env["OLLAMA_HOST"])
    if llm.backend == "openai" and url == _DEFAULT_URL:
        return url + "/v1"
    return url


async def _ask(probe: Probe) -> _Server:
    limit = probe.settings.checks.remote_timeout_s
    quick = dataclasses.replace(
        probe.settings.llm,
        connect_timeout_s=limit,
        first_byte_timeout_s=limit,
        read_timeout_s=limit,
        write_timeout_s=limit,
        pool_timeout_s=limit,
    )
    backend = backend_from_settings(quick, probe.env)
    try:
        async with asyncio.timeout(limit * 3):  # version and models, with the connect time of each
            version = await backend.version()  # type: ignore[attr-defined]
            models = await backend.list_models()  # type: ignore[attr-defined]
    except TimeoutError as exc:
        raise CheckFailed(f"{_where(probe)} gave no answer within {limit * 3:g} s{_HINT}") from exc
    except LLMError as exc:
        raise CheckFailed(f"{_where(probe)}: {exc}{_HINT}") from exc
    finally:
        await backend.aclose()
    return _Server(where=_where(probe), version=version, models=frozenset(m.name for m in models))


def _server(probe: Probe) -> _Server:
    found: _Server = probe.once("llm", lambda: asyncio.run(_ask(probe)))
    return found


def _unused(probe: Probe) -> str | None:
    if not probe.settings.reply.enabled:
        return "not asked: reply.enabled is false (no LLM call is made)"
    return None


def _llm(probe: Probe) -> str:
    unused = _unused(probe)
    if unused is not None:
        return unused
    server = _server(probe)
    return f"{probe.settings.llm.backend} server at {server.where} answers (version {server.version})"


def _model(probe: Probe, name: str, key: str) -> str:
    unused = _unused(probe)
    if unused is not None:
        return unused
    try:
        server = _server(probe)
    except CheckFailed as exc:
        raise CheckFailed(f"{key} {name!r} not looked for: {_where(probe)} does not answer (see llm server)") from exc
    if name not in server.models and _full_name(name) not in {_full_name(m) for m in server.models}:
        have = ", ".join(sorted(server.models)) or "none"
        raise CheckFailed(f"{key} {name!r} is not on {server.where} (it has: {have}); pull it (ollama pull {name})")
    return f"{key} {name!r} is on {server.where}"


def _chat_model(probe: Probe) -> str:
    return _model(probe, probe.settings.llm.chat_model, "llm.chat_model")


def _embed_model(probe: Probe) -> str:
    return _model(probe, probe.settings.llm.embed_model, "llm.embed_model")


def _cache_store(probe: Probe) -> str:
    cache = probe.settings.resilience.cache
    if not cache.enabled or cache.backend != "redis":
        return f"backend {cache.backend if cache.enabled else 'off'}: nothing to reach"
    limit = probe.settings.checks.remote_timeout_s
    try:
        ping_redis(cache.redis_address(), limit)
    except RedisUnanswered as exc:
        # the service would run (every shared lookup a miss), but not as configured
        raise CheckFailed(f"{cache.shown_redis_url()} does not answer within {limit:g} s: {exc}") from exc
    return f"{cache.shown_redis_url()} answers"


REMOTE_CHECKS = (
    Check(name="llm server", severity=Severity.WARNING, run=_llm),
    Check(name="chat model", severity=Severity.WARNING, run=_chat_model),
    Check(name="embed model", severity=Severity.WARNING, run=_embed_model),
    Check(name="cache store", severity=Severity.WARNING, run=_cache_store),
)
