"""What a run's memory was seeded with, recorded: the ``run_seeds`` table and the recording's ``seed`` items.

A live start with the recorder on reads the being's seed from the database (open goals, memory
blocks, principles, recent episodes and conversations, the recall's vectors) and records it
here, so that ``being replay`` gives the being the same memory before that run's first event.
One seed is many rows (one *part* each, ordered by ``seq``), so no line of a recording file
holds more than one episode or one vector:

- ``seed`` (``seq`` 0): how many parts of each kind follow, the recall's embedder and the
  SHA-256 of the recall's vectors (float32 bytes, in order), which a replay compares with the
  vectors it makes again;
- ``goal``, ``block``, ``principle``, ``episode``: the rows as the memory took them;
- ``vector``: a vector's id, text, type, time, episode and sender, without the embedding. The
  recall's embedder (the lexical one) gives the same vector for the same text in every process,
  so the text is enough: a fifth of the size of the parts with their embeddings (docs/replay.md).

A seed that does not hold together (a part missing or mistyped, more parts than declared or
than :data:`SEED_LIMITS` allow, more than :data:`SEED_MAX_BYTES`) raises :class:`SeedError`:
a replay must not start with a memory the live run did not have.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from sinks._mind_rows import GoalRow, GoalStatus
from sinks._recording_rows import SeedPartRow
from sinks._recording_sql import UTC_TIME
from sinks._rows import EpisodeRow
from sinks.errors import SinkError
from streams import json_problem

__all__ = [
    "SEED_BODY",
    "SEED_LIMITS",
    "SEED_MAX_BYTES",
    "SEED_PARTS",
    "RecordedSeed",
    "SeedError",
    "SeedPartRow",
    "SeedVector",
    "decode_seeds",
    "seed_rows",
]

SEED_PARTS = ("seed", "goal", "block", "principle", "episode", "vector")
SEED_LIMITS: Mapping[str, int] = {
    "goal": 100_000,
    "block": 100_000,
    "principle": 10_000,
    "episode": 10_000,
    "vector": 100_000,
}
"""The most parts of each kind a recorded seed may hold (ten times what a start reads, or more)."""
SEED_MAX_BYTES = 512 * 1024 * 1024
"""The most JSON a recorded seed may hold, all parts together."""

SEED_BODY = f"json_object('run_id', run_id, 'time', {UTC_TIME}, 'seq', seq, 'part', part, 'body', body)"
"""The SQL that makes a ``run_seeds`` row into the body of a recording's ``seed`` item."""

_COUNTS = {"goal": "goals", "block": "blocks", "principle": "principles", "episode": "episodes", "vector": "vectors"}
_STATUSES = ("open", "done", "dropped")


class SeedError(SinkError):
    """A recorded seed that cannot be given to the being as it was recorded."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SeedVector:
    """A vector of the recall's seed, without its embedding (made again from ``text``)."""

    id: str
    text: str
    type: str
    created_at: datetime
    episode_id: str | None
    sender: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordedSeed:
    """What one run's memory was seeded with, at ``time`` (the run's start)."""

    run_id: str
    time: datetime
    goals: tuple[GoalRow, ...] = ()
    blocks: Mapping[str, str] = field(default_factory=dict)
    principles: tuple[str, ...] = ()
    recent: tuple[EpisodeRow, ...] = ()
    vectors: tuple[SeedVector, ...] = ()
    embedder: str | None = None
    vectors_sha256: str = ""


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat(timespec="microseconds")


