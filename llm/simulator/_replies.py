"""Deterministic answers: a reply is a function of model and prompt; so are its statistics."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from llm._lexical import LexicalEmbedder
from llm.simulator._off_schema import OFF_SCHEMA_KINDS, off_schema_text
from llm.simulator._schema import Draws, instance_of, schema_seed

__all__ = ["Reply", "embed_vectors", "prompt_tokens", "reply_for", "statistics"]

_SOURCE_TEXT = (
    "the quiet room holds a small lamp and a window where light falls on old paper while someone thinks "
    "about rivers stones clocks letters gardens bridges music numbers and the slow return of morning so "
    "every question finds an answer made of careful plain words"
)
_VOCABULARY = tuple(_SOURCE_TEXT.split())

_NS_PER_PROMPT_TOKEN = 1_000_000
_NS_PER_OUTPUT_TOKEN = 5_000_000  # 200 tokens/s
_LOAD_NS = 2_000_000


@dataclass(frozen=True, slots=True)
class Reply:
    """The words of a reply (one stream chunk each) and why it stopped."""

    pieces: tuple[str, ...]
    done_reason: str

    @property
    def text(self) -> str:
        return "".join(self.pieces)


def prompt_tokens(text: str) -> int:
    """A token count that is stable and grows with the prompt: one per word, at least one."""
    return max(1, len(text.split()))


def _words(model: str, prompt: str) -> list[str]:
    digest = hashlib.sha256(f"{model}\0{prompt}".encode()).digest()
    count = 6 + digest[0] % 19
    return [_VOCABULARY[digest[1 + i % 31] * (i + 1) % len(_VOCABULARY)] for i in range(count)]


def reply_for(model: str, prompt: str, options: Mapping[str, Any], fmt: Any, *, fault: str | None = None) -> Reply:
    """The reply to ``prompt``; ``num_predict`` cuts it short with done_reason "length".

    ``fmt`` "json" makes it a JSON object; a schema (a dict) makes it a deterministic instance of
    that schema (never cut), or, with an ``off-schema`` ``fault``, a broken one.

    Raises:
        ValueError: ``fmt`` is a schema with no instance the simulator can make (a ``$ref`` to nowhere).
    """
    words = _words(model, prompt)
    if fmt == "json":
        return Reply((json.dumps({"reply": " ".join(words)}),), "stop")
    if isinstance(fmt, dict):
        return _schema_reply(model, prompt, fmt, fault)
    limit = options.get("num_predict")
    reason = "stop"
    if isinstance(limit, int) and not isinstance(limit, bool) and 0 <= limit < len(words):
        words = words[:limit]
        reason = "length"
    pieces = tuple(w if i == 0 else " " + w for i, w in enumerate(words))
    return Reply(pieces, reason)


def _schema_reply(model: str, prompt: str, schema: dict[str, Any], fault: str | None) -> Reply:
    seed = schema_seed(model, prompt, json.dumps(schema, sort_keys=True))
    instance = instance_of(schema, Draws(seed))
    if fault is None:
        return Reply((json.dumps(instance),), "stop")
    kind = fault.partition(":")[2] or Draws(seed + b"off-schema").pick(OFF_SCHEMA_KINDS)
    text, made = off_schema_text(kind, schema, instance)
    return Reply((text,), "length" if made == "cut" else "stop")


def statistics(prompt_count: int, output_count: int) -> dict[str, int]:
    """Ollama's final-chunk statistics, in nanoseconds, derived from the token counts."""
    prompt_ns = prompt_count * _NS_PER_PROMPT_TOKEN
    eval_ns = max(1, output_count) * _NS_PER_OUTPUT_TOKEN
    return {
        "total_duration": _LOAD_NS + prompt_ns + eval_ns,
        "load_duration": _LOAD_NS,
        "prompt_eval_count": prompt_count,
        "prompt_eval_duration": prompt_ns,
        "eval_count": output_count,
        "eval_duration": eval_ns,
    }


_EMBEDDERS: dict[int, LexicalEmbedder] = {}


def embed_vectors(texts: list[str], dim: int) -> npt.NDArray[np.float32]:
    """Word-only hashed vectors: texts that share words are closer than texts that do not."""
    embedder = _EMBEDDERS.get(dim)
    if embedder is None:
        embedder = _EMBEDDERS[dim] = LexicalEmbedder(dim, char_ngrams=())
    return embedder.vectors(texts)
