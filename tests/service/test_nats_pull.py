"""The pull subscription's withdrawal against a real nats-server: a request left at the server delivers nothing after.

A fetch cancelled on this side stands for a pull request that outlived its fetch (one that reached
the server late); its ``expires`` is a minute, so only the withdrawal can end it within the test.
The stream's instance (its creation time) and the renewal after a stream made again, too.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import nats
import nats.js.errors
import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, StreamConfig

from service._nats_pull import PullFetcher
from streams import stream_instance
from tests.nats_server import NatsServer, nats_binary

STREAM, SUBJECT, DURABLE = "S", "s.in", "d"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[NatsServer]:
    nats_server = NatsServer(nats_binary(), tmp_path)
    try:
        yield nats_server
    finally:
        nats_server.stop()


async def connect(server: NatsServer) -> tuple[Client, JetStreamContext]:
    nc = await nats.connect(server.url, connect_timeout=5, max_reconnect_attempts=0)
    return nc, nc.jetstream()


async def eventually(condition: Callable[[], Awaitable[bool]], what: str, timeout_s: float = 10.0) -> None:
    """Ask until ``condition`` holds; fail after ``timeout_s`` (a deadline, not a sleep for work)."""
    deadline = time.monotonic() + timeout_s
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        await asyncio.sleep(0.01)


async def make_consumer(nc: Client, js: JetStreamContext) -> PullFetcher:
    """The durable consumer (``ack_wait`` ten minutes) and a fetcher on it."""
    await js.add_stream(name=STREAM, subjects=[SUBJECT])
    await js.add_consumer(STREAM, ConsumerConfig(durable_name=DURABLE, ack_policy=AckPolicy.EXPLICIT, ack_wait=600))
    subscription = await js.pull_subscribe_bind(durable=DURABLE, stream=STREAM)
    return PullFetcher(nc, js, subscription, stream=STREAM, durable=DURABLE)


async def leave_a_request(js: JetStreamContext, fetcher: PullFetcher) -> None:
    """A fetch the client is done with, whose pull request the server holds for a minute."""
    fetch = asyncio.ensure_future(fetcher.fetch(16, timeout=60))
    await eventually(lambda: waiting(js, 1), "the pull request at the server")
    fetch.cancel()
    await asyncio.gather(fetch, return_exceptions=True)


async def waiting(js: JetStreamContext, n: int) -> bool:
    return bool((await js.consumer_info(STREAM, DURABLE)).num_waiting >= n)


async def publish(js: JetStreamContext, *bodies: bytes) -> None:
    for body in bodies:
        await js.publish(SUBJECT, body)


async def test_without_the_withdrawal_a_message_given_back_comes_back_into_the_request_left_at_the_server(
    server: NatsServer,
) -> None:
    nc, js = await connect(server)
    try:
        fetcher = await make_consumer(nc, js)
        await publish(js, b"one")
        [msg] = await fetcher.fetch(1, timeout=5)
        await leave_a_request(js, fetcher)
        await msg.nak()
        subscription: Any = fetcher._subscription

        async def back_here() -> bool:
            return bool(subscription.pending_msgs >= 1)

        await eventually(back_here, "the message delivered into the request left at the server")
        info = await js.consumer_info(STREAM, DURABLE)
        assert info.num_ack_pending == 1 and info.num_redelivered == 1  # another subscriber waits for ack_wait
    finally:
        await nc.close()


async def test_after_the_withdrawal_a_message_given_back_goes_to_the_next_subscriber_at_once(
    server: NatsServer,
) -> None:
    nc, js = await connect(server)
    other, other_js = await connect(server)
    try:
        fetcher = await make_consumer(nc, js)
        await publish(js, b"one")
        [msg] = await fetcher.fetch(1, timeout=5)
        await leave_a_request(js, fetcher)
        assert await fetcher.withdraw() == []
        await msg.nak()
        subscription = await other_js.pull_subscribe_bind(durable=DURABLE, stream=STREAM)
        [taken] = await subscription.fetch(1, timeout=5)  # long before ack_wait (ten minutes)
        assert taken.data == b"one" and taken.metadata.num_delivered == 2  # its second delivery, counted
        assert await fetcher.withdraw() == []  # nothing came to the withdrawn subscription meanwhile
    finally:
        await other.close()
        await nc.close()


async def test_the_withdrawal_hands_back_what_the_request_brought_after_its_fetch_and_then_nothing_more(
    server: NatsServer,
) -> None:
    nc, js = await connect(server)
    try:
        fetcher = await make_consumer(nc, js)
        await leave_a_request(js, fetcher)
        subscription: Any = fetcher._subscription
        await publish(js, b"one")

        async def queued() -> bool:
            return bool(subscription.pending_msgs >= 1)

        await eventually(queued, "the message in the subscription's queue")
        assert [m.data for m in await fetcher.withdraw()] == [b"one"] and fetcher.withdrawn  # its status dropped
        await publish(js, b"two")
        assert await fetcher.withdraw() == []
        info = await js.consumer_info(STREAM, DURABLE)
        assert info.num_pending == 1 and info.num_ack_pending == 1 and info.num_waiting == 0
    finally:
        await nc.close()


async def test_the_instance_is_the_streams_creation_time_kept_across_updates_and_restarts_and_new_once_made_again(
    server: NatsServer,
) -> None:
    nc, js = await connect(server)
    try:
        fetcher = await make_consumer(nc, js)
        first = await fetcher.instance()
        created = (await js.stream_info(STREAM)).created
        assert created is not None and first == stream_instance(created)
        await js.update_stream(StreamConfig(name=STREAM, subjects=[SUBJECT], duplicate_window=5.0))
        assert await fetcher.instance() == first
    finally:
        await nc.close()
    server.stop()
    server.start()  # the same store: the same stream
    nc, js = await connect(server)
    try:
        fetcher = await make_consumer_again(nc, js)
        assert await fetcher.instance() == first
        await js.delete_stream(STREAM)
        with pytest.raises(nats.js.errors.NotFoundError):
            await fetcher.instance()
        fetcher = await make_consumer(nc, js)
        assert await fetcher.instance() != first
    finally:
        await nc.close()


async def make_consumer_again(nc: Client, js: JetStreamContext) -> PullFetcher:
    """A fetcher on the consumer that is there already."""
    subscription = await js.pull_subscribe_bind(durable=DURABLE, stream=STREAM)
    return PullFetcher(nc, js, subscription, stream=STREAM, durable=DURABLE)


async def test_after_the_renewal_a_request_left_by_the_old_subscription_takes_nothing_and_the_new_one_fetches(
    server: NatsServer,
) -> None:
    nc, js = await connect(server)
    try:
        fetcher = await make_consumer(nc, js)
        await leave_a_request(js, fetcher)
        old: Any = fetcher._subscription
        await publish(js, b"one")

        async def queued() -> bool:
            return bool(old.pending_msgs >= 1)

        await eventually(queued, "the message in the old subscription's queue")
        [held] = await fetcher.renew()  # handed back, not lost with the old subscription
        assert held.data == b"one" and fetcher._subscription is not old and not fetcher.withdrawn
        await held.nak()
        [again] = await fetcher.fetch(1, timeout=5)  # long before ack_wait (ten minutes)
        assert again.data == b"one" and again.metadata.num_delivered == 2
        await again.ack()
        await publish(js, b"two")
        [two] = await fetcher.fetch(1, timeout=5)
        assert two.data == b"two"
        info = await js.consumer_info(STREAM, DURABLE)
        assert info.num_ack_pending == 1 and info.num_redelivered == 0 and info.num_waiting == 0
    finally:
        await nc.close()


async def test_the_withdrawal_of_a_consumer_deleted_under_it_hands_back_what_it_holds(server: NatsServer) -> None:
    nc, js = await connect(server)
    try:
        fetcher = await make_consumer(nc, js)
        await leave_a_request(js, fetcher)
        subscription: Any = fetcher._subscription
        await publish(js, b"one")

        async def queued() -> bool:
            return bool(subscription.pending_msgs >= 1)

        await eventually(queued, "the message in the subscription's queue")
        await js.delete_consumer(STREAM, DURABLE)
        assert [m.data for m in await fetcher.withdraw()] == [b"one"]
    finally:
        await nc.close()