def seed_rows(seed: RecordedSeed) -> list[SeedPartRow]:
    """The ``run_seeds`` rows of ``seed``: its header part, then one part per row it holds."""
    bodies: list[tuple[str, dict[str, Any]]] = [
        (
            "seed",
            {
                "goals": len(seed.goals),
                "blocks": len(seed.blocks),
                "principles": len(seed.principles),
                "episodes": len(seed.recent),
                "vectors": len(seed.vectors),
                "embedder": seed.embedder,
                "vectors_sha256": seed.vectors_sha256,
            },
        )
    ]
    bodies += [
        (
            "goal",
            {
                "id": g.id,
                "text": g.text,
                "status": g.status,
                "due": _iso(g.due),
                "created": _iso(g.created),
                "done": _iso(g.done),
                "time": _iso(g.time),
                "source": g.source,
            },
        )
        for g in seed.goals
    ]
    bodies += [("block", {"name": name, "text": text}) for name, text in seed.blocks.items()]
    bodies += [("principle", {"text": text}) for text in seed.principles]
    bodies += [
        (
            "episode",
            {
                "id": e.id,
                "time": _iso(e.time),
                "type": e.type,
                "description": e.description,
                "outcome": e.outcome,
                "data": dict(e.data),
                "event_id": e.event_id,
            },
        )
        for e in seed.recent
    ]
    bodies += [
        (
            "vector",
            {
                "id": v.id,
                "text": v.text,
                "type": v.type,
                "created_at": _iso(v.created_at),
                "episode_id": v.episode_id,
                "sender": v.sender,
            },
        )
        for v in seed.vectors
    ]
    return [
        SeedPartRow(run_id=seed.run_id, time=seed.time, seq=seq, part=part, body=body)
        for seq, (part, body) in enumerate(bodies)
    ]


# -- reading -----------------------------------------------------------------------------------


def _str(body: Mapping[str, Any], name: str, *, optional: bool = False) -> Any:
    value = body.get(name)
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise SeedError(f"field {name}: expected a string, got {_shown(value)}")
    return value


def _time(body: Mapping[str, Any], name: str, *, optional: bool = False) -> Any:
    text = _str(body, name, optional=optional)
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise SeedError(f"field {name}: expected an ISO 8601 time, got {_shown(text)}") from exc
    if moment.tzinfo is None:
        raise SeedError(f"field {name}: expected a time with a zone, got {_shown(text)}")
    return moment.astimezone(UTC)


def _count(body: Mapping[str, Any], name: str, limit: int) -> int:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SeedError(f"field {name}: expected a count (an integer >= 0), got {_shown(value)}")
    if value > limit:
        raise SeedError(f"declares {value:,} {name}, more than the {limit:,} a seed may hold")
    return value


def _shown(value: Any, width: int = 60) -> str:
    shown = repr(value)
    return shown if len(shown) <= width else shown[: width - 1] + "…"


def _goal(body: Mapping[str, Any]) -> GoalRow:
    status = _str(body, "status")
    if status not in _STATUSES:
        raise SeedError(f"field status: expected one of {', '.join(_STATUSES)}, got {_shown(status)}")
    return GoalRow(
        id=_str(body, "id"),
        text=_str(body, "text"),
        status=cast(GoalStatus, status),
        due=_time(body, "due", optional=True),
        created=_time(body, "created"),
        done=_time(body, "done", optional=True),
        time=_time(body, "time"),
        source=_str(body, "source"),
    )


def _episode(body: Mapping[str, Any]) -> EpisodeRow:
    data = body.get("data")
    if not isinstance(data, dict):
        raise SeedError(f"field data: expected an object, got {_shown(data)}")
    problem = json_problem(data, "data")
    if problem is not None:
        raise SeedError(problem)
    return EpisodeRow(
        id=_str(body, "id"),
        time=_time(body, "time"),
        type=_str(body, "type"),
        description=_str(body, "description"),
        outcome=_str(body, "outcome"),
        data=data,
        event_id=_str(body, "event_id", optional=True),
    )


def _vector(body: Mapping[str, Any]) -> SeedVector:
    return SeedVector(
        id=_str(body, "id"),
        text=_str(body, "text"),
        type=_str(body, "type"),
        created_at=_time(body, "created_at"),
        episode_id=_str(body, "episode_id", optional=True),
        sender=_str(body, "sender", optional=True),
    )


