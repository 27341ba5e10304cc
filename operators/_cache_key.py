"""A canonical key for a request: equal requests give equal keys, whatever their dict order."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from json import encoder as _json_encoder
from typing import Any

__all__ = ["canonical_key"]

# built once: json.dumps with options builds a new encoder on every call
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
_C_ENCODER: Callable[..., Any] | None = getattr(_json_encoder, "c_make_encoder", None)
_SHA256 = hashlib.sha256


def _text(request: Mapping[str, Any]) -> str:
    """``_CANONICAL.encode(request)``, calling the C encoder it would make directly (a key per protected call)."""
    make = _C_ENCODER
    if make is None or not isinstance(request, dict):  # what encode() does with anything else
        return _CANONICAL.encode(request)
    e = _CANONICAL
    # the arguments JSONEncoder.iterencode passes; a fresh markers dict, as each encode() makes
    chunks = make({}, e.default, _json_encoder.encode_basestring, None, ":", ",", True, False, False)(request, 0)
    return "".join(chunks)


def canonical_key(request: Mapping[str, Any]) -> str:
    """A SHA-256 hex digest of ``request`` as canonical JSON (sorted keys, no spaces, UTF-8).

    Put in the request what decides the answer: model, options, messages or prompt,
    format. Values must be JSON-serialisable (tuples count as lists).

    Raises:
        TypeError: a value cannot be serialised.
    """
    return _SHA256(_text(request).encode("utf-8")).hexdigest()
