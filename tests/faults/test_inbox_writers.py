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


@pytest.mark.xfail(
    strict=True,
    reason="an inbox file larger than inbox.max_bytes (1 MiB) is set aside whole as .rejected with one dead letter:"
    " a 2 MB backlog stores none of its messages (streams/_inbox.py, claim_new)",
)
def test_a_2_mb_backlog_loses_no_line(tmp_path: Path, launch) -> None:
    # written while the service is down: 2,000 lines of 1 KB, twice the default inbox.max_bytes
    lines = [f"backlog {n:05d} " + "x" * 1000 for n in range(2000)]
    write_lines(tmp_path / "inbox.txt", lines, chunks=1)
    assert (tmp_path / "inbox.txt").stat().st_size > 2_000_000
    service = launch(write_config(tmp_path, inbox={"quiet_s": QUIET_S}))

    def settled() -> bool:  # all stored, or the file set aside (then the assertions below say what was lost)
        return _stored(service) >= len(lines) or any(tmp_path.glob("inbox.txt.*.rejected"))

    wait_until(settled, timeout_s=90, what="the backlog stored")
    wait_inbox_empty(tmp_path)
    assert stop_cleanly(service) == 0
    database = tmp_path / "data" / "being.duckdb"
    assert_stored_once(read_ledger(database), lines)
    assert query(database, "SELECT count(*) FROM dead_letters") == [(0,)]


def test_a_symlink_inbox_is_never_destroyed_and_never_read_twice(tmp_path: Path, launch) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    target = elsewhere / "notes.txt"
    linked = [f"through the link {n}" for n in range(5)]
    target.write_text("".join(f"{line}\n" for line in linked), encoding="utf-8")
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    inbox = tmp_path / "inbox.txt"
    inbox.symlink_to(target)

    service = launch(write_config(tmp_path, inbox={"quiet_s": QUIET_S}))
    refused = 'source="inbox"'

    def settled() -> bool:  # read through the link, or refused as not a regular file
        return _stored(service) >= len(linked) or service.metric("being_dead_letters_total", refused) > 0

    wait_until(settled, timeout_s=30, what="the symlink inbox read or refused")
    wait_ticks(service, 3)
    if inbox.is_symlink():
        inbox.unlink()  # a refused link stays until something else is put at the path
    after = [f"regular again {n}" for n in range(5)]
    write_lines(inbox, after, chunks=5)
    wait_until(lambda: _stored(service) >= len(after), timeout_s=30, what="the regular inbox read")
    wait_inbox_empty(tmp_path)
    assert stop_cleanly(service) == 0

    assert hashlib.sha256(target.read_bytes()).hexdigest() == digest, "the link's target was changed"
    database = tmp_path / "data" / "being.duckdb"
    ledger = read_ledger(database)
    letters = query(database, "SELECT reason FROM dead_letters WHERE source = 'inbox'")
    if letters:  # refused: one dead letter, and nothing read through the link
        assert [r.split(":", 1)[0] for (r,) in letters] == ["not_regular"]
        assert_stored_once(ledger, after)
    else:  # read through the link: each of its lines once, the target left as it was
        assert_stored_once(ledger, linked + after)


def test_a_fifo_at_the_inbox_path_never_blocks_the_service(tmp_path: Path, launch) -> None:
    inbox = tmp_path / "inbox.txt"
    os.mkfifo(inbox)
    service = launch(write_config(tmp_path, inbox={"quiet_s": QUIET_S}))
    before = light_ticks(service)
    wait_ticks(service, 5)  # the ticks go on: nothing waits on the FIFO
    assert light_ticks(service) >= before + 5
    assert service.get("/healthz").status_code == 200
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
    assert_stored_once(read_ledger(tmp_path / "data" / "being.duckdb"), after)


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
    # the locked file is still on disk, under some name, for a person to look at
    kept = [p for p in inbox_files(tmp_path) if p.name != "inbox.txt"]
    assert len(kept) == 1
    kept[0].chmod(0o600)
    assert kept[0].read_text(encoding="utf-8").splitlines() == locked
