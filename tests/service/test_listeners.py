"""FanOutListener: every report of the ResilienceListener protocol reaches every listener, in order."""

from __future__ import annotations

import inspect
from typing import Any

from operators import RecordingListener, ResilienceListener
from service._listeners import FanOutListener


def _protocol_methods() -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in vars(ResilienceListener).items()
        if callable(member) and not name.startswith("_")
    }


def _dummy(annotation: Any) -> object:
    return {"str": "x", "int": 3, "float": 1.5, "Exception": ValueError("boom")}[str(annotation)]


def test_it_forwards_every_method_of_the_protocol_to_every_listener() -> None:
    first, second = RecordingListener(), RecordingListener()
    fan_out: ResilienceListener = FanOutListener(first, second)
    expected: list[tuple[str, tuple[object, ...]]] = []
    methods = _protocol_methods()
    assert len(methods) >= 19
    for name, signature in methods.items():
        args = tuple(_dummy(p.annotation) for p in list(signature.parameters.values())[1:])
        getattr(fan_out, name)(*args)
        expected.append((name, args))
    assert first.reports == expected
    assert second.reports == expected


def test_it_has_no_method_the_protocol_lacks() -> None:
    own = {name for name in vars(FanOutListener) if not name.startswith("_") and callable(vars(FanOutListener)[name])}
    assert own == set(_protocol_methods())


def test_with_no_listener_it_ignores_reports() -> None:
    FanOutListener().breaker_state("reply", "closed", "open")
