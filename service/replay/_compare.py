"""``being replay --compare``: what changed between two sets of episodes.

Episodes are matched by id (a replay derives ids from the events, so the same event gives the
same id in both); what stays unmatched is then matched by type and time (the predecessor's
episodes have ids of their own). The report counts by type and outcome, lists episodes found
on one side only, and episodes whose description or outcome changed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["RUNTIME_TYPES", "Comparison", "compare_episodes", "render_comparison"]

RUNTIME_TYPES = frozenset({"system.start", "system.stop", "memory.upkeep", "memory.access_flush"})
"""Episodes the live runtime writes on its own clock (starts, stops, upkeep), not from events: a
replay of the events never makes them, so comparisons leave them out (and say how many)."""

Episode = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Comparison:
    """The difference between a baseline (``a``) and a replay (``b``)."""

    counts: list[dict[str, Any]]
    only_in_a: list[dict[str, Any]]
    only_in_b: list[dict[str, Any]]
    changed: list[dict[str, Any]]
    total_a: int
    total_b: int
    labels: tuple[str, str] = field(default=("recording", "replay"))
    ignored: int = 0

    @property
    def identical(self) -> bool:
        return not (self.only_in_a or self.only_in_b or self.changed)

    def to_json(self) -> dict[str, Any]:
        return {
            "labels": list(self.labels),
            "total": {self.labels[0]: self.total_a, self.labels[1]: self.total_b},
            "identical": self.identical,
            "ignored_runtime_episodes": self.ignored,
            "counts": self.counts,
            "only_in": {self.labels[0]: self.only_in_a, self.labels[1]: self.only_in_b},
            "changed": self.changed,
        }


def _brief(episode: Episode) -> dict[str, Any]:
    return {k: episode.get(k) for k in ("id", "time", "type", "outcome", "description")}


def _match(
    a: Sequence[Episode], b: Sequence[Episode]
) -> tuple[list[tuple[Episode, Episode]], list[Episode], list[Episode]]:
    by_id = {str(e.get("id")): e for e in b}
    pairs: list[tuple[Episode, Episode]] = []
    rest_a: list[Episode] = []
    for episode in a:
        other = by_id.pop(str(episode.get("id")), None)
        if other is None:
            rest_a.append(episode)
        else:
            pairs.append((episode, other))
    by_slot: dict[tuple[str, str], list[Episode]] = {}
    for episode in by_id.values():
        by_slot.setdefault((str(episode.get("type")), str(episode.get("time"))), []).append(episode)
    only_a: list[Episode] = []
    for episode in rest_a:
        slot = by_slot.get((str(episode.get("type")), str(episode.get("time"))))
        if slot:
            pairs.append((episode, slot.pop(0)))
        else:
            only_a.append(episode)
    only_b = [e for slot in by_slot.values() for e in slot]
    return pairs, only_a, only_b


def compare_episodes(
    a: Iterable[Episode],
    b: Iterable[Episode],
    *,
    labels: tuple[str, str] = ("recording", "replay"),
    limit: int = 50,
    ignore_types: frozenset[str] = RUNTIME_TYPES,
) -> Comparison:
    """Compare baseline episodes ``a`` with replayed episodes ``b``; lists are cut at ``limit`` items each.

    Episodes whose type is in ``ignore_types`` are left out on both sides and counted.
    """
    all_a, all_b = list(a), list(b)
    list_a = [e for e in all_a if str(e.get("type")) not in ignore_types]
    list_b = [e for e in all_b if str(e.get("type")) not in ignore_types]
    ignored = len(all_a) - len(list_a) + len(all_b) - len(list_b)
    count_a = Counter((str(e.get("type")), str(e.get("outcome"))) for e in list_a)
    count_b = Counter((str(e.get("type")), str(e.get("outcome"))) for e in list_b)
    counts = [
        {
            "type": t,
            "outcome": o,
            labels[0]: count_a[(t, o)],
            labels[1]: count_b[(t, o)],
            "delta": count_b[(t, o)] - count_a[(t, o)],
        }
        for t, o in sorted(set(count_a) | set(count_b))
    ]
    pairs, only_a, only_b = _match(list_a, list_b)
    changed = [
        {
            "id": x.get("id"),
            "type": x.get("type"),
            "time": x.get("time"),
            "outcome": [x.get("outcome"), y.get("outcome")],
            "description": [x.get("description"), y.get("description")],
        }
        for x, y in pairs
        if x.get("description") != y.get("description") or x.get("outcome") != y.get("outcome")
    ]
    return Comparison(
        counts=counts,
        only_in_a=[_brief(e) for e in only_a[:limit]],
        only_in_b=[_brief(e) for e in only_b[:limit]],
        changed=changed[:limit],
        total_a=len(list_a),
        total_b=len(list_b),
        labels=labels,
        ignored=ignored,
    )


def _cut(text: Any, width: int) -> str:
    shown = str(text).replace("\n", " ")
    return shown if len(shown) <= width else shown[: width - 1] + "…"


def render_comparison(result: Comparison) -> str:
    """The comparison as plain-text tables."""
    a, b = result.labels
    lines = [f"episodes: {a} {result.total_a}, {b} {result.total_b}" + ("  (identical)" if result.identical else "")]
    if result.ignored:
        lines.append(f"({result.ignored} runtime episodes left out: starts, stops and memory upkeep)")
    lines.append("")
    lines.append(f"{'type':<28} {'outcome':<10} {a:>10} {b:>10} {'delta':>7}")
    lines.extend(
        f"{_cut(row['type'], 28):<28} {_cut(row['outcome'], 10):<10} {row[a]:>10} {row[b]:>10} {row['delta']:>+7}"
        for row in result.counts
    )
    for label, items in ((a, result.only_in_a), (b, result.only_in_b)):
        if items:
            lines.append("")
            lines.append(f"only in {label} ({len(items)} shown):")
            lines.extend(f"  {e['time']}  {_cut(e['type'], 24):<24} {_cut(e['description'], 70)}" for e in items)
    if result.changed:
        lines.append("")
        lines.append(f"changed ({len(result.changed)} shown):")
        for change in result.changed:
            lines.append(f"  {change['time']}  {change['type']}")
            lines.append(f"    - [{change['outcome'][0]}] {_cut(change['description'][0], 90)}")
            lines.append(f"    + [{change['outcome'][1]}] {_cut(change['description'][1], 90)}")
    return "\n".join(lines)
