"""The startup checks, in one place: ``being check`` runs them all, ``being run`` the critical ones first.

One module per group (files and disk, database, process, remote servers); each check is a
:class:`Check` with a name, a severity and a function that returns the line saying what it
looked at. The list and what each check means: docs/operations.md.
"""

from service.checks._access import ACCESS_CHECKS
from service.checks._check import Check, CheckFailed, CheckResult, Probe, Severity, run_checks
from service.checks._database import DATABASE_CHECKS
from service.checks._files import FILE_CHECKS
from service.checks._mind import MIND_CHECKS
from service.checks._nats import NATS_CHECKS
from service.checks._process import PROCESS_CHECKS
from service.checks._remote import REMOTE_CHECKS
from service.checks._shared_limits import SHARED_LIMITS_CHECKS

__all__ = ["CHECKS", "Check", "CheckFailed", "CheckResult", "Probe", "Severity", "check_named", "run_checks"]

CHECKS: tuple[Check, ...] = (
    *FILE_CHECKS,
    *MIND_CHECKS,
    *DATABASE_CHECKS,
    *PROCESS_CHECKS,
    *ACCESS_CHECKS,
    *REMOTE_CHECKS,
    *SHARED_LIMITS_CHECKS,
    *NATS_CHECKS,
)
"""Every check, in the order they run and are shown."""


def check_named(name: str) -> Check:
    """The check called ``name`` (``KeyError`` when there is none)."""
    for check in CHECKS:
        if check.name == name:
            return check
    raise KeyError(name)
