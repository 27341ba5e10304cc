"""Ways of writing the inbox, against a real `being run`: zero lines lost for every regular-file pattern.

Replies are off here (the default of the test config): what is asserted is that each line written
becomes exactly one stored message, whatever the writer did.
"""

from __future__ import annotations

import errno
import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from tests.e2e.service_process import ServiceProcess, query, write_config
from tests.faults.harness import inbox_files, light_ticks, stop_cleanly, wait_inbox_empty, wait_ticks
from tests.faults.ledger import assert_stored_once, read_ledger, write_lines
from tests.support import wait_until

pytestmark = [pytest.mark.faults, pytest.mark.e2e]

QUIET_S = 0.5  # inbox.quiet_s: a claim is let go of sooner (the writers below pause for a few ticks only)


def _stored(service: ServiceProcess) -> float:
    return service.metric("being_episodes_written_total", 'type="user.message"')


def test_regular_file_writers_lose_no_line(tmp_path: Path, launch) -> None:
    inbox = tmp_path / "inbox.txt"
    service = launch(write_config(tmp_path, inbox={"quiet_s": QUIET_S}))
    lines: list[str] = []

    # 1. `echo >>` per line: a shell opens, appends and closes the file for each line
    echoed = [f"echo line {n}" for n in range(100)]
    script = f'for n in $(seq 0 99); do echo "echo line $n" >> "{inbox}"; done'
    subprocess.run(["sh", "-c", script], check=True, timeout=60)
    lines += echoed

    # 2. one writer holds the file open and writes a line every few light ticks (the inbox is
    #    claimed, renamed, under it: its later lines land in the claimed file)
    with inbox.open("a", encoding="utf-8") as held:
        for n in range(15):
            held.write(f"held open {n}\n")
            held.flush()
            lines.append(f"held open {n}")
            wait_ticks(service, 2)

    # 3. a line written in two parts with a pause of several ticks between them, by a writer that keeps it open
    with inbox.open("a", encoding="utf-8") as halves:
        for n in range(5):
            halves.write(f"split {n} first half, ")
            halves.flush()
            wait_ticks(service, 3)
            halves.write("second half\n")
            halves.flush()
            lines.append(f"split {n} first half, second half")

    wait_until(lambda: _stored(service) >= len(lines), timeout_s=60, what="every line stored")
    wait_inbox_empty(tmp_path)
    assert stop_cleanly(service) == 0
    ledger = read_ledger(tmp_path / "data" / "being.duckdb")
    assert_stored_once(ledger, lines)
    assert len(lines) == 100 + 15 + 5


def test_a_2_mb_backlog_loses_no_line(tmp_path: Path, launch) -> None:
    # written while the service is down: 2,000 lines of 1 KB, twice the default inbox.max_bytes
    lines = [f"backlog {n:05d} " + "x" * 1000 for n in range(2000)]
    write_lines(tmp_path / "inbox.txt", lines, chunks=1)
    assert (tmp_path / "inbox.txt").stat().st_size > 2_000_000
    service = launch(write_config(tmp_path, inbox={"quiet_s": QUIET_S}))
    wait_until(lambda: _stored(service) >= len(lines), timeout_s=90, what="the backlog stored")
    wait_inbox_empty(tmp_path)
    assert stop_cleanly(service) == 0
    database = tmp_path / "data" / "being.duckdb"
    assert_stored_once(read_ledger(database), lines)
    assert query(database, "SELECT count(*) FROM dead_letters") == [(0,)]


def _not_regular(service: ServiceProcess) -> float:
    return service.metric("being_dead_letters_total", 'reason="not_regular",source="inbox"')


def _warnings(service: ServiceProcess) -> int:
    """Warnings of the running service (the start's check warnings apart: they are said once, before it runs)."""
    return sum(
        1 for entry in list(service.logs) if entry.get("level") == "warning" and entry.get("event") != "check.warning"
    )


def _start_warnings(service: ServiceProcess) -> list[str]:
    return [str(e["check"]) for e in list(service.logs) if e.get("event") == "check.warning"]


