"""README's "Messages over NATS": the publish command, as written, gets a message answered, acknowledged, and its
answer read back from the out stream as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.nats_client import ack_floor, consumer
from tests.e2e.service_process import ServiceProcess, SimulatorThread, being_command, write_config
from tests.nats_server import NatsServer, nats_binary
from tests.support import REPO, wait_until

pytestmark = pytest.mark.e2e


def block() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    after = text[text.index("## Messages over NATS") :]
    found: str = re.findall(r"```sh\n(.*?)```", after, flags=re.S)[0]
    return found


def test_the_readme_publish_command_works_as_written(tmp_path: Path) -> None:
    commands = block()
    assert "nats-server -js" in commands and "BEING_NATS_ENABLED=true make run" in commands
    programs = re.findall(r"\.venv/bin/python -c '(.*?)'", commands, flags=re.S)
    assert len(programs) == 2  # publish, then read the answer on the out stream
    publisher, reader = programs
    (tmp_path / "nats").mkdir()
    server = NatsServer(nats_binary(), tmp_path / "nats")
    simulator = SimulatorThread()
    try:
        config = write_config(tmp_path, reply={"enabled": True}, llm={"base_url": simulator.base_url})
        config.write_text(config.read_text() + f'[nats]\nenabled = true\nurl = "{server.url}"\n', encoding="utf-8")
        service = ServiceProcess(config)
        try:
            code = publisher.replace("nats://127.0.0.1:4222", server.url)
            published = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
            assert "stream='BEING_BEING_IN', seq=1" in published.stdout
            wait_until(lambda: ack_floor(consumer(server.url)) == 1, timeout_s=30, what="the message acknowledged")
            replies = subprocess.run(
                [*being_command(), "episodes", "--type", "user.reply", "--config", str(config)],
                capture_output=True,
                text=True,
                check=True,
            )
            assert "user.reply" in replies.stdout
            read = reader.replace("nats://127.0.0.1:4222", server.url)
            answer = subprocess.run([sys.executable, "-c", read], capture_output=True, text=True, check=True)
            assert "'Being-Type': 'user.reply'" in answer.stdout and "Being-In-Reply-To" in answer.stdout
            service.signal()
            assert service.wait() == 0, "".join(service.raw_stderr[-20:])
        finally:
            service.stop()
    finally:
        simulator.stop()
        server.stop()
