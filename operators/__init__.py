"""Pure stream operators: resilience around one call, and the priority lane that runs calls.

Each resilience operator is ``Callable[[Observable[T]], Observable[T]]`` applied to the
cold observable of one call; the state it shares across calls (a breaker, a bucket, a
budget, a cache) is a small object passed in. Time comes from the scheduler the stream
is subscribed with. See ``docs/operators.md``.
"""

from operators._budget import budget
from operators._budget_state import BudgetPolicy, CallBudget
from operators._bulkhead import bulkhead
from operators._bulkhead_state import Bulkhead, BulkheadPolicy
from operators._cache import cache
from operators._cache_first import cache_first
from operators._cache_key import canonical_key
from operators._cache_state import CachePolicy, ResponseCache
from operators._catch_fallback import LastGood, catch_fallback
from operators._circuit_breaker import circuit_breaker
from operators._circuit_breaker_state import BreakerPolicy, BreakerState, CircuitBreaker
from operators._clock import now_s
from operators._deadline import deadline
from operators._fallback import DeadLetter, Fallback, FallbackPolicy, FallbackRule, reason_of
from operators._listener import NULL_LISTENER, NullListener, RecordingListener, ResilienceListener
from operators._loop_share import loop_share
from operators._predicates import is_rejection, is_transient, retry_after_of
from operators._priority_merge import priority_merge
from operators._rate_limit import rate_limit
from operators._rate_limit_state import RateLimitPolicy, TokenBucket
from operators._refund_tokens import refund_tokens
from operators._retry import RetryPolicy, retry
from operators._retry_budget import RetryBudget, RetryBudgetPolicy
from operators._shared_limits import CallGrant, LimitStore, SharedLimits, SharedLimitsPolicy, TokenGrant
from operators._shared_store import Enter, SharedStore
from operators._timeout import timeout
from operators.errors import (
    BudgetExceededError,
    BulkheadFullError,
    CacheStoreError,
    CallTimeoutError,
    CircuitOpenError,
    DeadlineExceededError,
    LimitStoreError,
    OperatorError,
    PolicyError,
    RateLimitedError,
    RetryExhaustedError,
)
from streams import lazy

__all__ = [
    "NULL_LISTENER",
    "BreakerPolicy",
    "BreakerState",
    "BudgetExceededError",
    "BudgetPolicy",
    "Bulkhead",
    "BulkheadFullError",
    "BulkheadPolicy",
    "CachePolicy",
    "CacheStoreError",
    "CallBudget",
    "CallGrant",
    "CallTimeoutError",
    "CircuitBreaker",
    "CircuitOpenError",
    "DeadLetter",
    "DeadlineExceededError",
    "Enter",
    "Fallback",
    "FallbackPolicy",
    "FallbackRule",
    "LastGood",
    "LimitStore",
    "LimitStoreError",
    "NullListener",
    "OperatorError",
    "PolicyError",
    "RateLimitPolicy",
    "RateLimitedError",
    "RecordingListener",
    "ResilienceListener",
    "ResponseCache",
    "RetryBudget",
    "RetryBudgetPolicy",
    "RetryExhaustedError",
    "RetryPolicy",
    "SharedLimits",
    "SharedLimitsPolicy",
    "SharedStore",
    "TokenBucket",
    "TokenGrant",
    "budget",
    "bulkhead",
    "cache",
    "cache_first",
    "canonical_key",
    "catch_fallback",
    "circuit_breaker",
    "deadline",
    "is_rejection",
    "is_transient",
    "lazy",
    "loop_share",
    "now_s",
    "priority_merge",
    "rate_limit",
    "reason_of",
    "refund_tokens",
    "retry",
    "retry_after_of",
    "timeout",
]
