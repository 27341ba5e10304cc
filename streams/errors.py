"""The root of the project's exception tree.

Every error the service raises on purpose derives from :class:`BeingError`, so a
caller can tell "ours, with a message meant for a person" from a bug::

    BeingError
    ├── DecodeError                      streams/   a recorded or ingested line is not an event
    ├── JetStreamError                   streams/   the JetStream source cannot fetch (not a passing outage)
    ├── SettingsError                    service/   config.toml or BEING_* is wrong, or two paths collide  (exit 2)
    ├── ServiceError                     service/   the service cannot start, or a command failed          (exit 1)
    │   ├── StartupError                            something needed at start is missing or taken
    │   │   ├── PortInUseError                      the HTTP port cannot be bound
    │   │   └── NatsUnavailableError                [nats] is on and NATS cannot be reached or set up
    │   ├── NoDatabaseError                         a command reads a database the service has not made
    │   ├── ServiceAnswerError                      the running service answered a command with an error
    │   ├── ReplayClockError                        a recording's time the replay's clock cannot hold
    │   └── UsageError                              a command was given what it cannot use                 (exit 2)
    ├── OperatorError                    operators/ a resilience operator refused or gave up
    │   ├── CallTimeoutError
    │   │   └── DeadlineExceededError               the whole request (every try and wait) took too long
    │   ├── CircuitOpenError
    │   ├── RateLimitedError
    │   ├── BudgetExceededError
    │   ├── BulkheadFullError
    │   ├── RetryExhaustedError
    │   ├── CacheStoreError                         the cache's shared store (never down a call's stream)
    │   └── LimitStoreError                         the shared limits' store (never down a call's stream)
    ├── LLMError                         llm/       the LLM server failed, classified (retryable?)
    │   ├── ModelNotFoundError                      404, the model is not pulled      no
    │   ├── BadRequestError                         400 and other 4xx                 no
    │   ├── OverloadedError                         429, 503 server busy              yes (retry_after_s)
    │   ├── ServerError                             500, 502, 504                     yes
    │   ├── TransportError                          refused, reset, DNS, dropped      yes
    │   │   └── LLMTimeoutError                     connect/read/write/pool timeout   yes
    │   ├── StreamError                             {"error"} line in a 200 stream    yes
    │   ├── ProtocolError                           not the JSON the API promises     no
    │   └── ReplayMissError                         nothing recorded for a request    no
    └── SinkError                        sinks/     the database or a file refused
        ├── SinkClosedError                         a write after the writer closed
        ├── DatabaseBusyError                       the file is held by another process
        ├── DatabaseInvalidatedError                DuckDB invalidated the open database (fatal error)
        ├── ArchiveError                            archival could not finish (a rerun will)
        ├── LegacyImportError                       the predecessor's files cannot be read
        ├── RecordingError                          a file is not a recording in any format
        ├── SeedError                               a recorded memory seed that does not hold together
        └── OutStreamError                          the JetStream out stream did not take a publish (retried)

Each package defines its own branch in its ``errors`` module and translates foreign
exceptions at its boundary with ``raise X(...) from exc``. The exit codes are the ``being``
command line's (``service/cli.py``): one line on stderr, then the code.
"""

from __future__ import annotations

__all__ = ["BeingError", "JetStreamError"]


class BeingError(Exception):
    """Base of every error the project raises on purpose."""


class JetStreamError(BeingError):
    """The JetStream source cannot go on: a fetch failed with more than a passing outage (its consumer is gone...)."""
