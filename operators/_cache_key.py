"""A canonical key for a request: equal requests give equal keys, whatever their dict order."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

__all__ = ["canonical_key"]

# built once: json.dumps with options builds a new encoder on every call
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def canonical_key(request: Mapping[str, Any]) -> str:
    """A SHA-256 hex digest of ``request`` as canonical JSON (sorted keys, no spaces, UTF-8).

    Put in the request what decides the answer: model, options, messages or prompt,
    format. Values must be JSON-serialisable (tuples count as lists).

    Raises:
        TypeError: a value cannot be serialised.
    """
    text = _CANONICAL.encode(request)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
