"""``being replay --compare``: what changed between two sets of episodes.

Episodes are matched by id (a replay derives ids from the events, so the same event gives the
same id in both); what stays unmatched is then matched by type and time (the predecessor's
episodes have ids of their own). A second episode with an id already matched is a duplicate
and is never matched by type and time: it shows as found on one side only.

Every difference goes into one list, :attr:`Comparison.differences`: a count (by type and
outcome) that is not the same on both sides, an episode found on one side only, an episode
whose description or outcome changed. The verdict (``identical``), the JSON and the printed
report are all read from that list, so they cannot disagree.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["RUNTIME_TYPES", "Comparison", "Difference", "compare_episodes", "render_comparison"]

RUNTIME_TYPES = frozenset({"system.start", "system.stop", "memory.upkeep", "memory.access_flush"})
"""Episodes the live runtime writes on its own clock (starts, stops, upkeep), not from events: a
replay of the events never makes them, so comparisons leave them out (and say how many)."""

Episode = Mapping[str, Any]
DifferenceKind = Literal["count", "only_in_a", "only_in_b", "changed"]


@dataclass(frozen=True, slots=True)
class Difference:
    """One difference between the two sides.

    ``kind`` says which: ``count`` (``detail`` is the counts row: type, outcome, both counts and
    the delta), ``only_in_a``/``only_in_b`` (the episode, briefly) or ``changed`` (both
    outcomes and descriptions).
    """

    kind: DifferenceKind
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Comparison:
    """The difference between a baseline (``a``) and a replay (``b``).

    ``counts`` is the whole table of counts by type and outcome (equal rows too, for the
    reader); ``differences`` is every difference, uncut; lists in the JSON and the printed
    report are cut at ``limit`` items each and say how many there were.
    """

    counts: list[dict[str, Any]]
    differences: tuple[Difference, ...]
    total_a: int
    total_b: int
    labels: tuple[str, str] = field(default=("recording", "replay"))
    ignored: int = 0
    limit: int = 50

    @property
    def identical(self) -> bool:
        """No difference at all: every count, every episode and every compared field agree."""
        return not self.differences

    def of_kind(self, kind: DifferenceKind) -> list[dict[str, Any]]:
        """The details of the differences of one kind, in order."""
        return [d.detail for d in self.differences if d.kind == kind]

    @property
    def only_in_a(self) -> list[dict[str, Any]]:
        return self.of_kind("only_in_a")

    @property
    def only_in_b(self) -> list[dict[str, Any]]:
        return self.of_kind("only_in_b")

    @property
    def changed(self) -> list[dict[str, Any]]:
        return self.of_kind("changed")

    def to_json(self) -> dict[str, Any]:
        a, b = self.labels
        only_a, only_b, changed = self.only_in_a, self.only_in_b, self.changed
        return {
            "labels": [a, b],
            "total": {a: self.total_a, b: self.total_b},
            "identical": self.identical,
            "differences": len(self.differences),
            "ignored_runtime_episodes": self.ignored,
            "counts": self.counts,
            "only_in": {a: only_a[: self.limit], b: only_b[: self.limit]},
            "only_in_total": {a: len(only_a), b: len(only_b)},
            "changed": changed[: self.limit],
            "changed_total": len(changed),
        }


def _brief(episode: Episode, *, duplicate: bool = False) -> dict[str, Any]:
    brief = {k: episode.get(k) for k in ("id", "time", "type", "outcome", "description")}
    if duplicate:
        brief["duplicate_id"] = True
    return brief


def _key(episode: Episode) -> str:
    return str(episode.get("id"))


def _slot(episode: Episode) -> tuple[str, str]:
    return str(episode.get("type")), str(episode.get("time"))


def _match(
    a: Sequence[Episode], b: Sequence[Episode]
) -> tuple[list[tuple[Episode, Episode]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Pairs, then what is only in ``a`` and only in ``b`` (briefly), each in its side's order."""
    by_id: dict[str, list[int]] = {}
    for index, episode in enumerate(b):
        by_id.setdefault(_key(episode), []).append(index)
    ids_a = {_key(e) for e in a}
    matched_b: set[int] = set()
    pairs: list[tuple[Episode, Episode]] = []
    rest_a: list[Episode] = []
    for episode in a:
        bucket = by_id.get(_key(episode))
        if bucket:
            index = bucket.pop(0)
            matched_b.add(index)
            pairs.append((episode, b[index]))
        else:
            rest_a.append(episode)
    # only an id the other side does not have at all may be matched by type and time
    by_slot: dict[tuple[str, str], list[int]] = {}
    for index, episode in enumerate(b):
        if index not in matched_b and _key(episode) not in ids_a:
            by_slot.setdefault(_slot(episode), []).append(index)
    ids_b = set(by_id)
    only_a: list[dict[str, Any]] = []
    for episode in rest_a:
        slot = by_slot.get(_slot(episode)) if _key(episode) not in ids_b else None
        if slot:
            index = slot.pop(0)
            matched_b.add(index)
            pairs.append((episode, b[index]))
        else:
            only_a.append(_brief(episode, duplicate=_key(episode) in ids_b))
    only_b = [_brief(e, duplicate=_key(e) in ids_a) for i, e in enumerate(b) if i not in matched_b]
    return pairs, only_a, only_b


