"""The ``llm/`` branch of the exception tree: every way an LLM call fails, classified.

::

    LLMError                    retryable   when
    ├── ModelNotFoundError      no          404: the model is not pulled on the server
    ├── BadRequestError         no          400 and other 4xx: the request itself is wrong
    ├── OverloadedError         yes         429, 503 "server busy": try later (``retry_after_s``)
    ├── ServerError             yes         500, 502, 504 and other 5xx
    ├── TransportError          yes         connection refused or reset, DNS, a dropped connection
    │   └── LLMTimeoutError     yes         connect, read, write or pool timeout
    ├── StreamError             yes         an ``{"error": ...}`` line inside a 200 response
    ├── ProtocolError           no          the body is not the JSON the API promises
    └── ReplayMissError         no          a replay has no recorded exchange for this request

The resilience operators decide with ``getattr(exc, "retryable", False)`` and
``getattr(exc, "retry_after_s", None)``; nothing else should parse the messages.

:class:`StreamError` is retryable: the server accepted the request (request errors
come back as 4xx before the stream starts) and then failed while generating, which is
a runner crash, an out-of-memory or a model reload, all transient. A retry
re-subscribes the whole call, so the partial output of the failed try is discarded.

Messages name the backend, the endpoint and what the server said; they never contain
an API key.
"""

from __future__ import annotations

from typing import ClassVar

from streams.errors import BeingError

__all__ = [
    "BadRequestError",
    "LLMError",
    "LLMTimeoutError",
    "ModelNotFoundError",
    "OverloadedError",
    "ProtocolError",
    "ReplayMissError",
    "ServerError",
    "StreamError",
    "TransportError",
]


class LLMError(BeingError):
    """Base of every error an LLM backend raises.

    Attributes:
        retryable: whether trying the same call again may succeed.
        retry_after_s: how long the server asked us to wait, when it said so.
        status: the HTTP status, when there was a response.
        endpoint: ``"<backend> <METHOD> <path>"``, when the error came from a request.
    """

    retryable: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after_s: float | None = None,
        endpoint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retry_after_s = retry_after_s
        self.endpoint = endpoint

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (type(self), self.message, self.status, self.retry_after_s, self.endpoint))


def _rebuild(
    cls: type[LLMError], message: str, status: int | None, retry_after_s: float | None, endpoint: str | None
) -> LLMError:
    return cls(message, status=status, retry_after_s=retry_after_s, endpoint=endpoint)


class ModelNotFoundError(LLMError):
    """The server does not have the model; pulling it is the fix, not retrying."""


class BadRequestError(LLMError):
    """The server refused the request as malformed or unauthorised (4xx)."""


class OverloadedError(LLMError):
    """The server is busy (429, or 503 "maximum pending requests exceeded")."""

    retryable = True


class ServerError(LLMError):
    """The server failed (5xx other than 503)."""

    retryable = True


class TransportError(LLMError):
    """No usable HTTP exchange: refused, reset, unresolvable or dropped mid-response."""

    retryable = True


class LLMTimeoutError(TransportError):
    """A connect, read, write or pool timeout expired."""


class StreamError(LLMError):
    """The server reported an error in the middle of a 200 response."""

    retryable = True


class ProtocolError(LLMError):
    """The response is not what the API promises (not JSON, wrong shape, cut short)."""


class ReplayMissError(LLMError):
    """A replaying backend has no recorded exchange (left) for this request."""
