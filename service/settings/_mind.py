"""``[mind]``: the being's thinking on its heavy ticks, its tools, its context, and the intentions file.

This section is the one place each default lives: ``service._assembly`` builds ``MindPolicy``,
``ToolPolicy`` and ``ContextPolicy`` from it (``mind_policies``), so a value is checked twice
(here for its range, there by the policy) and written once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from service.settings._fields import setting

__all__ = ["MindSettings", "intentions_path", "notes_dir", "parse_active_hours"]

INTENTIONS_NAME = "intentions.md"
NOTES_NAME = "notes"

_HOURS = re.compile(r"^\s*(\d{1,2})\s*-\s*(\d{1,2})\s*$")


def parse_active_hours(text: str) -> tuple[int, int] | None:
    """``"HH-HH"`` in UTC (start inclusive, end exclusive; ``22-6`` wraps midnight); ``""`` or ``0-24``: always.

    Raises:
        ValueError: not two hours from 0 to 24 joined by ``-``, or the same hour twice.
    """
    if not text.strip():
        return None
    match = _HOURS.match(text)
    if match is None:
        raise ValueError(f"mind.active_hours: expected 'HH-HH' (e.g. '8-22') or '' for always, got {text!r}")
    start, end = int(match.group(1)), int(match.group(2))
    if not (0 <= start <= 24 and 0 <= end <= 24):
        raise ValueError(f"mind.active_hours: expected hours from 0 to 24, got {text!r}")
    if start % 24 == end % 24:
        if {start, end} == {0, 24}:
            return None  # the whole day
        raise ValueError(f"mind.active_hours: expected two different hours ('' for always), got {text!r}")
    return start % 24, end


@dataclass(frozen=True, slots=True, kw_only=True)
class MindSettings:
    """``[mind]``: what the being does on its heavy ticks (docs/mind.md)."""

    enabled: bool = setting(True, help="think on heavy ticks (off: a heavy tick writes heavy_tick.observe)")
    intentions_path: str = setting("", help="the user's standing instructions; empty: intentions.md beside the inbox")
    intentions_max_bytes: int = setting(
        16_384, help="the most of the intentions file read; the rest is cut (a warning)", min=1, max=1024 * 1024
    )
    notes_dir: str = setting("", help="the folder the note tool writes in; empty: notes beside the database")
    notes_max_bytes: int = setting(65_536, help="one note's text, and a notes file's whole size", min=1)
    block_max_chars: int = setting(2_000, help="a memory block's text (self, user)", min=1)
    monologue_timeout_s: float = setting(
        30.0, help="the monologue call's time limit", min=0.0, min_exclusive=True, max=3600.0
    )
    decision_timeout_s: float = setting(
        45.0, help="the decision call's time limit (repair included)", min=0.0, min_exclusive=True, max=3600.0
    )
    thought_deadline_s: float = setting(
        120.0, help="a whole thought's deadline, every step together", min=0.0, min_exclusive=True, max=86_400.0
    )
    calls_per_tick: int = setting(4, help="LLM calls the mind may make per heavy tick", min=1, max=100)
    optional_min_calls: int = setting(
        2, help="fewer calls left than this: recall and reflect are skipped", min=0, max=100
    )
    model: str = setting("", help="the model the mind thinks with; empty: the [llm] model")
    active_hours: str = setting("", help="'HH-HH' in UTC when the message tool may speak; empty: always")
    messages_per_hour: int = setting(4, help="unprompted messages at most per hour", min=0, max=3600)
    allow_high_risk: bool = setting(False, help="let the mind use tools of high risk (none ships high)")
    tool_timeout_s: float = setting(5.0, help="a tool's time limit", min=0.0, min_exclusive=True, max=3600.0)
    context_max_chars: int = setting(6_000, help="a prompt's context, all sections together", min=200)
    context_recent_episodes: int = setting(20, help="recent episodes offered to a thought", min=0, max=10_000)
    context_exchanges: int = setting(6, help="last exchanges with the sender offered to a reply", min=0, max=1000)
    context_recall_k: int = setting(4, help="memories recalled by meaning for a prompt", min=0, max=100)
    persona: str = setting("", help="who the being is, in its prompts; empty: the built-in persona")

    def __post_init__(self) -> None:
        parse_active_hours(self.active_hours)
        if self.optional_min_calls > self.calls_per_tick:
            raise ValueError(
                f"mind.optional_min_calls must be at most mind.calls_per_tick = {self.calls_per_tick},"
                f" got {self.optional_min_calls}"
            )

    @property
    def hours(self) -> tuple[int, int] | None:
        """``active_hours`` parsed (``None``: always)."""
        return parse_active_hours(self.active_hours)


def intentions_path(intentions: str, inbox: str) -> Path:
    """The intentions file: ``intentions`` when set, else ``intentions.md`` in the inbox's folder."""
    return Path(intentions) if intentions else Path(inbox).parent / INTENTIONS_NAME


def notes_dir(notes: str, database: str) -> Path:
    """The notes folder: ``notes`` when set, else ``notes`` in the database's folder."""
    return Path(notes) if notes else Path(database).parent / NOTES_NAME
