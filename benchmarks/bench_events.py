"""What the live stream costs the event loop per stored episode, beside the least any fan-out costs.

All in one run, N episodes published in batches of 100 (what a committed batch hands over), the
loop's time only (no sockets: the route's writes are the kernel's):

- baseline: appending each episode to a bounded deque (the ring alone), and ``orjson`` of each
  episode's dict (the least an SSE frame costs to make);
- ours, no client: ``EventHub.publish`` with nobody connected (what every run pays);
- ours, 16 clients: ``publish`` plus every client's ``take()`` of its frames (the frame made once
  and shared by all sixteen).

Targets: with no client, ``publish`` within a few times the bare deque append (it must not show
in the pipeline); with 16 clients, well under 16 times one encode per episode (the frame is shared).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime

from service.http import EventHub, EventStreamPolicy
from service.http._event_hub import TypeFilter
from sinks import EpisodeRow, to_json_bytes

BATCH = 100
CLIENTS = 16


def _rows(n: int) -> list[EpisodeRow]:
    at = datetime(2026, 3, 1, tzinfo=UTC)
    return [
        EpisodeRow(
            id=f"episode-{i:08d}",
            time=at,
            type="user.reply",
            description=f"a reply of ordinary length, number {i}",
            outcome="success",
            data={"event_id": f"ev{i}", "model": "llama3.2", "tokens": 42},
        )
        for i in range(n)
    ]


def _seconds(work: Callable[[], None]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def main(quick: bool = False) -> None:
    n = 20_000 if quick else 200_000
    rows = _rows(n)
    batches = [rows[i : i + BATCH] for i in range(0, n, BATCH)]
    policy = EventStreamPolicy(ring_size=1000, client_max_lag=1000)

    def ring_alone() -> None:
        ring: deque[EpisodeRow] = deque(maxlen=policy.ring_size)
        for batch in batches:
            ring.extend(batch)

    def encode_each() -> None:
        for row in rows:
            to_json_bytes(
                {
                    "id": row.id,
                    "time": row.time.isoformat(),
                    "type": row.type,
                    "description": row.description,
                    "outcome": row.outcome,
                    "data": row.data,
                }
            )

    def no_client() -> None:
        hub = EventHub(policy, stream_id="bench")
        for batch in batches:
            hub.publish(batch)

    def sixteen() -> None:
        hub = EventHub(policy, stream_id="bench")
        clients = [hub.join(hub.resume_at(None), TypeFilter()) for _ in range(CLIENTS)]
        for batch in batches:
            hub.publish(batch)
            for client in clients:
                client.take()

    base_ring = _seconds(ring_alone)
    base_encode = _seconds(encode_each)
    ours_idle = _seconds(no_client)
    ours_16 = _seconds(sixteen)
    per = 1e6 / n
    print(f"{n} episodes in batches of {BATCH}; microseconds per episode on the loop")
    print(f"  baseline, deque append:            {base_ring * per:8.3f}")
    print(f"  baseline, orjson of one episode:   {base_encode * per:8.3f}")
    print(f"  publish, no client:                {ours_idle * per:8.3f}  ({ours_idle / base_ring:.1f} x the deque)")
    print(
        f"  publish + {CLIENTS} clients' take():     {ours_16 * per:8.3f}  "
        f"({ours_16 / base_encode:.1f} x one encode; {CLIENTS} encodes would be {CLIENTS}.0 x)"
    )
