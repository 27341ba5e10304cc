"""A JetStream message's event: one id on every instance, the rules of POST /messages, poison as dead letters."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from streams import (
    INVALID_INPUT,
    Event,
    MessageLimits,
    delivery_event,
    delivery_id,
    stable_id,
    stream_instance,
    undelivered_event,
)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LIMITS = MessageLimits(max_text_bytes=16, max_sender_chars=5)
I1, I2 = "2026-03-01T11:00:00.000001+00:00", "2026-03-01T11:30:00.000002+00:00"  # a stream, then made again


def event_of(data: bytes, headers: dict[str, str] | None = None, *, recovered: bool = False) -> Event:
    return delivery_event(
        data, headers, stream="BEING_X_IN", instance=I1, sequence=7, time=T0, limits=LIMITS, recovered=recovered
    )


def test_the_id_comes_from_nats_msg_id_else_from_the_stream_its_instance_and_the_sequence() -> None:
    assert delivery_id({"Nats-Msg-Id": "k-1"}, stream="S", instance=I1, sequence=1) == stable_id("nats", "k-1")
    assert delivery_id({"Nats-Msg-Id": "k-1"}, stream="T", instance=I2, sequence=9) == stable_id("nats", "k-1")
    assert delivery_id(None, stream="S", instance=I1, sequence=3) == stable_id("nats", "S", I1, "3")
    assert delivery_id({"Nats-Msg-Id": ""}, stream="S", instance=I1, sequence=3) == stable_id("nats", "S", I1, "3")


def test_without_msg_id_a_stream_made_again_gives_its_sequences_new_ids_and_one_instance_the_same_ids() -> None:
    before = delivery_id(None, stream="S", instance=I1, sequence=1)
    assert delivery_id(None, stream="S", instance=I1, sequence=1) == before  # redelivered, or on another instance
    assert delivery_id(None, stream="S", instance=I2, sequence=1) != before  # sequence 1 of the stream made again
    assert before != stable_id("nats", "S", "1")  # not the id these messages had before the instance was in it
    with pytest.raises(ValueError, match="instance"):
        delivery_id(None, stream="S", instance="", sequence=1)
    assert delivery_id({"Nats-Msg-Id": "k"}, stream="S", instance="", sequence=1) == stable_id("nats", "k")


def test_a_stream_instance_is_its_creation_time_in_utc_to_the_microsecond_whatever_zone_it_is_read_in() -> None:
    created = datetime(2026, 3, 1, 12, 0, 0, 1, tzinfo=UTC)
    assert stream_instance(created) == "2026-03-01T12:00:00.000001+00:00"
    assert stream_instance(created.astimezone(timezone(timedelta(hours=5)))) == stream_instance(created)
    assert stream_instance(datetime(2026, 3, 1, 12, 0, tzinfo=UTC)) == "2026-03-01T12:00:00.000000+00:00"
    assert stream_instance(created + timedelta(microseconds=1)) != stream_instance(created)
    with pytest.raises(ValueError, match="zone"):
        stream_instance(datetime(2026, 3, 1, 12, 0))  # a naive time: refused


def test_a_good_body_is_a_user_message_or_urgent_with_source_nats() -> None:
    event = delivery_event(
        json.dumps({"text": "help", "urgent": True, "sender": "ana"}).encode(),
        {"Nats-Msg-Id": "m"},
        stream="BEING_X_IN",
        instance=I1,
        sequence=7,
        time=T0,
        limits=LIMITS,
        recovered=True,
    )
    assert (event.id, event.type, event.source, event.time) == (stable_id("nats", "m"), "user.urgent", "nats", T0)
    assert dict(event.payload) == {
        "text": "help",
        "sender": "ana",
        "stream": "BEING_X_IN",
        "sequence": 7,
        "recovered": True,
        "msg_id": "m",
    }
    plain = delivery_event(
        b'{"text": "hi"}', None, stream="S", instance=I1, sequence=1, time=T0, limits=LIMITS, recovered=False
    )
    assert plain.type == "user.message" and "sender" not in plain.payload and plain.payload["recovered"] is False
    assert "msg_id" not in plain.payload  # its id is from the stream sequence: nothing to know it by later


def test_a_huge_msg_id_makes_the_id_whole_and_is_kept_cut() -> None:
    huge = "x" * 500_000 + "tail"
    event = delivery_event(
        b'{"text": "hi"}',
        {"Nats-Msg-Id": huge},
        stream="S",
        instance=I1,
        sequence=1,
        time=T0,
        limits=LIMITS,
        recovered=False,
    )
    assert event.id == stable_id("nats", huge)  # the whole header: another long id with the same start differs
    kept = str(event.payload["msg_id"])
    assert len(kept) == 256 and kept.endswith("…") and kept.startswith("xxx")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{", "refused: body: not JSON"),
        (b'{"text": "caf\xe9"}', "refused: body: not UTF-8 (byte 13"),
        (b'{"text": "a", "text": "b"}', "appears twice"),
        (b"[1]", "expected a JSON object, got an array"),
        (b'{"text": NaN}', "NaN is not JSON"),
        (b'{"text": "x", "to": "y"}', "unknown field 'to'"),
        (b'{"urgent": true}', "text: missing"),
        (b'{"text": "   "}', "only white space"),
        (b'{"text": "a\\u0000b"}', "NUL"),
        (b'{"text": "\\ud800"}', "lone surrogate"),
        (json.dumps({"text": "x" * 17}).encode(), "17 UTF-8 bytes is more than ingest.max_text_bytes (16)"),
        (b'{"text": "x", "sender": "abcdef"}', "ingest.max_sender_chars (5)"),
        (b'{"text": "x", "urgent": "yes"}', "urgent: expected true or false"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ],
)
def test_a_body_the_rules_refuse_is_a_dead_letter_event_with_its_bytes(body: bytes, reason: str) -> None:
    event = event_of(body, {"Nats-Msg-Id": "bad"})
    assert event.type == INVALID_INPUT and event.id == stable_id("nats", "bad") and event.source == "nats"
    assert reason in str(event.payload["reason"])
    assert str(event.payload["reason"]).startswith("refused: ")
    assert event.payload["stream"] == "BEING_X_IN" and event.payload["sequence"] == 7


def test_a_dead_letter_keeps_the_head_of_a_huge_body_escaped_and_says_how_big_it_was() -> None:
    body = b"\xff" + b"z" * 10_000
    event = event_of(body)
    raw = str(event.payload["raw"])
    assert raw.startswith("\\xffzzz") and raw.endswith("... (10001 bytes in all)")
    assert len(raw) < 4200


def test_an_undelivered_message_becomes_a_recovered_dead_letter_of_the_same_id_keeping_its_text() -> None:
    message = delivery_event(
        b'{"text": "pill", "sender": "bo"}',
        None,
        stream="S",
        instance=I1,
        sequence=2,
        time=T0,
        limits=LIMITS,
        recovered=True,
    )
    letter = undelivered_event(message, deliveries=5, max_deliver=5)
    assert (letter.id, letter.type, letter.time, letter.source) == (message.id, INVALID_INPUT, T0, "nats")
    assert str(letter.payload["reason"]).startswith("undelivered: delivered 5 times (nats.max_deliver = 5)")
    assert letter.payload["raw"] == "pill" and letter.payload["sender"] == "bo" and letter.payload["recovered"] is True
    assert letter.payload["type"] == "user.message"
