"""A replay's memory at each recorded start: the recorded seed, given where the run began.

A live start gives the being what the database held (``service._memory_seed``) and records it
(``run_seeds``, a recording's ``seed`` items). A replay is one pipeline over every run of a
recording, so where a run began (its seed's time: the first event at or after it) the being
forgets what the replay fed it so far, as the new process had nothing, and takes that run's
seed through the same ``service._memory_seed.give_seed`` as the live start. A recording
without seeds (format version 1, the predecessor's) leaves the memory as it is: empty at the
start, fed by the events.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING

from service._assembly import remember_policy
from service.settings import Settings
from sinks import Recording, RecordingProblem, SeedPartRow, seed_rows
from streams import Event

if TYPE_CHECKING:
    from service._memory_seed import Seed
    from service._mind_assembly import Being

__all__ = ["RunSeeds"]

log = logging.getLogger("service")


class RunSeeds:
    """The recorded seeds of a recording, oldest first, and which of them the being has been given.

    Call :meth:`before` with every event, in replay order, before the routes see it (on the
    event loop); set :attr:`being` once the pipeline is assembled.
    """

    def __init__(self, recording: Recording, settings: Settings) -> None:
        """Make each recorded seed a :class:`Seed` (embedding its texts again); a difference is a problem."""
        # here: service._memory_seed builds on the mind's assembly, which imports this package
        from service._memory_seed import give_seed
        from service._seed_record import seed_of_record

        self._give = give_seed
        remember = remember_policy(settings)
        self._recorded = list(recording.seeds)
        self._seeds: list[Seed] = []
        for recorded in self._recorded:
            seed, problem = seed_of_record(recorded, remember)
            if problem is not None:
                recording.problems.append(RecordingProblem(f"seed of run {recorded.run_id}", problem))
            self._seeds.append(seed)
        self._next = 0
        self.being: Being | None = None
        self.given = 0

    def __len__(self) -> int:
        return len(self._seeds)

    def rows(self, run_id: str) -> list[SeedPartRow]:
        """The seeds as the replay's own run records them (so a replay of its output seeds the same)."""
        return [row for r in self._recorded for row in seed_rows(dataclasses.replace(r, run_id=run_id))]

    def before(self, event: Event) -> None:
        """Give the being the seed of the run ``event`` belongs to, if that run began since the last event."""
        due = self._next
        while due < len(self._recorded) and self._recorded[due].time <= event.time:
            due += 1
        if due == self._next:
            return
        self._next = due
        if self.being is None:
            return
        started = self._recorded[due - 1]
        self.being.memory.forget()
        if self.being.recall is not None:
            self.being.recall.forget()
        self._give(self.being, self._seeds[due - 1])
        self.given += 1
        log.info("replay.seeded", extra={"run_id": started.run_id, "at": started.time.isoformat()})
