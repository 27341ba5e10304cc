"""Every line on stderr as JSON, when the log format is ``json`` (in a container, say).

The service's own log lines are JSON already; what else reaches stderr (a one-line fatal error
of the CLI, a Python traceback at exit, a library's print) is wrapped, one JSON object per line,
so a log collector never meets a plain line among JSON ones.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import TextIO

__all__ = ["JsonLinesStderr", "wants_json", "wrap_stderr"]


def wants_json(log_format: str | None = None, env: Mapping[str, str] | None = None) -> bool:
    """True when ``log_format`` is ``json``, or when it is not known yet and ``BEING_LOG_FORMAT`` says ``json``."""
    if log_format is not None:
        return log_format == "json"
    environ = os.environ if env is None else env
    return environ.get("BEING_LOG_FORMAT", "").strip().lower() == "json"


def _is_json_object(text: str) -> bool:
    if not (text.startswith("{") and text.endswith("}")):
        return False
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:  # braces around something else: wrapped like any other line
        return False


class JsonLinesStderr:
    """A text stream that passes JSON lines on and wraps any other line as ``{"level": "error", ...}``.

    Args:
        out: the real stream.
    """

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._partial = ""

    def write(self, text: str) -> int:
        self._partial += text
        *lines, self._partial = self._partial.split("\n")
        for line in lines:
            self._out.write(self._json(line) + "\n")
        if lines:
            self._out.flush()
        return len(text)

    def _json(self, line: str) -> str:
        stripped = line.strip()
        if _is_json_object(stripped):
            return stripped
        stamp = datetime.now(UTC).isoformat(timespec="milliseconds")
        line_obj = {"time": stamp, "level": "error", "logger": "stderr", "event": "stderr.line", "message": line}
        return json.dumps(line_obj, ensure_ascii=False)

    def writelines(self, lines: Iterable[str]) -> None:
        for text in lines:
            self.write(text)

    def flush(self) -> None:
        if self._partial:
            self._out.write(self._json(self._partial) + "\n")
            self._partial = ""
        self._out.flush()

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return self._out.fileno()

    @property
    def encoding(self) -> str:
        return getattr(self._out, "encoding", "utf-8")


def wrap_stderr(log_format: str | None = None) -> None:
    """Make ``sys.stderr`` a :class:`JsonLinesStderr` when :func:`wants_json` (once; later calls keep it)."""
    if wants_json(log_format) and not isinstance(sys.stderr, JsonLinesStderr):
        sys.stderr = JsonLinesStderr(sys.stderr)
