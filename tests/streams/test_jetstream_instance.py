"""The JetStream source and the stream's instance: read around each fetch, a batch across a reset given back.

The ids of messages without ``Nats-Msg-Id`` name the stream's instance, so a stream deleted and
made again (its sequences start at 1 again) gives its messages new ids; the same source against
a real nats-server: tests/e2e/test_nats_stream_made_again.py.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import nats.errors
import nats.js.errors

from streams import delivery_id
from tests.streams.test_jetstream import INSTANCE, FakeFetcher, delivery, start
from tests.support import until

AGAIN = "2026-03-01T12:30:00.000002+00:00"
"""The instance of the stream made again."""


def gone() -> nats.js.errors.NotFoundError:
    return nats.js.errors.NotFoundError(description="stream not found")


class Listener:
    """Counts the failures reported, by what failed."""

    def __init__(self) -> None:
        self.failures: Counter[str] = Counter()

    def received(self, redelivered: bool) -> None:
        return None

    def settled(self, how: str, count: int) -> None:
        return None

    def failed(self, what: str, error: BaseException) -> None:
        self.failures[what] += 1


async def test_the_first_fetch_waits_until_the_instance_is_read_and_the_ids_name_it() -> None:
    listener = Listener()
    run = start(listener=listener)
    run.fetcher.read_failures.extend(
        [TimeoutError(), nats.errors.NoRespondersError()]
    )  # before the pump's first read: it runs on the loop
    run.fetcher.put(delivery(1), delivery(2, msg_id="k"))
    await until(lambda: len(run.events) == 2, what="the events")
    assert listener.failures == Counter(instance=2) and run.fetcher.reads == 4  # two failed, one before, one after
    assert [e.id for e in run.events] == [
        delivery_id(None, stream="S", instance=INSTANCE, sequence=1),
        delivery_id({"Nats-Msg-Id": "k"}, stream="S", instance=INSTANCE, sequence=2),
    ]
    assert run.errors == []
    await run.state.close()


async def test_a_batch_fetched_across_a_reset_is_given_back_once_subscribed_again_and_comes_under_the_new_ids() -> None:
    run = start()
    run.fetcher.put(delivery(1))
    await until(lambda: len(run.events) == 1, what="the old stream's message")
    run.state.acknowledge([run.events[0].id])
    run.fetcher.instance_now = AGAIN  # deleted and made again: its first message is sequence 1 again
    new, queued = delivery(1, {"text": "new"}), delivery(2)
    run.fetcher.left = [[queued]]  # in the old subscription, not fetched
    run.fetcher.put(new)
    await until(lambda: new.done["nak"] == 1 and queued.done["nak"] == 1, what="the batch given back")
    assert run.fetcher.journal[:4] == ["renew", "withdraw", "nak 1", "nak 2"]  # subscribed again first
    assert len(run.events) == 1 and run.state.in_flight() == 0
    again = delivery(1, {"text": "new"}, deliveries=2)
    run.fetcher.put(again)
    await until(lambda: len(run.events) == 2, what="the new message, delivered again")
    event = run.events[1]
    assert event.id == delivery_id(None, stream="S", instance=AGAIN, sequence=1) != run.events[0].id
    assert event.payload["text"] == "new" and event.payload["recovered"] is True
    run.state.acknowledge([event.id])
    await until(lambda: again.done["ack"] == 1, what="its ack")
    assert run.fetcher.journal.count("renew") == 1 and run.errors == []
    await run.state.close()


async def test_a_renewal_that_fails_for_now_is_tried_again_before_the_batch_is_given_back() -> None:
    class Flaky(FakeFetcher):
        failing = 2

        async def renew(self) -> list[Any]:
            if self.failing:
                self.failing -= 1
                self.journal.append("renew failed")
                raise nats.errors.ConnectionReconnectingError
            return await super().renew()

    listener = Listener()
    run = start(listener=listener, fetcher=Flaky())
    await until(lambda: run.fetcher.reads >= 1, what="the first read")
    run.fetcher.instance_now = AGAIN
    batch = delivery(1)
    run.fetcher.put(batch)
    await until(lambda: batch.done["nak"] == 1, what="the batch given back")
    assert run.fetcher.journal[:5] == ["renew failed", "renew failed", "renew", "withdraw", "nak 1"]
    assert listener.failures == Counter(instance=2) and run.events == []
    await run.state.close()


async def test_while_the_read_after_a_fetch_fails_the_batch_waits_told_in_progress_and_is_taken_as_it_was() -> None:
    listener = Listener()
    run = start(listener=listener)
    await until(lambda: run.fetcher.reads >= 1, what="the first read")
    run.fetcher.read_failures.extend([gone(), TimeoutError(), nats.errors.NoRespondersError()])
    waiting = delivery(1)
    run.fetcher.put(waiting)
    await until(lambda: len(run.events) == 1, what="the event once the read answers")
    assert run.events[0].id == delivery_id(None, stream="S", instance=INSTANCE, sequence=1)
    assert waiting.done == Counter(in_progress=3)  # not given back: a failure to read is not a reset
    assert listener.failures == Counter(instance=3) and "renew" not in run.fetcher.journal
    await run.state.close()


async def test_close_gives_back_a_batch_still_waiting_for_the_read() -> None:
    run = start()
    await until(lambda: run.fetcher.reads >= 1, what="the first read")
    run.fetcher.read_failures.extend(gone() for _ in range(10_000))  # the stream stays gone
    waiting = delivery(1)
    run.fetcher.put(waiting)
    await until(lambda: waiting.done["in_progress"] >= 1, what="the batch waiting")
    assert await run.state.close() == 1
    assert waiting.done["nak"] == 1 and run.events == [] and run.errors == []


async def test_a_read_that_fails_otherwise_goes_down_the_stream_and_the_batch_is_given_back_at_close() -> None:
    run = start()
    await until(lambda: run.fetcher.reads >= 1, what="the first read")
    run.fetcher.read_failures.append(ValueError("stream S: the server does not tell when it was created"))
    waiting = delivery(1)
    run.fetcher.put(waiting)
    await until(lambda: bool(run.errors), what="the error")
    why = "ValueError: stream S: the server does not tell when it was created"
    assert str(run.errors[0]) == f"jetstream: reading the instance of S failed: {why}"
    assert await run.state.close() == 1 and waiting.done["nak"] == 1 and run.events == []


async def test_a_first_read_that_fails_otherwise_goes_down_the_stream_before_any_fetch() -> None:
    run = start()
    run.fetcher.read_failures.append(RuntimeError("permission denied"))
    run.fetcher.put(delivery(1))
    await until(lambda: bool(run.errors), what="the error")
    assert "reading the instance of S failed: RuntimeError: permission denied" in str(run.errors[0])
    assert run.fetcher.asked == [] and run.events == []
    await run.state.close()


async def test_a_batch_whose_every_message_has_its_msg_id_is_taken_without_reading_the_instance() -> None:
    run = start()
    run.fetcher.put(delivery(1))  # no Nats-Msg-Id: read before (the first fetch) and after its fetch
    await until(lambda: len(run.events) == 1, what="the first event")
    reads = run.fetcher.reads
    run.fetcher.put(delivery(2, msg_id="a"), delivery(3, msg_id="b"))
    await until(lambda: len(run.events) == 3, what="the events of the ids the publisher chose")
    assert run.fetcher.reads == reads  # no id of theirs names the instance: nothing to confirm
    run.state.acknowledge([e.id for e in run.events])  # room again (3 in flight at most)
    run.fetcher.instance_now = AGAIN  # made again meanwhile: the next batch without ids still sees it
    late = delivery(1, {"text": "new"})
    run.fetcher.put(late)
    await until(lambda: late.done["nak"] == 1, what="the batch across the reset given back")
    assert len(run.events) == 3 and run.errors == []
    await run.state.close()
