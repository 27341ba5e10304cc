"""The values that go into and come out of an LLM backend."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

__all__ = [
    "ChatResult",
    "Chunk",
    "Embeddings",
    "Format",
    "GenerateResult",
    "Message",
    "ModelInfo",
    "Role",
    "Usage",
]

Role = Literal["system", "user", "assistant", "tool"]
# "json" for any JSON value, or a JSON schema the reply must follow.
Format = str | dict[str, Any]

_ROLES = ("system", "user", "assistant", "tool")


@dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    """One chat message."""

    role: Role
    content: str

    def __post_init__(self) -> None:
        if self.role not in _ROLES:
            raise ValueError(f"Message.role: expected one of {_ROLES}, got {self.role!r}")

    @classmethod
    def system(cls, content: str) -> Message:
        return cls(role="system", content=content)

    @classmethod
    def user(cls, content: str) -> Message:
        return cls(role="user", content=content)

    @classmethod
    def assistant(cls, content: str) -> Message:
        return cls(role="assistant", content=content)


@dataclass(frozen=True, slots=True, kw_only=True)
class Usage:
    """What one call cost, as the server reported it (durations converted to seconds).

    ``None`` means the server did not say (OpenAI-compatible servers report no durations).
    """

    prompt_tokens: int = 0
    output_tokens: int = 0
    total_duration_s: float | None = None
    load_duration_s: float | None = None
    prompt_eval_duration_s: float | None = None
    eval_duration_s: float | None = None

    @property
    def tokens_per_s(self) -> float | None:
        """Output tokens per second of generation (``eval_count / eval_duration``)."""
        if self.eval_duration_s is None or self.eval_duration_s <= 0:
            return None
        return self.output_tokens / self.eval_duration_s


@dataclass(frozen=True, slots=True, kw_only=True)
class ChatResult:
    """A whole chat reply."""

    model: str
    content: str
    done_reason: str | None = None
    usage: Usage = field(default_factory=Usage)


@dataclass(frozen=True, slots=True, kw_only=True)
class GenerateResult:
    """A whole completion of a prompt."""

    model: str
    text: str
    done_reason: str | None = None
    usage: Usage = field(default_factory=Usage)


@dataclass(frozen=True, slots=True, kw_only=True)
class Chunk:
    """One piece of a streamed chat or generate reply.

    The last chunk has ``done=True`` and carries ``done_reason`` and ``usage``.
    """

    model: str
    text: str
    done: bool = False
    done_reason: str | None = None
    usage: Usage | None = None


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Embeddings:
    """A batch of L2-normalised float32 vectors, one row per text, named by their embedder.

    Vectors from different embedders (``embedder`` differs) must never be compared.
    """

    embedder: str
    vectors: npt.NDArray[np.float32]
    prompt_tokens: int = 0

    def __post_init__(self) -> None:
        if self.vectors.dtype != np.float32 or self.vectors.ndim != 2:
            raise ValueError(
                f"Embeddings.vectors: expected a 2-D float32 array, got {self.vectors.ndim}-D {self.vectors.dtype}"
            )

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def __len__(self) -> int:
        return int(self.vectors.shape[0])


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelInfo:
    """A model the server has."""

    name: str
    size_bytes: int | None = None
    digest: str | None = None
    family: str | None = None
    parameter_size: str | None = None
    quantization_level: str | None = None
    modified_at: str | None = None


def normalise_rows(vectors: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
    """L2-normalise each row as float32; an all-zero row stays zero."""
    out = np.asarray(vectors, dtype=np.float32)
    if out.ndim != 2:
        raise ValueError(f"expected a 2-D array of vectors, got {out.ndim}-D")
    # what np.linalg.norm(out, axis=1, keepdims=True) computes, without its checks (one row is a
    # typical call, where they cost more than the sums)
    norms = np.sqrt(np.add.reduce(out * out, axis=1, keepdims=True))
    np.maximum(norms, np.float32(1e-12), out=norms)
    result: npt.NDArray[np.float32] = (out / norms).astype(np.float32, copy=False)
    return result
