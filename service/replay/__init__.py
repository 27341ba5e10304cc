"""``being replay``: recordings through the same pipeline on virtual time, and what changed."""

from service.replay._compare import RUNTIME_TYPES, Comparison, Difference, compare_episodes, render_comparison
from service.replay._driver import CallTracker, ReplayScheduler, drive
from service.replay._progress import Progress
from service.replay._run import ReplayOptions, ReplayReport, run_replay

__all__ = [
    "RUNTIME_TYPES",
    "CallTracker",
    "Comparison",
    "Difference",
    "Progress",
    "ReplayOptions",
    "ReplayReport",
    "ReplayScheduler",
    "compare_episodes",
    "drive",
    "render_comparison",
    "run_replay",
]
