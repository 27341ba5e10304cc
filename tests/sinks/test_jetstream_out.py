"""The JetStream out sink on a real nats-server and a real DuckDB file: once each, in commit order, across kills."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from sinks import JetStreamOut, JetStreamOutPolicy, OutStreamError, SinkError, outbox_line
from tests.nats_server import NatsServer, nats_binary
from tests.sinks.jetstream_support import (
    T0,
    commit,
    connected,
    open_writer,
    outbox_line_of,
    recorded,
    reply,
    said,
    seen,
    stream_messages,
)
from tests.support import until


@pytest.fixture
def server(tmp_path: Path) -> Iterator[NatsServer]:
    running = NatsServer(nats_binary(), tmp_path / "nats")
    try:
        yield running
    finally:
        running.stop()


POLICY = JetStreamOutPolicy(name="test-being", duplicate_window_s=60.0)


async def test_replies_and_messages_are_published_once_after_commit_with_their_ids_and_headers(
    server: NatsServer, tmp_path: Path
) -> None:
    writer = open_writer(tmp_path / "db.duckdb")
    asked: list[str] = []

    def headers_for(event_id: str) -> dict[str, str]:
        asked.append(event_id)
        return {"traceparent": f"00-{'a' * 32}-{'b' * 16}-01"}

    try:
        async with connected(server.url) as (_nc, js):
            sink = JetStreamOut(writer, js, POLICY, headers_for=headers_for)
            await sink.start()
            await commit(writer, [reply(1), seen(2), said(3)])
            await sink.flush()
            await sink.flush()  # nothing new: nothing published
            held = await stream_messages(js, POLICY)
            assert [h.headers["Nats-Msg-Id"] for h in held] == ["r1", "b3"]  # the world episode is not published
            first, being = held
            assert first.headers["Being-Type"] == "user.reply" and first.headers["Being-In-Reply-To"] == "m1"
            assert first.headers["traceparent"].startswith("00-aaaa")
            assert "Being-In-Reply-To" not in being.headers and being.headers["Being-Type"] == "being.message"
            assert first.body == await outbox_line_of(writer, "r1")  # the outbox's line, exactly
            assert being.body["text"] == "thinking of you 3"
            assert asked == ["m1", "b3"]  # a reply's trace is its message's; a being message's its own
            assert await recorded(writer) == {"r1": "published", "b3": "published"}
            assert (sink.published, sink.duplicates, sink.failed) == (2, 0, 0)
            info = await js.stream_info(POLICY.stream)
            assert info.config.subjects == ["being.test-being.out"] and info.config.duplicate_window == 60.0
    finally:
        writer.close()


async def test_publish_episodes_sends_every_episode_and_turning_it_on_does_not_pour_the_past(
    server: NatsServer, tmp_path: Path
) -> None:
    path = tmp_path / "db.duckdb"
    async with connected(server.url) as (_nc, js):
        writer = open_writer(path)
        await commit(writer, [reply(0), seen(0)])  # before the stream was ever fed: never published
        replies_only = JetStreamOut(writer, js, POLICY)
        await replies_only.start()
        await commit(writer, [seen(1), reply(2)])
        await replies_only.flush()
        every = JetStreamOut(writer, js, JetStreamOutPolicy(name=POLICY.name, publish_episodes=True))
        await every.start()  # w1 was committed while only replies went out: not poured in now
        await commit(writer, [seen(3), reply(4)])
        await every.flush()
        held = await stream_messages(js, POLICY)
        assert [(h.headers["Nats-Msg-Id"], h.headers["Being-Type"]) for h in held] == [
            ("r2", "user.reply"),
            ("w3", "world.file_changed"),
            ("r4", "user.reply"),
        ]
        assert held[1].body["data"] == {"path": "notes.md"} and held[1].body["description"] == "notes.md changed (3)"
        assert await recorded(writer) == {
            "r0": "before_stream",
            "w0": "before_stream",
            "w1": "skipped",
            "r2": "published",
            "w3": "published",
            "r4": "published",
        }
        writer.close()


async def test_episodes_go_out_in_commit_order_in_bounded_passes(server: NatsServer, tmp_path: Path) -> None:
    writer = open_writer(tmp_path / "db.duckdb")
    try:
        async with connected(server.url) as (_nc, js):
            sink = JetStreamOut(writer, js, JetStreamOutPolicy(name=POLICY.name, max_per_pass=2))
            await sink.start()
            # committed in this order, though their times say otherwise
            for n, seconds in [(1, 50), (2, 10), (3, 40), (4, 20), (5, 30)]:
                await commit(writer, [reply(n, seconds=seconds)])
            await sink.flush()
            held = await stream_messages(js, POLICY)
            assert [h.headers["Nats-Msg-Id"] for h in held] == ["r1", "r2", "r3", "r4", "r5"]
            assert sink.published == 5
    finally:
        writer.close()


async def test_a_kill_between_commit_and_publish_republishes_only_what_was_not_recorded(
    server: NatsServer, tmp_path: Path
) -> None:
    path = tmp_path / "db.duckdb"
    async with connected(server.url) as (_nc, js):
        writer = open_writer(path)
        first = JetStreamOut(writer, js, POLICY)
        await first.start()
        await commit(writer, [reply(1)])
        await first.flush()
        await commit(writer, [reply(2), reply(3)])
        writer.close()  # the kill: r2 and r3 committed, never published
        writer = open_writer(path)
        after = JetStreamOut(writer, js, POLICY)
        await after.start()
        held = await stream_messages(js, POLICY)
        assert [h.headers["Nats-Msg-Id"] for h in held] == ["r1", "r2", "r3"]
        assert (after.published, after.duplicates) == (2, 0)
        assert set((await recorded(writer)).values()) == {"published"}
        writer.close()


async def test_a_kill_between_the_pubacks_and_their_record_leaves_the_stream_holding_each_once(
    server: NatsServer, tmp_path: Path
) -> None:
    path = tmp_path / "db.duckdb"
    async with connected(server.url) as (_nc, js):
        writer = open_writer(path)
        await JetStreamOut(writer, js, POLICY).start()
        await commit(writer, [reply(1), reply(2)])

        def die_after_the_last(event_id: str) -> dict[str, str]:
            if event_id == "m2":
                writer.close()  # the record will find the writer gone, as a kill would leave it
            return {}

        killed = JetStreamOut(writer, js, POLICY, headers_for=die_after_the_last)
        with pytest.raises(SinkError):
            await killed.flush()
        assert killed.published == 2  # the stream acknowledged both; neither was recorded
        writer = open_writer(path)
        assert await recorded(writer) == {}
        after = JetStreamOut(writer, js, POLICY)
        await after.start()
        assert (after.published, after.duplicates) == (0, 2)  # inside the window: JetStream dropped the copies
        held = await stream_messages(js, POLICY)
        assert [h.headers["Nats-Msg-Id"] for h in held] == ["r1", "r2"]
        assert await recorded(writer) == {"r1": "duplicate", "r2": "duplicate"}
        writer.close()


async def test_with_nats_down_a_flush_raises_records_nothing_and_a_later_flush_publishes_all_in_order(
    server: NatsServer, tmp_path: Path
) -> None:
    writer = open_writer(tmp_path / "db.duckdb")
    try:
        async with connected(server.url) as (nc, js):
            sink = JetStreamOut(writer, js, JetStreamOutPolicy(name=POLICY.name, ack_timeout_s=0.5))
            await sink.start()
            await commit(writer, [reply(1)])
            await sink.flush()
            server.stop()
            await until(lambda: not nc.is_connected, what="the client to see the server gone")
            await commit(writer, [reply(2), said(3)])
            await commit(writer, [reply(4)])
            with pytest.raises(OutStreamError, match="not acknowledged|cannot send"):
                await sink.flush()
            assert sink.failed == 1
            assert set(await recorded(writer)) == {"r1"}
            server.start()
            await until(lambda: nc.is_connected, timeout_s=20.0, what="the client to reconnect")
            await sink.flush()
            held = await stream_messages(js, POLICY)
            assert [h.headers["Nats-Msg-Id"] for h in held] == ["r1", "r2", "b3", "r4"]
            assert set(await recorded(writer)) == {"r1", "r2", "b3", "r4"}
    finally:
        writer.close()


async def test_a_paused_server_fails_the_flush_within_its_ack_timeout_and_nothing_is_recorded(
    server: NatsServer, tmp_path: Path
) -> None:
    writer = open_writer(tmp_path / "db.duckdb")
    try:
        async with connected(server.url) as (_nc, js):
            sink = JetStreamOut(writer, js, JetStreamOutPolicy(name=POLICY.name, ack_timeout_s=0.5))
            await sink.start()
            await commit(writer, [reply(1), reply(2)])
            with server.paused(), pytest.raises(OutStreamError, match="2 of 2 publishes not acknowledged"):
                await sink.flush()
            assert await recorded(writer) == {}
            await sink.flush()
            held = await stream_messages(js, POLICY)
            assert [h.headers["Nats-Msg-Id"] for h in held] == ["r1", "r2"]  # the late copies were dropped
    finally:
        writer.close()


ODD = "zero\u200bwidth, e\u0301, \u202eright-to-left\u202c, line\u2028sep, nul\x00, \U0001f9e0, \ufeffbom, 'quote\" \\"


async def test_hostile_content_is_published_intact_or_shortened_and_never_wedges_the_cursor(
    server: NatsServer, tmp_path: Path
) -> None:
    writer = open_writer(tmp_path / "db.duckdb")
    try:
        async with connected(server.url) as (nc, js):
            policy = JetStreamOutPolicy(name=POLICY.name, max_payload_bytes=nc.max_payload)
            sink = JetStreamOut(writer, js, policy)
            await sink.start()
            huge = ("\U0001f9e0\x01" + "x" * 97) * (nc.max_payload // 50)  # twice the server's max_payload
            near = "y" * (nc.max_payload - 1000)  # fits with its headers
            data = dict(reply(5, "").data)
            empty = len(outbox_line("r5", T0 + timedelta(seconds=5), "user.reply", "success", "answer 5", data))
            brink = "z" * (nc.max_payload - empty + 1 - 20)  # fits alone, not with its headers
            await commit(writer, [reply(1, ODD), reply(2, huge), reply(3, near), reply(4), reply(5, brink)])
            await sink.flush()
            held = await stream_messages(js, policy)
            assert [h.headers["Nats-Msg-Id"] for h in held] == ["r1", "r2", "r3", "r4", "r5"]
            odd, cut, whole, after, edge = held
            assert edge.body["truncated"] is True and edge.body["bytes"] == nc.max_payload - 20
            assert odd.body["text"] == ODD and "truncated" not in odd.body
            assert whole.body["text"] == near
            assert cut.body["truncated"] is True and cut.headers["Being-Truncated"] == str(cut.body["bytes"])
            assert int(str(cut.body["bytes"])) > nc.max_payload >= cut.size
            text = str(cut.body["text"])
            assert len(text) > 1000 and huge.startswith(text)  # cut at a character, never mid-emoji
            assert after.body["text"] == "answer 4"
            assert await recorded(writer) == {
                "r1": "published",
                "r2": "truncated",
                "r3": "published",
                "r4": "published",
                "r5": "truncated",
            }
            assert nc.is_connected  # the server was never sent more than it takes
    finally:
        writer.close()


async def test_headers_nats_cannot_carry_or_that_would_replace_the_sinks_own_are_left_out(
    server: NatsServer, tmp_path: Path
) -> None:
    writer = open_writer(tmp_path / "db.duckdb")
    try:
        async with connected(server.url) as (_nc, js):
            evil = {"bad key": "x", "colon:key": "x", "Nats-Msg-Id": "evil", "being-type": "evil", "tracestate": "a=1"}
            sink = JetStreamOut(writer, js, POLICY, headers_for=lambda _id: evil)
            await sink.start()
            await commit(writer, [reply(1)])
            await sink.flush()
            (held,) = await stream_messages(js, POLICY)
            assert held.headers["Nats-Msg-Id"] == "r1" and held.headers["Being-Type"] == "user.reply"
            assert held.headers["tracestate"] == "a=1"
            assert not {"bad key", "colon:key", "being-type"} & set(held.headers)
    finally:
        writer.close()


async def test_the_stream_is_made_once_and_updated_to_the_policys_window(server: NatsServer, tmp_path: Path) -> None:
    writer = open_writer(tmp_path / "db.duckdb")
    try:
        async with connected(server.url) as (_nc, js):
            await JetStreamOut(writer, js, POLICY).start()
            await JetStreamOut(writer, js, POLICY).start()  # an identical second start changes nothing
            await JetStreamOut(writer, js, JetStreamOutPolicy(name=POLICY.name, duplicate_window_s=300.0)).start()
            info = await js.stream_info(POLICY.stream)
            assert info.config.duplicate_window == 300.0 and info.config.subjects == [POLICY.subject]
    finally:
        writer.close()


async def test_with_nats_unreachable_at_start_the_start_raises_a_sink_error(tmp_path: Path) -> None:
    server = NatsServer(nats_binary(), tmp_path / "nats")
    writer = open_writer(tmp_path / "db.duckdb")
    try:
        async with connected(server.url) as (nc, js):
            server.stop()
            await until(lambda: not nc.is_connected, what="the client to see the server gone")
            with pytest.raises(OutStreamError, match="cannot make or update it"):
                await JetStreamOut(writer, js, POLICY).start()
            assert await recorded(writer) == {}
            server.start()  # and once it is back, the same start works
            await until(lambda: nc.is_connected, timeout_s=20.0, what="the client to reconnect")
            await commit(writer, [reply(1)])
            await JetStreamOut(writer, js, POLICY).start()
            assert await recorded(writer) == {"r1": "before_stream"}  # committed before the stream's first start
    finally:
        server.stop()
        writer.close()


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("name", "a.b", "1-64 of A-Z"),
        ("name", "", "1-64 of A-Z"),
        ("duplicate_window_s", 0.0, "> 0"),
        ("max_per_pass", 0, ">= 1"),
        ("ack_timeout_s", -1.0, "> 0"),
        ("max_payload_bytes", 10, ">= 1024"),
    ],
)
def test_a_policy_that_cannot_work_is_refused_with_what_and_where(field: str, value: object, expected: str) -> None:
    with pytest.raises(ValueError, match=f"JetStreamOutPolicy.{field}: expected {expected}"):
        JetStreamOutPolicy(**{field: value})  # type: ignore[arg-type]


def test_the_policy_names_the_subject_and_the_stream() -> None:
    policy = JetStreamOutPolicy(name="my-being_2")
    assert (policy.subject, policy.stream) == ("being.my-being_2.out", "BEING_MY_BEING_2_OUT")
