"""README's "talk to it": the inbox lines, ``being outbox --follow`` and the ``curl`` to ``/messages``, as written."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.e2e.service_process import ServiceProcess, SimulatorThread, being_command, write_config
from tests.support import REPO, wait_until

pytestmark = pytest.mark.e2e


def blocks() -> list[list[str]]:
    """The README's first two ``sh`` blocks after "Talk to it", as commands (continued lines joined)."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    after = text[text.index("Talk to it") :]
    found = re.findall(r"```sh\n(.*?)```", after, flags=re.S)[:2]
    return [[line for line in block.replace("\\\n", " ").splitlines() if not line.startswith("#")] for block in found]


def test_the_readme_ways_to_talk_work_as_written(tmp_path: Path) -> None:
    inbox_block, http_block = blocks()
    simulator = SimulatorThread()
    try:
        config = write_config(tmp_path, reply={"enabled": True}, llm={"base_url": simulator.base_url})
        service = ServiceProcess(config)
        try:
            follower = subprocess.Popen(
                [*being_command(), "outbox", "--follow", "--config", str(config)], stdout=subprocess.PIPE, text=True
            )
            try:
                for line in inbox_block:
                    if line.startswith("echo"):
                        subprocess.run(["bash", "-c", line.split("#")[0]], cwd=tmp_path, check=True)
                assert ".venv/bin/being outbox --follow" in " ".join(inbox_block)
                assert follower.stdout is not None
                answers = [json.loads(follower.stdout.readline()) for _ in range(2)]
            finally:
                follower.terminate()
                follower.wait(timeout=10)
            assert {a["message"] for a in answers} == {"Hello, who are you?", "the disk is full"}
            assert all(a["type"] == "user.reply" and a["text"] for a in answers)

            post, get = (line.replace("localhost:8766", f"localhost:{service.port}") for line in http_block)
            accepted = json.loads(
                subprocess.run(["bash", "-c", post], capture_output=True, text=True, check=True).stdout
            )
            assert accepted["state"] == "queued"
            again = json.loads(subprocess.run(["bash", "-c", post], capture_output=True, text=True, check=True).stdout)
            assert again["id"] == accepted["id"] and again["duplicate"] is True
            asked = get.replace("4c0b...", accepted["id"])
            answer = json.loads(
                subprocess.run(["bash", "-c", asked], capture_output=True, text=True, check=True).stdout
            )
            assert answer["state"] == "answered" and answer["text"] == "Hello over HTTP" and answer["reply"]["text"]
            wait_until(lambda: len((tmp_path / "outbox.jsonl").read_text().splitlines()) == 3, what="the third reply")
            service.signal()
            assert service.wait() == 0
        finally:
            service.stop()
    finally:
        simulator.stop()