def test_a_symlink_inbox_is_refused_once_and_its_target_left_alone(tmp_path: Path, launch) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    target = elsewhere / "notes.txt"
    target.write_text("".join(f"through the link {n}\n" for n in range(5)), encoding="utf-8")
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    inbox = tmp_path / "inbox.txt"
    inbox.symlink_to(target)

    service = launch(write_config(tmp_path, inbox={"quiet_s": QUIET_S}))
    wait_until(lambda: _not_regular(service) == 1, timeout_s=30, what="the symlink refused")
    wait_ticks(service, 5)
    assert (_not_regular(service), _warnings(service)) == (1, 1), "refused once, not on every tick"
    assert _start_warnings(service) == ["inbox file"]  # said at start too, and the start went on
    assert inbox.is_symlink(), "the link stays where it was: nothing is renamed or deleted through it"
    inbox.unlink()
    after = [f"regular again {n}" for n in range(5)]
    write_lines(inbox, after, chunks=5)
    wait_until(lambda: _stored(service) >= len(after), timeout_s=30, what="the regular inbox read")
    wait_inbox_empty(tmp_path)
    assert stop_cleanly(service) == 0

    assert hashlib.sha256(target.read_bytes()).hexdigest() == digest, "the link's target was changed"
    database = tmp_path / "data" / "being.duckdb"
    assert_stored_once(read_ledger(database), after)  # nothing was read through the link
    ((reason,),) = query(database, "SELECT reason FROM dead_letters WHERE source = 'inbox'")
    assert reason.startswith("not_regular: inbox.txt is a symbolic link")


def test_a_fifo_at_the_inbox_path_is_refused_and_never_blocks_the_service(tmp_path: Path, launch) -> None:
    inbox = tmp_path / "inbox.txt"
    os.mkfifo(inbox)
    service = launch(write_config(tmp_path, inbox={"quiet_s": QUIET_S}))
    wait_until(lambda: _not_regular(service) == 1, timeout_s=30, what="the FIFO refused")
    before = light_ticks(service)
    wait_ticks(service, 5)  # the ticks go on: nothing waits on the FIFO
    assert light_ticks(service) >= before + 5
    assert service.get("/healthz").status_code == 200
    assert (_not_regular(service), _warnings(service)) == (1, 1), "refused once, not on every tick"
    # nobody holds the FIFO open for reading: a non-blocking open for writing finds no reader
    with pytest.raises(OSError) as caught:
        os.close(os.open(inbox, os.O_WRONLY | os.O_NONBLOCK))
    assert caught.value.errno == errno.ENXIO
    inbox.unlink()
    after = [f"after the fifo {n}" for n in range(5)]
    write_lines(inbox, after, chunks=5)
    wait_until(lambda: _stored(service) >= len(after), timeout_s=30, what="the regular inbox read")
    wait_inbox_empty(tmp_path)
    assert stop_cleanly(service) == 0
    database = tmp_path / "data" / "being.duckdb"
    assert_stored_once(read_ledger(database), after)
    ((reason,),) = query(database, "SELECT reason FROM dead_letters WHERE source = 'inbox'")
    assert reason.startswith("not_regular: inbox.txt is a FIFO")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a mode-000 file: the unreadable claim cannot be made")
def test_an_unreadable_claim_never_blocks_new_messages(tmp_path: Path, launch) -> None:
    inbox = tmp_path / "inbox.txt"
    locked = [f"locked {n}" for n in range(3)]
    write_lines(inbox, locked, chunks=1)
    inbox.chmod(0)  # claimed (renamed) on the first tick, then cannot be opened
    service = launch(write_config(tmp_path, inbox={"quiet_s": QUIET_S}))
    wait_until(lambda: any(p.name != "inbox.txt" for p in inbox_files(tmp_path)), timeout_s=30, what="the claim")
    after = [f"after the locked claim {n}" for n in range(5)]
    write_lines(inbox, after, chunks=5)
    wait_until(lambda: _stored(service) >= len(after), timeout_s=30, what="new messages despite the locked claim")
    assert stop_cleanly(service) == 0
    ledger = read_ledger(tmp_path / "data" / "being.duckdb")
    assert_stored_once(ledger, after)
    # the locked file is set aside whole for a person to look at, with one dead letter
    (kept,) = tmp_path.glob("inbox.txt.*.quarantined")
    kept.chmod(0o600)
    assert kept.read_text(encoding="utf-8").splitlines() == locked
    reasons = query(tmp_path / "data" / "being.duckdb", "SELECT reason FROM dead_letters WHERE source = 'inbox'")
    assert [r.split(":", 1)[0] for (r,) in reasons] == ["unreadable"]
