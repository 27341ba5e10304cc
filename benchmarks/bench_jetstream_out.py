"""The JetStream out sink: replies published per second, one PubAck at a time against many in flight.

One real ``nats-server -js`` on loopback and one DuckDB file holding N committed replies. Runs, in
one process, each on its own stream:

- raw: ``js.publish`` of the same N bodies with their headers, each PubAck awaited before the next
  (the plain client call, the baseline); raw, 64 in flight: ``js.publish_async``, 64 at a time;
- sink, 1 per pass: :class:`sinks.JetStreamOut` with ``max_per_pass=1`` (one PubAck at a time, plus
  the sink's database read and record per message);
- sink, 64 per pass: the default, 64 messages sent in order and their PubAcks awaited together.

Then the cost of the sink's cursor, on a table of 1,000 and of 100,000 episodes: a flush that finds
nothing to publish and one that publishes the single reply of a batch just committed (the sink reads
after its floor, ``sinks/_out_floor.py``), beside the anti-join of every episode against
``out_published`` that each flush ran before the floor (``pending_messages``, the baseline).
Printed: replies/s and ratios.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import duckdb
import nats

from sinks import DuckWriter, EpisodeRow, JetStreamOut, JetStreamOutPolicy, open_database, write_rows
from sinks._jetstream_out_rows import pending_messages
from tests.nats_server import NatsServer, nats_binary

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _replies(prefix: str, n: int) -> list[EpisodeRow]:
    return [
        EpisodeRow(
            id=f"{prefix}{i}",
            time=T0 + timedelta(milliseconds=i),
            type="user.reply",
            description="answer",
            outcome="success",
            data={"event_id": f"m{i}", "message": "a question of some length " * 4, "reply": "an answer " * 40},
        )
        for i in range(n)
    ]


async def _commit(writer: DuckWriter, rows: list[EpisodeRow], batch: int = 1000) -> None:
    for start in range(0, len(rows), batch):
        await asyncio.wrap_future(writer.submit("bench.batch", partial(_write, part=rows[start : start + batch])))


def _write(con: duckdb.DuckDBPyConnection, *, part: list[EpisodeRow]) -> None:
    write_rows(con, part)


async def _run(folder: Path, n: int, big: int) -> None:
    server = NatsServer(nats_binary(), folder / "nats")
    nc = await nats.connect(server.url)
    js = nc.jetstream()
    try:
        figures: dict[str, float] = {}
        for label, per_pass in (("sink, 1 per pass", 1), ("sink, 64 per pass", 64)):
            writer = DuckWriter(open_database(folder / f"{per_pass}.duckdb"))
            policy = JetStreamOutPolicy(name=f"bench{per_pass}", max_per_pass=per_pass)
            sink = JetStreamOut(writer, js, policy)
            await sink.start()
            await _commit(writer, _replies("r", n))
            if per_pass == 1:  # the baseline reads the same bodies the sink publishes
                bodies = await asyncio.wrap_future(
                    writer.submit("bench.bodies", lambda con: pending_messages(con, publish_episodes=False, limit=n))
                )
                await js.add_stream(name="BENCH_RAW", subjects=["bench.raw"])
                started = time.perf_counter()
                for m in bodies:
                    headers = {"Nats-Msg-Id": m.episode_id, "Being-Type": m.kind, "Being-In-Reply-To": "m"}
                    await js.publish("bench.raw", m.body, headers=headers)
                figures["raw"] = n / (time.perf_counter() - started)
                await js.add_stream(name="BENCH_RAW64", subjects=["bench.raw64"])
                started = time.perf_counter()
                for start in range(0, n, 64):
                    sent = []
                    for m in bodies[start : start + 64]:
                        headers = {"Nats-Msg-Id": m.episode_id, "Being-Type": m.kind, "Being-In-Reply-To": "m"}
                        sent.append(await js.publish_async("bench.raw64", m.body, headers=headers))
                    await asyncio.gather(*sent)
                figures["raw, 64 in flight"] = n / (time.perf_counter() - started)
            started = time.perf_counter()
            await sink.flush()
            figures[label] = n / (time.perf_counter() - started)
            assert sink.published == n
            writer.close()
        raw = figures["raw"]
        print(f"raw js.publish, one PubAck at a time: {raw:9.0f} replies/s  (baseline)")
        for label in ("raw, 64 in flight", "sink, 1 per pass", "sink, 64 per pass"):
            print(f"{label + ':':38}{figures[label]:9.0f} replies/s  ({figures[label] / raw:.2f}x raw)")
        for size in (1000, big):
            writer = DuckWriter(open_database(folder / f"idle{size}.duckdb"))
            sink = JetStreamOut(writer, js, JetStreamOutPolicy(name=f"idle{size}"))
            await sink.start()
            await _commit(writer, _replies("e", size), batch=5000)
            await sink.flush()
            rounds = 50

            def anti_join(con: duckdb.DuckDBPyConnection) -> None:
                pending_messages(con, publish_episodes=False, limit=64)

            started = time.perf_counter()
            for _ in range(rounds):
                await asyncio.wrap_future(writer.submit("bench.anti_join", anti_join))
            before_ms = (time.perf_counter() - started) / rounds * 1000
            started = time.perf_counter()
            for _ in range(rounds):
                await sink.flush()
            idle_ms = (time.perf_counter() - started) / rounds * 1000
            one_s = 0.0
            for r in range(rounds):
                await _commit(writer, _replies(f"n{r}-", 1))
                started = time.perf_counter()
                await sink.flush()
                one_s += time.perf_counter() - started
            one_ms = one_s / rounds * 1000
            print(f"{size:7} episodes: the anti-join alone (before the floor) {before_ms:7.2f} ms (baseline)")
            for label, ms in (("a flush, nothing to publish", idle_ms), ("a flush publishing one new reply", one_ms)):
                print(f"{size:7} episodes: {label:38} {ms:7.2f} ms ({ms / before_ms:.2f}x)")
            assert sink.derived == 1  # the first read only
            writer.close()
    finally:
        await nc.close()
        server.stop()


def main(quick: bool = False) -> None:
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(_run(Path(folder), 500 if quick else 5000, 10_000 if quick else 100_000))
