"""``being replay``: recordings through the same pipeline on virtual time, and what changed."""

from service.replay._compare import RUNTIME_TYPES, Comparison, Difference, compare_episodes, render_comparison
from service.replay._driver import (
    CallTracker,
    ReplayClockError,
    ReplayScheduler,
    check_replay_clock,
    drive,
    longest_wait,
)
from service.replay._intentions import load_intentions, with_intentions
from service.replay._progress import Progress
from service.replay._run import REPLAY_BATCH_WAIT_S, ReplayOptions, ReplayReport, run_replay

__all__ = [
    "REPLAY_BATCH_WAIT_S",
    "RUNTIME_TYPES",
    "CallTracker",
    "Comparison",
    "Difference",
    "Progress",
    "ReplayClockError",
    "ReplayOptions",
    "ReplayReport",
    "ReplayScheduler",
    "check_replay_clock",
    "compare_episodes",
    "drive",
    "load_intentions",
    "longest_wait",
    "render_comparison",
    "run_replay",
    "with_intentions",
]
