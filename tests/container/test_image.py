"""The image, run by a real engine: health, the pinned user, an inbox line stored, a stop mid-call, the volume."""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from tests.container.conftest import FIGURES, SKIP, Simulator, wait_healthy
from tests.container.engine import Engine
from tests.support import wait_until

pytestmark = SKIP
UID_GID = "10001"


def name(what: str) -> str:
    return f"being-test-{what}-{uuid.uuid4().hex[:8]}"


def start(engine: Engine, image: str, volume: str, *extra: str) -> tuple[str, int]:
    """``being run`` in a new container on ``volume``, its port published on loopback; (id, host port)."""
    container = engine.container("-p", "127.0.0.1::8766", "-v", f"{volume}:/data", *extra, image)
    published = engine.run("port", container, "8766/tcp").stdout.split()[0]
    return container, int(published.rsplit(":", 1)[1])


def episodes(engine: Engine, *where: str, kind: str) -> list[dict[str, Any]]:
    """``episodes --json --type KIND`` after ``where`` (``exec ID being`` or ``run --rm -v VOL:/data IMAGE``)."""
    done = engine.run(*where, "episodes", "--json", "--type", kind)
    rows: list[dict[str, Any]] = json.loads(done.stdout)["episodes"]
    return rows


def say(engine: Engine, container: str, text: str) -> None:
    engine.run("exec", container, "sh", "-c", f"echo '{text}' >> /data/inbox.txt")


def stored(engine: Engine, container: str, text: str) -> bool:
    return any(text in row["description"] for row in episodes(engine, "exec", container, "being", kind="user.message"))


def test_healthz_answers_and_the_engine_calls_it_healthy(engine: Engine, image: str) -> None:
    container, port = start(engine, image, engine.volume(name("health")))
    started = time.monotonic()
    wait_until(lambda: _healthz(port) == 200, timeout_s=60, what="/healthz 200 on the published port")
    FIGURES["start to /healthz 200"] = f"{time.monotonic() - started:.1f} s"
    FIGURES["start to healthy (engine's HEALTHCHECK)"] = f"{wait_healthy(engine, container):.1f} s after /healthz"
    logs = engine.run("logs", container)
    lines = [line for line in (logs.stdout + logs.stderr).splitlines() if line.strip()]
    assert lines, "the service logged nothing"
    for line in lines:
        assert isinstance(json.loads(line), dict), f"not a JSON object line: {line!r}"


def _healthz(port: int) -> int:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code
    except httpx.HTTPError:
        return 0


def test_the_service_runs_as_the_pinned_unprivileged_user(engine: Engine, image: str) -> None:
    container, port = start(engine, image, engine.volume(name("user")))
    wait_until(lambda: _healthz(port) == 200, timeout_s=60, what="/healthz 200")
    status = engine.run("exec", container, "cat", "/proc/1/status").stdout
    ids = {line.split(":")[0]: line.split()[1:] for line in status.splitlines() if line.startswith(("Uid:", "Gid:"))}
    assert ids == {"Uid": [UID_GID] * 4, "Gid": [UID_GID] * 4}, status
    command = engine.run("exec", container, "cat", "/proc/1/cmdline").stdout.split("\0")
    assert "run" in command and any(part.endswith("being") for part in command), command
    assert engine.run("exec", container, "id", "-u").stdout.strip() == UID_GID
    assert engine.run("exec", container, "stat", "-c", "%u:%g", "/data").stdout.strip() == f"{UID_GID}:{UID_GID}"


def test_an_inbox_line_is_stored_as_an_episode(engine: Engine, image: str) -> None:
    container, port = start(engine, image, engine.volume(name("inbox")))
    wait_until(lambda: _healthz(port) == 200, timeout_s=60, what="/healthz 200")
    say(engine, container, "hello from the inbox")
    wait_until(lambda: stored(engine, container, "hello from the inbox"), timeout_s=60, what="the line as an episode")


def test_docker_stop_with_a_call_in_flight_exits_0_and_the_volume_keeps_everything(
    engine: Engine, image: str, slow_llm: Simulator
) -> None:
    volume = engine.volume(name("stop"))
    container, port = start(engine, image, volume, "-e", f"BEING_LLM_BASE_URL={slow_llm.url}")
    wait_until(lambda: _healthz(port) == 200, timeout_s=60, what="/healthz 200")
    say(engine, container, "a question the slow LLM gets")
    wait_until(lambda: _llm_call_in_flight(port), timeout_s=60, what="an LLM call in flight")
    started = time.monotonic()
    stopped = engine.run("stop", container, timeout_s=60)  # the engine's default grace: 10 s
    FIGURES["docker stop with a call in flight"] = f"{time.monotonic() - started:.1f} s (grace 10 s)"
    assert stopped.returncode == 0
    state = engine.inspect(container)["State"]
    assert (state["ExitCode"], state["OOMKilled"]) == (0, False), (state, engine.run("logs", container).stderr[-3000:])

    offline = ("run", "--rm", "-v", f"{volume}:/data", image)
    stops = episodes(engine, *offline, kind="system.stop")
    assert len(stops) == 1, stops
    messages = episodes(engine, *offline, kind="user.message")
    assert [row["description"] for row in messages if "slow LLM" in row["description"]], messages

    again, again_port = start(engine, image, volume, "-e", f"BEING_LLM_BASE_URL={slow_llm.url}")
    wait_until(lambda: _healthz(again_port) == 200, timeout_s=60, what="/healthz 200 of the second container")
    assert stored(engine, again, "a question the slow LLM gets"), "the second container lost the first one's message"
    assert len(episodes(engine, "exec", again, "being", kind="system.start")) == 2


def _llm_call_in_flight(port: int) -> bool:
    """A reply's LLM call went out (the LLM cache missed) and has not come back (the message is unanswered)."""
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
    except httpx.HTTPError:
        return False
    samples = dict(line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#"))
    misses = float(samples.get('being_cache_misses_total{name="llm"}', 0))
    return misses >= 1 and float(samples.get("being_inbox_unanswered", 0)) >= 1


def test_any_subcommand_runs_with_the_container_settings(engine: Engine, image: str) -> None:
    done = engine.run("run", "--rm", image, "episodes", "--help")
    assert "usage: being episodes" in done.stdout
    volume = engine.volume(name("check"))
    checked = engine.run("run", "--rm", "-v", f"{volume}:/data", image, "check", "--json", check=False)
    details = {check["name"]: check for check in json.loads(checked.stdout)["checks"]}
    assert details["settings"]["detail"].startswith("valid, from /etc/being/config.toml"), details["settings"]
    assert details["data folder"]["ok"] and f"uid {UID_GID}" in details["data folder"]["detail"], details


def test_a_host_folder_it_cannot_write_stops_the_start_with_one_json_line(
    engine: Engine, image: str, tmp_path: Path
) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    os.chmod(folder, 0o755)
    done = engine.run("run", "--rm", "-v", f"{folder}:/data", image, check=False)
    assert done.returncode == 1, done
    failed = [json.loads(line) for line in done.stderr.splitlines() if '"check.failed"' in line]
    assert failed and failed[0]["check"] == "data folder", done.stderr
    assert all(f"not writable by uid {UID_GID} gid {UID_GID}" in line["detail"] for line in failed), failed
    assert all(json.loads(line) for line in done.stderr.splitlines() if line.strip())
    assert list(folder.iterdir()) == [], "the refused start wrote into the folder"