def compare_episodes(
    a: Iterable[Episode],
    b: Iterable[Episode],
    *,
    labels: tuple[str, str] = ("recording", "replay"),
    limit: int = 50,
    ignore_types: frozenset[str] = RUNTIME_TYPES,
) -> Comparison:
    """Compare baseline episodes ``a`` with replayed episodes ``b`` (see the module docstring).

    Episodes whose type is in ``ignore_types`` are left out on both sides and counted; the JSON
    and the printed report show at most ``limit`` items of each list.
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
    differences = [Difference("count", row) for row in counts if row["delta"] != 0]
    differences.extend(Difference("only_in_a", e) for e in only_a)
    differences.extend(Difference("only_in_b", e) for e in only_b)
    differences.extend(
        Difference(
            "changed",
            {
                "id": x.get("id"),
                "type": x.get("type"),
                "time": x.get("time"),
                "outcome": [x.get("outcome"), y.get("outcome")],
                "description": [x.get("description"), y.get("description")],
            },
        )
        for x, y in pairs
        if x.get("description") != y.get("description") or x.get("outcome") != y.get("outcome")
    )
    return Comparison(
        counts=counts,
        differences=tuple(differences),
        total_a=len(list_a),
        total_b=len(list_b),
        labels=labels,
        ignored=ignored,
        limit=limit,
    )


def _cut(text: Any, width: int) -> str:
    shown = str(text).replace("\n", " ")
    return shown if len(shown) <= width else shown[: width - 1] + "…"


def _shown(items: list[dict[str, Any]], limit: int) -> str:
    return f"{len(items)}" if len(items) <= limit else f"{len(items)}, {limit} shown"


def _tally(result: Comparison) -> str:
    a, b = result.labels
    tally = Counter(d.kind for d in result.differences)
    parts = [
        (tally["count"], f"counts differ for {tally['count']} type/outcome"),
        (tally["only_in_a"], f"{tally['only_in_a']} only in {a}"),
        (tally["only_in_b"], f"{tally['only_in_b']} only in {b}"),
        (tally["changed"], f"{tally['changed']} changed"),
    ]
    return ", ".join(text for n, text in parts if n)


def render_comparison(result: Comparison) -> str:
    """The comparison as plain-text tables, read from ``result.differences``."""
    a, b = result.labels
    verdict = "identical" if result.identical else "not identical: " + _tally(result)
    lines = [f"episodes: {a} {result.total_a}, {b} {result.total_b}  ({verdict})"]
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
            lines.append(f"only in {label} ({_shown(items, result.limit)}):")
            lines.extend(
                f"  {e['time']}  {_cut(e['type'], 24):<24} {_cut(e['description'], 70)}"
                + ("  (duplicate id)" if e.get("duplicate_id") else "")
                for e in items[: result.limit]
            )
    changed = result.changed
    if changed:
        lines.append("")
        lines.append(f"changed ({_shown(changed, result.limit)}):")
        for change in changed[: result.limit]:
            lines.append(f"  {change['time']}  {change['type']}")
            lines.append(f"    - [{change['outcome'][0]}] {_cut(change['description'][0], 90)}")
            lines.append(f"    + [{change['outcome'][1]}] {_cut(change['description'][1], 90)}")
    return "\n".join(lines)
