"""What a startup check is: a name, a severity and a small function that says what it looked at.

A check function takes the :class:`Probe` (the settings, the environment, and what several checks
share, found once) and returns one line naming what it looked at; it fails by raising
:class:`CheckFailed` (or an ``OSError`` or a project error), whose message is the line shown.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from service.settings import Settings
from streams.errors import BeingError

__all__ = ["Check", "CheckFailed", "CheckResult", "Probe", "Severity", "run_checks"]


class Severity(StrEnum):
    """How much a failure matters.

    ``critical``: it stops ``being run`` before anything is written. ``warning``: reported; the start goes on.
    """

    CRITICAL = "critical"
    WARNING = "warning"


class CheckFailed(Exception):
    """A check's failure; the message is the one line shown for it."""


@dataclass(slots=True, kw_only=True)
class Probe:
    """What the checks look at, and what several of them share (found on first use, then kept).

    Args:
        settings: the loaded settings.
        config: the config file they came from (``None``: the embedded defaults).
        env: the environment the service runs with.
        proc: where the kernel's process files are (``/proc``); a seam for tests.
        cgroup: where the cgroup file system is mounted (``/sys/fs/cgroup``); a seam for tests.
    """

    settings: Settings
    config: Path | None = None
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    proc: Path = Path("/proc")
    cgroup: Path = Path("/sys/fs/cgroup")
    _found: dict[str, Any] = field(default_factory=dict, init=False, repr=False)

    def once(self, key: str, find: Callable[[], Any]) -> Any:
        """``find()`` the first time ``key`` is asked for, the same value (or exception) afterwards."""
        if key not in self._found:
            try:
                self._found[key] = (True, find())
            except Exception as exc:  # noqa: BLE001 - kept and raised again to each check that asks
                self._found[key] = (False, exc)
        ok, value = self._found[key]
        if not ok:
            raise value
        return value


@dataclass(frozen=True, slots=True, kw_only=True)
class Check:
    """One startup check.

    Args:
        name: what it is called in ``being check`` (``"http port"``).
        severity: whether a failure stops the start.
        run: looks and returns one line, or raises :class:`CheckFailed`.
    """

    name: str
    severity: Severity
    run: Callable[[Probe], str]

    def __post_init__(self) -> None:
        if not self.name or self.name != self.name.strip():
            raise ValueError(f"Check.name: expected a non-empty name without outer spaces, got {self.name!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckResult:
    """A check's outcome: whether it passed and the line saying what it looked at."""

    name: str
    severity: Severity
    ok: bool
    detail: str

    @property
    def mark(self) -> str:
        """``ok``, ``FAIL`` (a critical failure) or ``WARN`` (a warning's failure)."""
        if self.ok:
            return "ok"
        return "FAIL" if self.severity is Severity.CRITICAL else "WARN"

    def line(self) -> str:
        return f"{self.mark:<5} {self.name}: {self.detail}"

    def as_json(self) -> dict[str, object]:
        return {"name": self.name, "severity": self.severity.value, "ok": self.ok, "detail": self.detail}


def _one_line(text: str) -> str:
    return " ".join(text.split()) or "failed without a message"


def run_checks(probe: Probe, checks: Sequence[Check], *, only: Severity | None = None) -> list[CheckResult]:
    """Run ``checks`` in order (only those of severity ``only``, when given); one result each.

    A check that raises anything is a failed result naming the error: one broken check never
    hides the others.
    """
    results: list[CheckResult] = []
    for check in checks:
        if only is not None and check.severity is not only:
            continue
        try:
            detail, ok = check.run(probe), True
        except CheckFailed as exc:
            detail, ok = str(exc), False
        except (OSError, BeingError) as exc:  # meant for a person as they are
            detail, ok = str(exc), False
        except Exception as exc:  # noqa: BLE001 - a bug in the check: shown with its type, never hidden
            detail, ok = f"{type(exc).__name__}: {exc}", False
        results.append(CheckResult(name=check.name, severity=check.severity, ok=ok, detail=_one_line(detail)))
    return results