@dataclass(slots=True)
class _Building:
    """The parts of one seed read so far."""

    run_id: str
    time: datetime
    where: str
    header: dict[str, int] | None = None
    embedder: str | None = None
    sha256: str = ""
    next_seq: int = 0
    nbytes: int = 0
    goals: list[GoalRow] = field(default_factory=list)
    blocks: dict[str, str] = field(default_factory=dict)
    principles: list[str] = field(default_factory=list)
    recent: list[EpisodeRow] = field(default_factory=list)
    vectors: list[SeedVector] = field(default_factory=list)

    def take(self, seq: int, part: str, body: Mapping[str, Any], size: int) -> None:
        if seq != self.next_seq:
            raise SeedError(f"part {seq} ({part}) where part {self.next_seq} was expected: a part is missing")
        self.next_seq += 1
        self.nbytes += size
        if self.nbytes > SEED_MAX_BYTES:
            raise SeedError(f"holds more than {SEED_MAX_BYTES:,} bytes, more than a seed may hold")
        if part == "seed":
            if seq != 0:
                raise SeedError(f"a second header at part {seq}")
            self.header = {kind: _count(body, _COUNTS[kind], SEED_LIMITS[kind]) for kind in _COUNTS}
            self.embedder = _str(body, "embedder", optional=True)
            self.sha256 = _str(body, "vectors_sha256")
            return
        if self.header is None:
            raise SeedError(f"part {seq} ({part}) comes before the header")
        held = self._held(part)
        if held >= self.header[part]:
            raise SeedError(f"more {_COUNTS[part]} than the {self.header[part]:,} its header declares")
        try:
            if part == "goal":
                self.goals.append(_goal(body))
            elif part == "block":
                self.blocks[_str(body, "name")] = _str(body, "text")
            elif part == "principle":
                self.principles.append(_str(body, "text"))
            elif part == "episode":
                self.recent.append(_episode(body))
            else:
                self.vectors.append(_vector(body))
        except SeedError as exc:
            raise SeedError(f"{part} {held + 1}: {exc}") from exc

    def _held(self, part: str) -> int:
        lists: dict[str, Sequence[Any]] = {
            "goal": self.goals,
            "principle": self.principles,
            "episode": self.recent,
            "vector": self.vectors,
        }
        return len(self.blocks) if part == "block" else len(lists[part])

    def finish(self) -> RecordedSeed:
        if self.header is None:
            raise SeedError("no header part (seq 0)")
        short = [f"{self._held(k)} of {n:,} {_COUNTS[k]}" for k, n in self.header.items() if self._held(k) != n]
        if short:
            raise SeedError(f"holds {', '.join(short)} (a part was lost or refused)")
        return RecordedSeed(
            run_id=self.run_id,
            time=self.time,
            goals=tuple(self.goals),
            blocks=self.blocks,
            principles=tuple(self.principles),
            recent=tuple(self.recent),
            vectors=tuple(self.vectors),
            embedder=self.embedder,
            vectors_sha256=self.sha256,
        )


def decode_seeds(items: Sequence[tuple[str, Any]]) -> list[RecordedSeed]:
    """The seeds that ``seed`` items (``(where, body)`` in recorded order) make, oldest first.

    Raises:
        SeedError: an item or a seed that does not hold together, with where it was read.
    """
    building: dict[tuple[str, datetime], _Building] = {}
    for where, item in items:
        if not isinstance(item, dict):
            raise SeedError(f"{where}: a seed item: expected an object, got {_shown(item)}")
        try:
            run_id = _str(item, "run_id")
            moment = _time(item, "time")
            seq = item.get("seq")
            if isinstance(seq, bool) or not isinstance(seq, int):
                raise SeedError(f"field seq: expected an integer, got {_shown(seq)}")
            part = item.get("part")
            if part not in SEED_PARTS:
                raise SeedError(f"field part: expected one of {', '.join(SEED_PARTS)}, got {_shown(part)}")
            body = item.get("body")
            if not isinstance(body, dict):
                raise SeedError(f"field body: expected an object, got {_shown(body)}")
        except SeedError as exc:
            raise SeedError(f"{where}: a seed item: {exc}") from exc
        seed = building.setdefault((run_id, moment), _Building(run_id=run_id, time=moment, where=where))
        try:
            seed.take(seq, part, body, len(json.dumps(body, ensure_ascii=False)))
        except (SeedError, RecursionError) as exc:
            raise SeedError(f"{where}: the seed of run {_shown(run_id)} at {moment.isoformat()}: {exc}") from exc
    seeds: list[RecordedSeed] = []
    for seed in building.values():
        try:
            seeds.append(seed.finish())
        except SeedError as exc:
            where = f"{seed.where}: the seed of run {_shown(seed.run_id)} at {seed.time.isoformat()}"
            raise SeedError(f"{where}: {exc}") from exc
    seeds.sort(key=lambda s: s.time)
    return seeds
