"""End to end: the real ``being run`` makes its token, the CLI finds it, ``being tail`` follows the stream."""

from __future__ import annotations

import signal
import stat
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.e2e.service_process import ServiceProcess, being_command, write_config
from tests.support import wait_until

pytestmark = pytest.mark.e2e


def _being(config: Path, *args: str, timeout_s: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*being_command(), *args, "--config", str(config)], capture_output=True, text=True, timeout=timeout_s
    )


def test_the_generated_token_guards_the_routes_and_the_cli_and_tail_find_it(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    token_file = tmp_path / "data" / "being.duckdb.token"
    service = ServiceProcess(config)
    try:
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        token = service.token
        base = f"http://127.0.0.1:{service.port}"
        assert httpx.get(f"{base}/episodes", timeout=10).status_code == 401
        assert httpx.get(f"{base}/metrics", timeout=10).status_code == 401
        assert httpx.get(f"{base}/healthz", timeout=10).status_code == 200
        assert service.get("/episodes").status_code == 200
        (auth,) = [e for e in service.logs if e.get("event") == "http.auth"]
        assert (auth["token_source"], auth["token_where"]) == ("generated", str(token_file))

        printed = _being(config, "token")
        assert (printed.returncode, printed.stdout.strip()) == (0, token)
        url = _being(config, "token", "--url")
        assert url.stdout.strip() == f"http://127.0.0.1:{service.port}/#token={token}"

        tail = subprocess.Popen(
            [*being_command(), "tail", "--json", "--type", "user.*", "--count", "1", "--config", str(config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            wait_until(lambda: service.metric("being_events_clients") == 1, timeout_s=30, what="tail connected")
            (tmp_path / "inbox.txt").write_text("hello over the stream\n", encoding="utf-8")
            out, err = tail.communicate(timeout=60)
        finally:
            tail.kill()
        assert tail.returncode == 0, err
        assert '"type":"user.message"' in out and "hello over the stream" in out

        episodes = _being(config, "episodes", "--type", "user.message", "--json")
        assert episodes.returncode == 0, episodes.stderr
        assert '"source": "service"' in episodes.stdout and "hello over the stream" in episodes.stdout
        assert not any(token in line for line in service.raw_stderr), "the token reached the log"
        service.signal(signal.SIGTERM)
        assert service.wait() == 0
        assert not token_file.exists()
        assert _being(config, "token").returncode == 1  # nothing left to find
    finally:
        service.stop()


def test_tail_says_so_when_no_service_answers(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    result = _being(config, "tail")
    assert result.returncode == 1
    assert "no service answers" in result.stderr
