"""Make ``examples/recording.jsonl``: run the service against the LLM simulator for a while, then export.

Run from the repository root with the project installed (``make run`` or ``make test`` creates
``.venv``)::

    .venv/bin/python examples/record_example.py

It starts ``being simulate-llm`` and ``being run`` on free loopback ports in a temporary folder,
writes a short conversation into the inbox over about half a minute (including an urgent
message and a line that is not UTF-8), stops the service with SIGTERM and exports the recording.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BEING = [str(Path(sys.executable).parent / "being")]
OUT = Path(__file__).resolve().parent / "recording.jsonl"
CONVERSATION: list[tuple[float, bytes]] = [
    (2.0, b"Hello! Who are you?\n"),
    (4.0, "Привет! Расскажи о своих возможностях\n".encode()),
    (3.0, b"!URGENT the backup disk is almost full\n"),
    (5.0, b"this line is not UTF-8: \xff\xfe\n"),
    (4.0, b"What did I ask you first?\n"),
    (6.0, b"Hello! Who are you?\n"),
    (4.0, b"Thank you, good night.\n"),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, deadline_s: float = 30.0) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"nothing listens on port {port}")


def main() -> int:
    folder = Path(tempfile.mkdtemp(prefix="being-example-"))
    llm_port, http_port = free_port(), free_port()
    config = folder / "config.toml"
    config.write_text(
        "\n".join(
            [
                "[storage]",
                'database_path = "being.duckdb"',
                "[inbox]",
                'path = "inbox.txt"',
                "[http]",
                f"port = {http_port}",
                "[ticks]",
                "light_interval_s = 1.0",
                "heavy_interval_s = 10.0",
                "[llm]",
                f'base_url = "http://127.0.0.1:{llm_port}"',
            ]
        )
        + "\n"
    )
    simulator = subprocess.Popen([*BEING, "simulate-llm", "--port", str(llm_port), "--latency-ms", "200"])
    service = None
    try:
        wait_for_port(llm_port)
        # Relative paths, from inside the folder: the recording's header shows no machine's folders.
        service = subprocess.Popen([*BEING, "run", "--config", "config.toml"], cwd=folder, stderr=subprocess.DEVNULL)
        wait_for_port(http_port)
        for pause, line in CONVERSATION:
            time.sleep(pause)
            with (folder / "inbox.txt").open("ab") as inbox:
                inbox.write(line)
        time.sleep(5.0)
        service.send_signal(signal.SIGTERM)
        if service.wait(timeout=60) != 0:
            raise SystemExit("the service did not stop cleanly")
    finally:
        if service is not None and service.poll() is None:
            service.kill()
        simulator.send_signal(signal.SIGTERM)
        simulator.wait(timeout=30)
    return subprocess.call([*BEING, "record", "export", "--config", "config.toml", "--force", str(OUT)], cwd=folder)


if __name__ == "__main__":
    sys.exit(main())
