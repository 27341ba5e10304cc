"""What the simulator does wrong, and how often: a fault plan set per run, or a fault per request."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field

from llm.simulator._off_schema import OFF_SCHEMA, OFF_SCHEMA_KINDS

__all__ = ["FAULTS", "FaultPlan", "check_fault", "is_off_schema"]

# Faults a request can be given (by the plan's rates, `Simulator.inject`, or the X-Simulator-Fault header):
#   status:NNN     answer NNN with Ollama's {"error": ...} body (429 carries Retry-After)
#   unknown-model  404 "model ... not found, try pulling it first"
#   stream-error   a streamed reply stops with an {"error": ...} line under status 200 (500 when not streaming)
#   malformed      a 200 whose body (or one stream line) is not JSON
#   drop           the connection is closed without a response (mid-body when streaming)
#   hang           no answer until the client gives up (after the first chunk when streaming)
#   off-schema     an answer to a request with a JSON schema that breaks it: not JSON, cut, or valid JSON
#                  that fails the schema (off-schema:KIND asks for one kind; see _off_schema.py). Drawn by
#                  the plan only for requests that carry a schema; one injected waits for such a request.
FAULTS = ("unknown-model", "stream-error", "malformed", "drop", "hang", OFF_SCHEMA)


def check_fault(fault: str) -> str:
    """``fault`` if it names a known fault, else ``ValueError`` saying what is known."""
    if fault in FAULTS:
        return fault
    if fault.startswith(OFF_SCHEMA + ":") and fault.removeprefix(OFF_SCHEMA + ":") in OFF_SCHEMA_KINDS:
        return fault
    if fault.startswith("status:"):
        code = fault.removeprefix("status:")
        if code.isdigit() and 400 <= int(code) <= 599:
            return fault
    raise ValueError(
        f"unknown simulator fault {fault!r}: expected status:400..599, one of {', '.join(FAULTS)}, "
        f"or {OFF_SCHEMA}:KIND with KIND one of {', '.join(OFF_SCHEMA_KINDS)}"
    )


def is_off_schema(fault: str | None) -> bool:
    """Whether ``fault`` breaks a schema answer (rather than the exchange)."""
    return fault is not None and (fault == OFF_SCHEMA or fault.startswith(OFF_SCHEMA + ":"))


@dataclass(frozen=True, slots=True, kw_only=True)
class FaultPlan:
    """How the simulator behaves for a whole run.

    Args:
        latency_ms: added before every answer (then ``jitter`` on top).
        latency_jitter_ms: spread of the extra latency; 0 for none.
        latency_distribution: "uniform" (0..jitter) or "exponential" (mean jitter).
        error_rates: status → probability that a request gets that status.
        fault_rates: fault name (see ``FAULTS``, and ``off-schema:KIND``) → probability; an ``off-schema``
            rate is the share of the requests with a schema that get a broken answer.
        max_in_flight: more requests than this at once get 503 "server busy"; 0 for no limit
            (Ollama's ``OLLAMA_NUM_PARALLEL`` + ``OLLAMA_MAX_QUEUE``).
        retry_after_s: the Retry-After sent with 429.
        models: the models the server has ("name" means "name:latest"); empty accepts any.
        embed_dim: length of the embedding vectors.
        legacy_embed: behave like an Ollama older than /api/embed (404 there, /api/embeddings works).
        seed: seeds the random choices of latency and faults.
    """

    latency_ms: float = 0.0
    latency_jitter_ms: float = 0.0
    latency_distribution: str = "uniform"
    error_rates: Mapping[int, float] = field(default_factory=dict)
    fault_rates: Mapping[str, float] = field(default_factory=dict)
    max_in_flight: int = 0
    retry_after_s: float = 1.0
    models: tuple[str, ...] = ("llama3.2:latest", "nomic-embed-text:latest")
    embed_dim: int = 768
    legacy_embed: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        if self.latency_ms < 0 or self.latency_jitter_ms < 0:
            raise ValueError(f"FaultPlan latency: expected >= 0 ms, got {self.latency_ms}, {self.latency_jitter_ms}")
        if self.latency_distribution not in ("uniform", "exponential"):
            raise ValueError(
                f"FaultPlan.latency_distribution: expected uniform or exponential, got {self.latency_distribution!r}"
            )
        for status in self.error_rates:
            check_fault(f"status:{status}")
        for fault in self.fault_rates:
            if fault not in FAULTS and not is_off_schema(fault):
                raise ValueError(f"FaultPlan.fault_rates: unknown fault {fault!r}; expected one of {', '.join(FAULTS)}")
            check_fault(fault)
        rates = [*self.error_rates.values(), *self.fault_rates.values()]
        if any(not 0.0 <= r <= 1.0 for r in rates) or sum(rates) > 1.0 + 1e-9:
            raise ValueError(f"FaultPlan rates: expected each in 0..1 and a sum <= 1, got {rates}")
        if self.max_in_flight < 0:
            raise ValueError(f"FaultPlan.max_in_flight: expected >= 0, got {self.max_in_flight}")
        if self.embed_dim < 8:
            raise ValueError(f"FaultPlan.embed_dim: expected >= 8, got {self.embed_dim}")
        if self.retry_after_s < 0:
            raise ValueError(f"FaultPlan.retry_after_s: expected >= 0, got {self.retry_after_s}")

    def pick_fault(self, rng: random.Random, *, schema: bool = False) -> str | None:
        """A fault drawn by the rates, or ``None`` for a normal answer.

        Args:
            rng: the draws.
            schema: whether the request carries a JSON schema (only then can ``off-schema`` be drawn).
        """
        faults = [(f, r) for f, r in self.fault_rates.items() if schema or not is_off_schema(f)]
        if not self.error_rates and not faults:
            return None
        draw = rng.random()
        for name, rate in [*((f"status:{s}", r) for s, r in self.error_rates.items()), *faults]:
            if draw < rate:
                return name
            draw -= rate
        return None

    def latency_s(self, rng: random.Random) -> float:
        """The delay before one answer, in seconds."""
        extra = 0.0
        if self.latency_jitter_ms > 0:
            if self.latency_distribution == "uniform":
                extra = rng.uniform(0.0, self.latency_jitter_ms)
            else:
                extra = rng.expovariate(1.0 / self.latency_jitter_ms)
        return (self.latency_ms + extra) / 1000.0

    def has_model(self, name: str) -> bool:
        if not self.models:
            return True
        return full_name(name) in {full_name(m) for m in self.models}


def full_name(model: str) -> str:
    """Ollama's naming: a model without a tag is ``:latest``."""
    return model if ":" in model.rsplit("/", 1)[-1] else model + ":latest"
