"""What one soak scenario measured, counted from the database the way the fault tests assert it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.faults.ledger import ANSWERS, DEFERRED, Ledger, read_ledger


@dataclass(slots=True)
class Tally:
    """One line of the summary table."""

    scenario: str
    messages: int = 0
    kills: int = 0
    llm_calls: int | None = None
    lost: int = 0
    twice: int = 0
    unanswered: int = 0
    answered_twice: int = 0
    deferred: int = 0
    deferred_twice: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    failed: str | None = None

    @property
    def calls_per_message(self) -> float | None:
        if self.llm_calls is None or self.messages == 0:
            return None
        return self.llm_calls / self.messages

    @property
    def clean(self) -> bool:
        return self.failed is None and not (self.lost or self.twice or self.unanswered or self.answered_twice)


def count_lines(tally: Tally, ledger: Ledger, lines: Sequence[str], *, part: bool = False) -> None:
    """Lines lost and messages stored twice: ``lines`` against the stored messages.

    With ``part``, ``lines`` are some of what was written (one writer among several): only the
    messages with those texts are counted, and the episodes stored twice are left to the whole.
    """
    written, stored = Counter(lines), Counter(ledger.messages.values())
    if part:
        stored = Counter({text: n for text, n in stored.items() if text in written})
    tally.messages += len(lines)
    tally.lost += sum((written - stored).values())
    tally.twice += sum((stored - written).values()) + (0 if part else ledger.stored - len(ledger.messages))


def count_replies(tally: Tally, ledger: Ledger) -> None:
    """Messages with no answer, with more than one, and the deferred replies."""
    for mid in ledger.messages:
        counts = ledger.replies.get(mid, Counter())
        answers = sum(counts[o] for o in ANSWERS)
        tally.unanswered += answers == 0
        tally.answered_twice += max(0, answers - 1)
        tally.deferred += counts[DEFERRED]
        tally.deferred_twice += max(0, counts[DEFERRED] - 1)


def tally_database(
    tally: Tally, database: Path, lines: Sequence[str], *, replies: bool = True, part: bool = False
) -> Ledger:
    ledger = read_ledger(database)
    count_lines(tally, ledger, lines, part=part)
    if replies:
        count_replies(tally, ledger)
    return ledger


COLUMNS = (
    ("scenario", 36),
    ("messages", 8),
    ("kills", 5),
    ("LLM calls", 9),
    ("calls/msg", 9),
    ("lost", 5),
    ("twice", 5),
    ("unanswered", 10),
    ("answered 2x", 11),
    ("deferred", 8),
    ("seconds", 8),
)


def render(tallies: Sequence[Tally]) -> str:
    """The summary table, then each scenario's notes."""

    def cells(t: Tally) -> list[str]:
        per = t.calls_per_message
        return [
            t.scenario,
            f"{t.messages:,}",
            str(t.kills),
            "-" if t.llm_calls is None else f"{t.llm_calls:,}",
            "-" if per is None else f"{per:.3f}",
            str(t.lost),
            str(t.twice),
            str(t.unanswered),
            str(t.answered_twice),
            f"{t.deferred}" + (f" ({t.deferred_twice} 2x)" if t.deferred_twice else ""),
            f"{t.seconds:.1f}",
        ]

    header = " | ".join(name.ljust(width) for name, width in COLUMNS)
    lines = [header, "-+-".join("-" * width for _, width in COLUMNS)]
    lines.extend(
        " | ".join(cell.ljust(width) for cell, (_, width) in zip(cells(t), COLUMNS, strict=True)) for t in tallies
    )
    lines.append("")
    for t in tallies:
        verdict = "ok" if t.clean else f"FAILED: {t.failed}" if t.failed else "COUNTS WRONG"
        lines.append(f"{t.scenario}: {verdict}")
        lines.extend(f"    {note}" for note in t.notes)
    return "\n".join(lines)
