"""Every stderr line JSON in the container: JSON lines pass, anything else is wrapped, partial writes join."""

from __future__ import annotations

import io
import json
import subprocess
import sys

from service._json_stderr import JsonLinesStderr, wants_json


def test_json_lines_pass_and_other_lines_are_wrapped_whole() -> None:
    out = io.StringIO()
    stream = JsonLinesStderr(out)
    stream.write('{"event": "sink.flushed", "rows": 3}\n')
    stream.write("being: setting http.port = 'high'")
    assert out.getvalue().count("\n") == 1  # the partial line waits for its end
    stream.write(" (environment): expected an integer\n{not json}\n[1, 2]\n")
    stream.write("no newline at exit")
    stream.flush()
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert lines[0] == {"event": "sink.flushed", "rows": 3}
    assert [line["message"] for line in lines[1:]] == [
        "being: setting http.port = 'high' (environment): expected an integer",
        "{not json}",
        "[1, 2]",
        "no newline at exit",
    ]
    assert all(line["level"] == "error" and line["event"] == "stderr.line" for line in lines[1:])
    assert not stream.isatty()


def test_json_is_wanted_by_the_log_format_or_else_by_the_environment() -> None:
    assert wants_json("json", {}) and not wants_json("text", {"BEING_LOG_FORMAT": "json"})
    assert wants_json(None, {"BEING_LOG_FORMAT": " JSON "}) and not wants_json(None, {})


def test_a_traceback_at_exit_is_json_lines() -> None:
    code = (
        "import sys; from service._json_stderr import JsonLinesStderr; sys.stderr = JsonLinesStderr(sys.stderr);"
        "raise RuntimeError('boom')"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    assert lines[0]["message"] == "Traceback (most recent call last):"
    assert lines[-1]["message"] == "RuntimeError: boom"
