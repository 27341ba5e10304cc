"""``being replay SOURCE``: run a recording through the same routes as ``being run``, on virtual time.

SOURCE is a JSON-lines or Parquet recording (``being record export``), a DuckDB file with an
``events`` table (a live database copy, or another replay's output), or the predecessor's
SQLite ``episodes.db``. The output is a new DuckDB file; ``--compare`` prints what changed
against the recording's own episodes (or against ``--against`` another replay's output).
``--intentions FILE`` replays as if the intentions file had said FILE's text throughout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from service.commands._common import (
    EXIT_BAD_SETTINGS,
    EXIT_FAILED,
    EXIT_OK,
    add_config_option,
    aware_time,
    load_or_exit,
)
from service.errors import UsageError
from service.replay import (
    REPLAY_BATCH_WAIT_S,
    Progress,
    ReplayClockError,
    ReplayOptions,
    ReplayReport,
    check_replay_clock,
    compare_episodes,
    load_intentions,
    render_comparison,
    run_replay,
    with_intentions,
)
from service.settings import Settings, path_owner
from sinks import Recording, RecordingError, SinkError, read_recording
from streams.errors import BeingError

__all__ = ["EXIT_INTERRUPTED", "register"]

EXIT_INTERRUPTED = 130


def _speed(text: str) -> float | None:
    if text == "max":
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 'max' or a number > 0, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected 'max' or a finite number > 0, got {text!r}")
    return value


def _window_s(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds (a finite number >= 0), got {text!r}") from None
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"expected seconds (a finite number >= 0), got {text!r}")
    return value


def _summary(report: ReplayReport, out: Path) -> dict[str, Any]:
    return {
        "out": str(out),
        "events": report.events,
        "episodes": report.episodes,
        "dead_letters": report.dead_letters,
        "exchanges": report.exchanges,
        "llm_calls": report.llm_calls,
        "problems": report.problems,
        "interrupted": report.interrupted,
        "miss": report.miss,
        "seconds": round(report.seconds, 3),
        "events_per_s": round(report.events / report.seconds) if report.seconds > 0 else None,
    }


def _refuse_misuse(args: argparse.Namespace, settings: Settings, out: Path) -> None:
    """Refuse, before anything is read or written, what a replay cannot use.

    Raises:
        UsageError: SOURCE (or ``--against`` with ``--compare``) does not exist; ``--out`` exists,
            or is where the service keeps one of its own files.
    """
    if not args.source.exists():
        raise UsageError(f"{args.source}: no such file (expected a .jsonl or .parquet recording, a DuckDB file...)")
    if args.compare and args.against is not None and not args.against.exists():
        raise UsageError(f"--against {args.against}: no such file")
    if args.intentions is not None and not args.intentions.exists():
        raise UsageError(f"--intentions {args.intentions}: no such file")
    owner = path_owner(settings, out)
    if owner is not None:
        raise UsageError(f"--out {out} is where the service keeps {owner}; a replay writes a new file")
    if out.exists():
        raise UsageError(f"--out {out} exists; a replay writes a new file and never changes an old one")


def _fail(message: str, code: int = EXIT_FAILED) -> int:
    print(f"being replay: {message}", file=sys.stderr)
    return code


def handle(args: argparse.Namespace) -> int:
    settings = load_or_exit(args)
    out: Path = args.out or Path(f"replay-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.duckdb")
    _refuse_misuse(args, settings, out)
    try:
        recording = read_recording(
            args.source,
            reorder_window_s=args.reorder_window_s,
            since=args.start,
            until=args.until,
            legacy_zone=settings.memory.legacy.time_zone,
        )
        # read before the replay, so that a baseline that cannot be read costs no replay
        against = read_recording(args.against) if args.compare and args.against is not None else None
    except (RecordingError, BeingError) as exc:
        return _fail(str(exc))
    if args.intentions is not None:
        said = load_intentions(args.intentions, max_bytes=settings.mind.intentions_max_bytes)
        recording, replaced = with_intentions(recording, said, args.intentions)
        print(
            f"being replay: intentions from {args.intentions} ({said.size} bytes"
            + (", cut" if said.truncated else "")
            + f") in place of {replaced} recorded change(s)",
            file=sys.stderr,
        )
    try:
        check_replay_clock(recording.events, settings, waits_s={"the replay's batch wait": REPLAY_BATCH_WAIT_S})
    except ReplayClockError as exc:
        return _fail(str(exc), EXIT_BAD_SETTINGS if exc.setting is not None else EXIT_FAILED)
    for problem in recording.problems[:20]:
        print(f"being replay: {problem.where}: {problem.reason} (kept as a dead letter)", file=sys.stderr)
    if len(recording.problems) > 20:
        print(f"being replay: ... and {len(recording.problems) - 20} more problems", file=sys.stderr)

    def announce() -> None:
        print(
            f"being replay: replaying {len(recording.events):,} events from {args.source} into {out}"
            " (Ctrl+C stops and keeps what was done)",
            file=sys.stderr,
            flush=True,
        )

    progress = Progress(len(recording.events))
    options = ReplayOptions(out=out, llm=args.llm, on_miss=args.on_miss, speed=args.speed)
    try:
        report = asyncio.run(run_replay(settings, recording, options, on_progress=progress.update, on_start=announce))
    except (SinkError, ReplayClockError) as exc:
        return _fail(str(exc))
    finally:
        progress.finish()
    summary = _summary(report, out)
    code = EXIT_INTERRUPTED if report.interrupted else EXIT_OK
    if report.miss is not None:
        print(
            f"being replay: stopped: the recording has no answer for {report.miss};"
            " replay with --on-miss fallback or --llm simulator",
            file=sys.stderr,
        )
        code = EXIT_FAILED
    if args.compare:
        try:
            summary["compare"] = _compare(args, recording, against, out)
        except RecordingError as exc:
            return _fail(f"cannot compare: {exc}")
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, default=str))
    else:
        print(
            f"replayed {report.events:,} events in {report.seconds:.2f}s into {out}: {report.episodes:,} episodes,"
            f" {report.dead_letters:,} dead letters, {report.llm_calls:,} LLM calls"
            + (f", {report.problems:,} problems of the recording (kept as dead letters)" if report.problems else "")
            + (" (interrupted; what was done is saved)" if report.interrupted else "")
        )
        if args.compare:
            print()
            print(render_comparison(summary["compare"]["_result"]))
    if args.compare:
        summary["compare"].pop("_result", None)
    return code


def _compare(args: argparse.Namespace, recording: Recording, against: Recording | None, out: Path) -> dict[str, Any]:
    baseline, labels = recording.episodes, ("recording", "replay")
    if against is not None:
        baseline, labels = against.episodes, (args.against.name, "replay")
    replayed = read_recording(out).episodes
    result = compare_episodes(baseline, replayed, labels=labels)
    return {**result.to_json(), "_result": result}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("replay", help="run a recording through the pipeline on virtual time")
    add_config_option(parser)
    parser.add_argument("source", type=Path, help="recording: .jsonl, .parquet, a DuckDB file, or legacy episodes.db")
    parser.add_argument(
        "--out", type=Path, default=None, help="new DuckDB file to write (default replay-<time>.duckdb)"
    )
    parser.add_argument("--speed", type=_speed, default=None, help="'max' (default) or N times real time")
    parser.add_argument(
        "--llm", choices=("recorded", "simulator", "live"), default="recorded", help="who answers the LLM calls"
    )
    parser.add_argument(
        "--on-miss",
        choices=("error", "fallback"),
        default="error",
        help="with --llm recorded: stop at a call the recording cannot answer, or let the fallback answer",
    )
    parser.add_argument(
        "--from", dest="start", type=aware_time, default=None, help="replay events at or after this time"
    )
    parser.add_argument("--until", type=aware_time, default=None, help="replay events before this time")
    parser.add_argument(
        "--reorder-window-s",
        type=_window_s,
        default=60.0,
        help="how late an out-of-order event may be and still replay (seconds)",
    )
    parser.add_argument("--compare", action="store_true", help="print what changed against the recording's episodes")
    parser.add_argument("--against", type=Path, default=None, help="with --compare: another replay's output instead")
    parser.add_argument(
        "--intentions",
        type=Path,
        default=None,
        metavar="FILE",
        help="replay as if the intentions file had said FILE's text (use with --compare and --llm simulator)",
    )
    parser.add_argument("--json", action="store_true", help="print the summary (and comparison) as JSON")
    parser.set_defaults(handler=handle)
