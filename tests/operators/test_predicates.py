"""Which errors are the operators' own rejections, which are worth another try, and the wait a server asked for."""

from __future__ import annotations

import pytest

from operators import errors, is_rejection, is_transient, retry_after_of
from operators._predicates import never

REJECTIONS = [
    errors.CircuitOpenError("llm", "open", 1.0),
    errors.BudgetExceededError("llm", 3, None),
    errors.RateLimitedError("llm", 1.0, 2.0, 0.0),
    errors.BulkheadFullError("llm", 1, 0),
]


class Flagged(Exception):
    """An error that says itself whether it is worth another try (as the LLM client's errors do)."""

    def __init__(self, retryable: object) -> None:
        super().__init__("flagged")
        self.retryable = retryable


class Asked(Exception):
    """An error carrying the wait a server asked for."""

    def __init__(self, retry_after_s: object) -> None:
        super().__init__("asked")
        self.retry_after_s = retry_after_s


@pytest.mark.parametrize("error", REJECTIONS)
def test_the_operators_refusals_are_rejections_and_never_transient(error: Exception) -> None:
    assert is_rejection(error) and not is_transient(error)


@pytest.mark.parametrize(
    "error",
    [errors.CallTimeoutError("llm", 1.0), errors.DeadlineExceededError("llm", 1.0), ConnectionError(), ValueError()],
)
def test_failures_of_the_call_itself_are_not_rejections(error: Exception) -> None:
    assert not is_rejection(error)


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (Flagged(True), True),
        (Flagged(1), False),  # only a real True says so
        (Flagged(False), False),
        (errors.CallTimeoutError("llm", 1.0), True),
        (errors.DeadlineExceededError("llm", 1.0), False),  # a errors.CallTimeoutError, but the request's time is spent
        (TimeoutError(), True),
        (ConnectionRefusedError(), True),
        (ValueError("bad prompt"), False),
    ],
)
def test_what_is_worth_another_try(error: Exception, transient: bool) -> None:
    assert is_transient(error) is transient


@pytest.mark.parametrize(
    ("asked", "wait"),
    [(2, 2.0), (0.5, 0.5), (0, 0.0), (-1, None), (True, None), ("10", None), (None, None)],
)
def test_the_wait_a_server_asked_for_is_a_number_of_seconds_or_none(asked: object, wait: float | None) -> None:
    got = retry_after_of(Asked(asked))
    assert got == wait and (got is None or type(got) is float)
    assert retry_after_of(ValueError()) is None


def test_never_is_false_for_any_error() -> None:
    assert [never(e) for e in [*REJECTIONS, ValueError()]] == [False] * 5
