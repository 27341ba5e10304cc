"""The ids the JetStream source recognises as answered lately: seeded at a start, bounded, only from ``Nats-Msg-Id``.

A message published again after the stream's duplicate window is delivered as new (its first
delivery); the source emits it ``recovered`` when its id is among the last ``JETSTREAM_RECENT_IDS``
answered, this run's or, through the seed, the database's. The same against a real nats-server and
a restarted process: tests/e2e/test_nats_restart.py.
"""

from __future__ import annotations

from collections import Counter

from streams import JETSTREAM_RECENT_IDS, JetStreamState, stable_id
from tests.streams.test_jetstream import POLICY, FakeFetcher, delivery, start
from tests.support import until


def nats_id(msg_id: str) -> str:
    return stable_id("nats", msg_id)


async def test_a_seeded_id_published_again_is_emitted_recovered_and_acked_and_another_is_new() -> None:
    run = start(recent=[nats_id("answered before")])
    again, fresh = delivery(7, msg_id="answered before"), delivery(8, msg_id="never seen")
    run.fetcher.put(again, fresh)
    await until(lambda: len(run.events) == 2, what="both events")
    by_id = {event.id: event for event in run.events}
    assert by_id[nats_id("answered before")].payload["recovered"] is True  # its first delivery, and yet recovered
    assert by_id[nats_id("never seen")].payload["recovered"] is False
    assert run.state.acknowledge([nats_id("answered before")]) == [nats_id("answered before")]
    await until(lambda: again.done["ack"] == 1, what="the copy acked")
    assert again.done == Counter(ack=1)
    await run.state.close()


def test_the_seed_keeps_only_the_newest_ids_it_is_given_oldest_first() -> None:
    ids = [nats_id(f"m-{n}") for n in range(JETSTREAM_RECENT_IDS + 2)]
    state = JetStreamState(FakeFetcher(), POLICY, recent=ids)
    assert not state.remembers(ids[0]) and not state.remembers(ids[1])
    assert state.remembers(ids[2]) and state.remembers(ids[-1])


async def test_what_this_run_acknowledges_pushes_out_the_oldest_seeded_ids() -> None:
    seeded = [nats_id(f"old-{n}") for n in range(JETSTREAM_RECENT_IDS)]
    run = start(recent=seeded)
    run.fetcher.put(delivery(1, msg_id="new"))
    await until(lambda: len(run.events) == 1, what="the event")
    run.state.acknowledge([nats_id("new")])
    assert run.state.remembers(nats_id("new")) and not run.state.remembers(seeded[0])
    assert run.state.remembers(seeded[1]) and run.state.remembers(seeded[-1])
    await run.state.close()


async def test_an_id_from_the_stream_sequence_is_not_remembered_a_stream_made_again_reuses_it() -> None:
    run = start()
    first = delivery(1)  # no Nats-Msg-Id: its id is the stream's sequence 1
    run.fetcher.put(first)
    await until(lambda: len(run.events) == 1, what="the first")
    run.state.acknowledge([run.events[0].id])
    assert not run.state.remembers(run.events[0].id)
    run.fetcher.put(delivery(1, {"text": "another message, same sequence in the stream made again"}))
    await until(lambda: len(run.events) == 2, what="the second")
    assert run.events[1].id == run.events[0].id and run.events[1].payload["recovered"] is False
    await run.state.close()
