"""The exception tree drawn in streams/errors.py is the tree the code has."""

from __future__ import annotations

import importlib
import re

from service.errors import PortInUseError, ServiceError, StartupError, UsageError
from streams.errors import BeingError

_PACKAGES = ("streams", "operators", "llm", "sinks", "service.errors", "service.settings", "service.replay")


def _drawn() -> dict[str, str]:
    """Each class name in the drawing, with the name of the class it hangs from."""
    parents: dict[str, str] = {}
    stack: list[tuple[int, str]] = []
    doc = importlib.import_module("streams.errors").__doc__ or ""
    for line in doc.splitlines():
        match = re.match(r"^    ((?:[│ ]   )*)[├└]── (\w+)", line)  # the drawing is indented by 4
        if match is None:
            if line.strip() == "BeingError":
                stack = [(-1, "BeingError")]
            continue
        depth = len(match.group(1)) // 4
        while stack and stack[-1][0] >= depth:
            stack.pop()
        parents[match.group(2)] = stack[-1][1]
        stack.append((depth, match.group(2)))
    return parents


def _real() -> dict[str, str]:
    for name in _PACKAGES:
        importlib.import_module(name)
    found: dict[str, str] = {}
    todo = [BeingError]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if sub.__module__.split(".")[0] != "tests":
                found[sub.__name__] = cls.__name__
                todo.append(sub)
    return found


def test_the_drawing_names_every_error_under_its_real_parent() -> None:
    assert _drawn() == _real()


def test_the_service_branch() -> None:
    assert issubclass(PortInUseError, StartupError) and issubclass(StartupError, ServiceError)
    assert issubclass(UsageError, ServiceError) and issubclass(ServiceError, BeingError)
    error = PortInUseError("127.0.0.1", 8766, "Address already in use")
    assert str(error) == "cannot serve HTTP on 127.0.0.1:8766: Address already in use (see http.host and http.port)"
    assert (error.host, error.port, error.reason) == ("127.0.0.1", 8766, "Address already in use")
