"""One recorded LLM exchange (request, response or error, timings), its key, and where exchanges go."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any, Protocol

import numpy as np

from llm import errors
from llm._types import ChatResult, Chunk, Embeddings, GenerateResult, ModelInfo, Usage
from llm.errors import LLMError

__all__ = [
    "Exchange",
    "ExchangeSink",
    "ExchangeStore",
    "InMemoryExchangeStore",
    "canonical_request",
    "decode_response",
    "describe",
    "encode_response",
    "error_from_record",
    "error_record",
    "request_key",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Exchange:
    """One call to a backend as it happened.

    Attributes:
        key: :func:`request_key` of ``request``; replays look exchanges up by it.
        operation: chat, chat_stream, generate, generate_stream, embed, list_models or version.
        backend: the name of the backend that answered ("ollama", "openai").
        request: the canonical request (JSON values only).
        response: the encoded result (JSON values only); for streams the chunks seen, even when
            an error ended the stream; ``None`` when the call failed before answering.
        error: ``{"type", "message", "status", "retry_after_s", "endpoint"}`` of the ``LLMError``, or ``None``.
        duration_s: wall time of the call, from the recording backend's clock.
        first_chunk_s: for streams, the wall time until the first chunk.
        time: when the answer (or the error) was taken, on the recording run's clock; ``None``
            when unknown. A replay gives the answer at this time of its virtual clock.
    """

    key: str
    operation: str
    backend: str
    request: Mapping[str, Any]
    response: Any = None
    error: Mapping[str, Any] | None = None
    duration_s: float = 0.0
    first_chunk_s: float | None = None
    time: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (what a durable store writes)."""
        return {
            "key": self.key,
            "operation": self.operation,
            "backend": self.backend,
            "request": dict(self.request),
            "response": self.response,
            "error": dict(self.error) if self.error is not None else None,
            "duration_s": self.duration_s,
            "first_chunk_s": self.first_chunk_s,
            "time": self.time.isoformat() if self.time is not None else None,
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Exchange:
        return cls(
            key=str(obj["key"]),
            operation=str(obj["operation"]),
            backend=str(obj["backend"]),
            request=obj["request"],
            response=obj.get("response"),
            error=obj.get("error"),
            duration_s=float(obj.get("duration_s", 0.0)),
            first_chunk_s=obj.get("first_chunk_s"),
            time=_answered_at(obj.get("time")),
        )


def _answered_at(value: Any) -> datetime | None:
    """An exchange's recorded ``time``: an ISO 8601 time with its zone, or ``None``.

    Raises:
        ValueError: a time without a zone, or text that is no time.
        TypeError: anything but text or ``None``.
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"time: expected an ISO 8601 time or null, got {type(value).__name__}")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"time: expected a time with its zone, got {value!r}")
    return parsed


class ExchangeSink(Protocol):
    """Where a recording backend hands each exchange (an in-memory list, a DuckDB recorder, ...)."""

    def write(self, exchange: Exchange) -> None: ...


class ExchangeStore(Protocol):
    """Where a replaying backend finds exchanges: every recorded one with this key, in recorded order."""

    def lookup(self, key: str) -> Sequence[Exchange]: ...


class InMemoryExchangeStore:
    """Both a sink and a store, in a list: for tests and for short recordings."""

    def __init__(self, exchanges: Sequence[Exchange] = ()) -> None:
        self._all: list[Exchange] = []
        self._by_key: defaultdict[str, list[Exchange]] = defaultdict(list)
        for exchange in exchanges:
            self.write(exchange)

    def write(self, exchange: Exchange) -> None:
        self._all.append(exchange)
        self._by_key[exchange.key].append(exchange)

    def lookup(self, key: str) -> Sequence[Exchange]:
        return tuple(self._by_key.get(key, ()))

    def __len__(self) -> int:
        return len(self._all)

    def __iter__(self) -> Iterator[Exchange]:
        return iter(list(self._all))


# -- requests ------------------------------------------------------------------------------------


def canonical_request(operation: str, **fields: Any) -> dict[str, Any]:
    """The request as JSON values, in one spelling: what the key is computed from.

    The call's own arguments are recorded (``model=None`` stays ``None``), so a replay of the
    same code with the same settings asks for the same keys.
    """
    out: dict[str, Any] = {"operation": operation}
    for name, value in fields.items():
        if name == "messages":
            out[name] = [{"role": m.role, "content": m.content} for m in value]
        elif name == "texts":
            out[name] = list(value)
        elif name == "options":
            out[name] = dict(value) if value else {}
        else:
            out[name] = value
    return out


# built once: json.dumps with options builds a new encoder on every call
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def request_key(request: Mapping[str, Any]) -> str:
    """A stable hash of a canonical request (sorted keys, no whitespace, UTF-8)."""
    return hashlib.sha256(_CANONICAL.encode(request).encode("utf-8")).hexdigest()


def describe(request: Mapping[str, Any]) -> str:
    """A short human description of a request, for a miss message."""
    parts = [str(request.get("operation"))]
    if request.get("model"):
        parts.append(f"model={request['model']}")
    for name in ("messages", "prompt", "texts"):
        if name in request:
            value = request[name]
            if name == "messages" and value:
                value = value[-1].get("content", "")
            elif name == "texts":
                value = f"{len(value)} texts, first {value[0] if value else ''!r}"
            shown = str(value)
            parts.append(f"{name}={shown[:60]!r}" + ("..." if len(shown) > 60 else ""))
    return " ".join(parts)


# -- responses -----------------------------------------------------------------------------------


def _usage(obj: Mapping[str, Any] | None) -> Usage | None:
    return Usage(**obj) if obj is not None else None


_USAGE_FIELDS = tuple(f.name for f in fields(Usage))
_FLAT_FIELDS = {kind: tuple(f.name for f in fields(kind)) for kind in (ChatResult, GenerateResult, Chunk)}
"""Results of plain fields and one ``Usage``: encoded field by field (``asdict`` deep-copies every value)."""


def _flat(value: ChatResult | GenerateResult | Chunk) -> dict[str, Any]:
    out = {name: getattr(value, name) for name in _FLAT_FIELDS[type(value)]}
    usage = out.get("usage")
    if usage is not None:
        out["usage"] = {name: getattr(usage, name) for name in _USAGE_FIELDS}
    return out


def encode_response(value: Any) -> Any:
    """A backend result as JSON values."""
    if type(value) in _FLAT_FIELDS:
        return _flat(value)
    if isinstance(value, ChatResult | GenerateResult | Chunk | ModelInfo):
        return asdict(value)
    if isinstance(value, Embeddings):
        return {"embedder": value.embedder, "vectors": value.vectors.tolist(), "prompt_tokens": value.prompt_tokens}
    if isinstance(value, tuple | list):
        return [encode_response(v) for v in value]
    if isinstance(value, str):
        return value
    raise TypeError(f"cannot record a response of type {type(value).__name__}")


def decode_response(operation: str, obj: Any) -> Any:
    """The inverse of :func:`encode_response` for an operation's result."""
    if operation == "chat":
        return ChatResult(**{**obj, "usage": _usage(obj["usage"])})
    if operation == "generate":
        return GenerateResult(**{**obj, "usage": _usage(obj["usage"])})
    if operation in ("chat_stream", "generate_stream"):
        return [Chunk(**{**c, "usage": _usage(c["usage"])}) for c in obj]
    if operation == "embed":
        rows = obj["vectors"]
        vectors = np.asarray(rows, dtype=np.float32) if rows else np.zeros((0, 0), dtype=np.float32)
        return Embeddings(embedder=obj["embedder"], vectors=vectors, prompt_tokens=obj["prompt_tokens"])
    if operation == "list_models":
        return tuple(ModelInfo(**m) for m in obj)
    if operation == "version":
        return str(obj)
    raise ValueError(f"unknown recorded operation {operation!r}")


# -- errors --------------------------------------------------------------------------------------


def error_record(exc: LLMError) -> dict[str, Any]:
    return {
        "type": type(exc).__name__,
        "message": exc.message,
        "status": exc.status,
        "retry_after_s": exc.retry_after_s,
        "endpoint": exc.endpoint,
    }


def error_from_record(record: Mapping[str, Any]) -> LLMError:
    """The same error class, message and fields as recorded (``LLMError`` for an unknown type)."""
    cls = getattr(errors, str(record.get("type")), LLMError)
    if not (isinstance(cls, type) and issubclass(cls, LLMError)):
        cls = LLMError
    return cls(
        str(record.get("message", "")),
        status=record.get("status"),
        retry_after_s=record.get("retry_after_s"),
        endpoint=record.get("endpoint"),
    )
