"""The live stream's hub on its own: numbering, the ring, resume points, filters, and dropping a slow client."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry

from service.http import EventHub, EventMetrics, EventStreamPolicy
from service.http._event_hub import TypeFilter
from service.settings import SettingsError, load_settings
from sinks import EpisodeRow

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def rows(n: int, start: int = 0, type_: str = "user.message") -> list[EpisodeRow]:
    return [
        EpisodeRow(
            id=f"e{i}",
            time=T0 + timedelta(seconds=i),
            type=type_,
            description=f"d{i}",
            outcome="success",
            data={"i": i},
        )
        for i in range(start, start + n)
    ]


def frames_of(frames: list[bytes]) -> list[tuple[str, dict[str, object]]]:
    out = []
    for frame in frames:
        lines = frame.decode().splitlines()
        assert lines[1] == "event: episode"
        out.append((lines[0].removeprefix("id: "), json.loads(lines[2].removeprefix("data: "))))
    return out


def test_episodes_are_numbered_in_the_order_stored_and_framed_as_sse() -> None:
    hub = EventHub(EventStreamPolicy(), stream_id="run1")
    client = hub.join(hub.resume_at(None), TypeFilter())
    hub.publish(rows(3))
    got = frames_of(client.take())
    assert [event_id for event_id, _ in got] == ["run1:1", "run1:2", "run1:3"]
    assert got[0][1] == {
        "id": "e0",
        "time": "2026-03-01T12:00:00.000000Z",
        "type": "user.message",
        "description": "d0",
        "outcome": "success",
        "data": {"i": 0},
    }
    assert client.take() == []
    text = EpisodeRow(id="x", time=T0, type="t", description="two\nlines\r\n", outcome="ok")
    hub.publish([text])
    (frame,) = client.take()
    assert frame.count(b"\n") == 4  # id, event, data, blank: a newline in a value never splits a data line


def test_the_ring_is_bounded_and_resume_works_within_it() -> None:
    registry = CollectorRegistry()
    hub = EventHub(EventStreamPolicy(ring_size=5, client_max_lag=5), stream_id="run1", metrics=EventMetrics(registry))
    hub.publish(rows(8))
    assert (hub.head, hub.oldest) == (8, 4)
    resumed = hub.resume_at("run1:5")
    assert (resumed.cursor, resumed.gap) == (5, None)
    client = hub.join(resumed, TypeFilter())
    assert [i for i, _ in frames_of(client.take())] == ["run1:6", "run1:7", "run1:8"]
    edge = hub.resume_at("run1:3")  # the oldest kept is 4: nothing was missed
    assert (edge.cursor, edge.gap) == (3, None)
    old = hub.resume_at("run1:2")
    assert (old.cursor, old.gap) == (3, "too_old")
    other = hub.resume_at("run0:99")
    assert (other.cursor, other.gap) == (3, "other_run")
    assert registry.get_sample_value("being_events_resumes_total", {"outcome": "resumed"}) == 2
    assert registry.get_sample_value("being_events_resumes_total", {"outcome": "too_old"}) == 1
    gap = json.loads(hub.gap_frame("run1:2", "too_old").decode().splitlines()[1].removeprefix("data: "))
    assert gap == {"last_event_id": "run1:2", "reason": "too_old", "oldest_id": "run1:4"}


@pytest.mark.parametrize("bad", ["nonsense", "run1:", "run1:-1", ":5", "run1:9", "x" * 300 + ":1"])
def test_a_last_event_id_that_is_not_one_this_stream_sent_is_refused(bad: str) -> None:
    hub = EventHub(EventStreamPolicy(), stream_id="run1")
    hub.publish(rows(8))
    with pytest.raises(ValueError, match="Last-Event-ID"):
        hub.resume_at(bad)


def test_types_filter_exactly_or_by_prefix() -> None:
    hub = EventHub(EventStreamPolicy(), stream_id="run1")
    replies = hub.join(hub.resume_at(None), TypeFilter(["user.reply"]))
    users = hub.join(hub.resume_at(None), TypeFilter(["user.*"]))
    ticks = hub.join(hub.resume_at(None), TypeFilter(["heavy_tick.observe", "system.start"]))
    hub.publish([*rows(1, 0, "user.message"), *rows(1, 1, "user.reply"), *rows(1, 2, "heavy_tick.observe")])
    assert [e["type"] for _, e in frames_of(replies.take())] == ["user.reply"]
    assert [e["type"] for _, e in frames_of(users.take())] == ["user.message", "user.reply"]
    assert [e["type"] for _, e in frames_of(ticks.take())] == ["heavy_tick.observe"]
    assert replies.cursor == users.cursor == ticks.cursor == 3  # filtered-out episodes are passed, not kept


@pytest.mark.parametrize("bad", [["a b"], ["a*"], ["x" * 201], [f"t{i}" for i in range(33)]])
def test_bad_types_are_refused(bad: list[str]) -> None:
    with pytest.raises(ValueError, match="type"):
        TypeFilter(bad)


def test_a_client_too_far_behind_is_dropped_counted_and_cut_off_while_publish_goes_on() -> None:
    registry = CollectorRegistry()
    hub = EventHub(EventStreamPolicy(ring_size=10, client_max_lag=4), stream_id="run1", metrics=EventMetrics(registry))
    slow = hub.join(hub.resume_at(None), TypeFilter())
    fast = hub.join(hub.resume_at(None), TypeFilter())
    cut: list[str] = []
    slow.abort = lambda: cut.append("slow")
    fast.abort = lambda: cut.append("fast")
    for n in range(3):
        hub.publish(rows(2, 2 * n))  # the fast one reads each batch; the slow one reads nothing
        assert len(fast.take()) == 2
    assert slow.dropped == "slow" and fast.dropped is None
    assert cut == ["slow"]
    assert registry.get_sample_value("being_events_clients_dropped_total", {"reason": "slow"}) == 1
    assert registry.get_sample_value("being_events_published_total") == 6
    assert registry.get_sample_value("being_events_sent_total") == 6  # the fast one's; the slow one got none
    hub.leave(slow)
    assert registry.get_sample_value("being_events_clients") == 1


def test_close_ends_every_stream_without_counting_a_drop() -> None:
    registry = CollectorRegistry()
    hub = EventHub(EventStreamPolicy(), stream_id="run1", metrics=EventMetrics(registry))
    client = hub.join(hub.resume_at(None), TypeFilter())
    cut: list[bool] = []
    client.abort = lambda: cut.append(True)
    hub.close()
    assert client.dropped == "shutdown" and client.wake.is_set() and cut == []  # ended, not cut off
    hub.publish(rows(1))
    assert hub.head == 0
    assert registry.get_sample_value("being_events_clients_dropped_total", {"reason": "slow"}) == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ring_size": 0}, "ring_size"),
        ({"ring_size": 5, "client_max_lag": 6}, "client_max_lag"),
        ({"heartbeat_s": 0}, "heartbeat_s"),
        ({"write_timeout_s": -1}, "write_timeout_s"),
        ({"retry_ms": -1}, "retry_ms"),
    ],
)
def test_a_bad_policy_is_refused_when_built(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        EventStreamPolicy(**kwargs)  # type: ignore[arg-type]


def test_the_settings_refuse_a_lag_over_the_ring() -> None:
    with pytest.raises(SettingsError, match="client_max_lag"):
        load_settings(env={"BEING_HTTP_EVENTS_RING_SIZE": "10", "BEING_HTTP_EVENTS_CLIENT_MAX_LAG": "11"})


def test_a_stream_id_must_not_hold_the_separator() -> None:
    with pytest.raises(ValueError, match="stream_id"):
        EventHub(EventStreamPolicy(), stream_id="a:b")
