"""The JetStream source when taking one message fails in a way the message rules do not foresee.

Such a failure used to end the fetching task silently: the message stayed held (told
``in_progress`` at every heartbeat, so never delivered elsewhere) and nothing more was fetched.
Now it goes down the stream, and what was fetched and not held is given back.
"""

from __future__ import annotations

from dataclasses import dataclass

from tests.streams.test_jetstream import FakeDelivery, _Meta, _Seq, delivery, start
from tests.support import until


@dataclass
class _Unreadable(FakeDelivery):
    @property  # type: ignore[misc]
    def metadata(self) -> _Meta:  # the client's parsing of the ack subject failing, say
        raise ValueError("not a JetStream ack subject")

    @metadata.setter
    def metadata(self, _value: _Meta) -> None:
        return None


async def test_a_message_the_source_cannot_take_is_an_error_down_the_stream_and_the_rest_is_given_back() -> None:
    run = start()
    good = delivery(1)
    bad = _Unreadable(b"{}", None, _Meta(_Seq(2), 1))
    run.fetcher.put(good, bad)
    await until(lambda: bool(run.errors), what="the error")
    [error] = run.errors
    assert type(error).__name__ == "JetStreamError"
    assert str(error) == "jetstream: taking a message from S failed: ValueError: not a JetStream ack subject"
    assert [e.payload["sequence"] for e in run.events] == [1]
    assert bad.done["nak"] == 0  # given back at close, once the subscription is withdrawn
    assert await run.state.close() == 2  # the one held and the unreadable one
    assert good.done["nak"] == 1 and bad.done["nak"] == 1
    assert run.fetcher.journal[:2] == ["withdraw", "nak 1"] and "nak " in run.fetcher.journal
    assert run.fetcher.asked == [2]  # nothing fetched after the failure
    assert run.state.in_flight() == 0
