"""Running startup checks for real: in a folder others can enter, and as a user without root's bypass."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from service.checks import CheckResult, Probe, Severity, check_named, run_checks
from service.settings import Settings

__all__ = ["NOBODY", "as_unprivileged", "open_folder", "result_of"]

NOBODY = 65534


def result_of(name: str, settings: Settings, **probe: object) -> CheckResult:
    """Run the one check called ``name``."""
    [result] = run_checks(Probe(settings=settings, env={}, **probe), (check_named(name),))  # type: ignore[arg-type]
    return result


@contextmanager
def open_folder() -> Iterator[Path]:
    """A fresh folder under the system's temporary folder that every user may enter (pytest's are 0700)."""
    folder = Path(tempfile.mkdtemp(prefix="being-checks-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder)


def as_unprivileged(run: Callable[[], CheckResult]) -> CheckResult:
    """``run()`` where permission bits count: in a child that dropped to ``nobody`` when this process is root
    (root writes anywhere), else here."""
    if os.getuid() != 0:
        return run()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop root, run the check, send the result, leave without cleanup
        code = 1
        try:
            os.close(read)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            result = run()
            os.write(write, json.dumps(result.as_json()).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the unprivileged check did not finish"
    body = json.loads(data)
    return CheckResult(name=body["name"], severity=Severity(body["severity"]), ok=body["ok"], detail=body["detail"])
