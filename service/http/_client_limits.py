"""Per-client allowances: requests per client over a sliding window, ingest and reads apart.

Each (client, kind) pair keeps one number, its *theoretical arrival time* (the generic cell rate
algorithm, GCRA): an allowance of ``N`` requests per ``window_s`` spaces requests
``window_s / N`` apart and tolerates a burst of ``N``. A request is refused when it would put
the pair more than a window ahead of now, and the refusal says exactly when the next one is
allowed (``Retry-After``). Memory is one float per remembered pair, at most ``max_clients``
pairs; the one idle longest is forgotten first (forgetting only ever lets a client in sooner).

Time comes from the clock passed in (the event loop's in the service, a counter in tests).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from service.settings import ClientLimitSettings

__all__ = ["KINDS", "ClientLimitPolicy", "ClientLimiter", "Kind"]

Kind = Literal["reads", "ingest"]
KINDS: tuple[Kind, ...] = ("reads", "ingest")


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientLimitPolicy:
    """How much each client may ask.

    Attributes:
        window_s: the sliding window the allowances count over.
        reads: requests per window to every route but ``POST /messages``.
        ingest: ``POST /messages`` per window.
        max_clients: (client, kind) pairs remembered at most.
        client: ``address`` (the peer address) or ``token`` (every holder of the token together).
        max_event_clients: ``GET /events`` streams open at once.
    """

    window_s: float = 60.0
    reads: int = 600
    ingest: int = 60
    max_clients: int = 10_000
    client: Literal["address", "token"] = "address"
    max_event_clients: int = 16

    def __post_init__(self) -> None:
        if not self.window_s > 0:
            raise ValueError(f"ClientLimitPolicy.window_s: expected a number > 0, got {self.window_s!r}")
        for name in ("reads", "ingest", "max_clients", "max_event_clients"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"ClientLimitPolicy.{name}: expected an integer >= 1, got {value!r}")
        if self.client not in ("address", "token"):
            raise ValueError(f"ClientLimitPolicy.client: expected 'address' or 'token', got {self.client!r}")

    @classmethod
    def from_settings(cls, limits: ClientLimitSettings) -> ClientLimitPolicy:
        """The policy of ``[http.limits]``."""
        client: Literal["address", "token"] = "token" if limits.client == "token" else "address"
        return cls(
            window_s=limits.window_s,
            reads=limits.reads_per_window,
            ingest=limits.ingest_per_window,
            max_clients=limits.max_clients,
            client=client,
            max_event_clients=limits.max_event_clients,
        )

    def allowance(self, kind: Kind) -> int:
        """Requests of ``kind`` per window."""
        return self.ingest if kind == "ingest" else self.reads


class ClientLimiter:
    """The allowances of every remembered client; used on the event loop only.

    Args:
        policy: the allowances.
        clock: seconds, monotonic (the event loop's ``time``).
    """

    __slots__ = ("_arrivals", "_clock", "_policy", "forgotten")

    def __init__(self, policy: ClientLimitPolicy, clock: Callable[[], float]) -> None:
        self._policy = policy
        self._clock = clock
        self._arrivals: OrderedDict[tuple[str, Kind], float] = OrderedDict()
        self.forgotten = 0

    @property
    def policy(self) -> ClientLimitPolicy:
        return self._policy

    @property
    def clients(self) -> int:
        """(client, kind) pairs remembered now."""
        return len(self._arrivals)

    def admit(self, client: str, kind: Kind) -> float | None:
        """Count one request of ``client``; ``None`` when allowed, else the seconds until it would be."""
        now = self._clock()
        window = self._policy.window_s
        spacing = window / self._policy.allowance(kind)
        key = (client, kind)
        arrival = max(self._arrivals.get(key, now), now)
        ahead = arrival + spacing - now
        if ahead - window > window * 1e-9:  # a whole window's allowance fits, float rounding or not
            self._arrivals.move_to_end(key)
            return ahead - window
        self._arrivals[key] = arrival + spacing
        self._arrivals.move_to_end(key)
        while len(self._arrivals) > self._policy.max_clients:
            self._arrivals.popitem(last=False)
            self.forgotten += 1
        return None
