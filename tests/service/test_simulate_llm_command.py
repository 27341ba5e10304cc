"""``being simulate-llm``: options become a fault plan; the process serves until SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import sys

import httpx
import pytest

from llm.simulator import Simulator
from service.commands import simulate_llm
from tests.support import REPO


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="being")
    simulate_llm.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(["simulate-llm", *argv])


def test_options_become_a_fault_plan() -> None:
    args = parse(
        "--latency-ms", "20", "--jitter-ms", "5", "--latency-distribution", "exponential",
        "--error-rate", "503=0.1", "--error-rate", "500=0.05", "--fault-rate", "hang=0.01",
        "--max-in-flight", "4", "--model", "qwen3:8b", "--seed", "3", "--legacy-embed",
    )  # fmt: skip
    plan = simulate_llm.plan_from_args(args)
    assert plan.latency_ms == 20.0 and plan.latency_jitter_ms == 5.0
    assert plan.latency_distribution == "exponential"
    assert dict(plan.error_rates) == {503: 0.1, 500: 0.05}
    assert dict(plan.fault_rates) == {"hang": 0.01}
    assert plan.max_in_flight == 4
    assert plan.models == ("qwen3:8b",)
    assert plan.seed == 3 and plan.legacy_embed
    assert simulate_llm.plan_from_args(parse("--any-model")).models == ()


@pytest.mark.parametrize(
    "argv",
    [("--error-rate", "busy=0.1"), ("--error-rate", "200=0.1"), ("--fault-rate", "explode=0.2")],
)
def test_bad_knobs_exit_2_with_one_line(argv: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    args = parse(*argv)
    assert args.handler(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("being simulate-llm: ") and err.count("\n") == 1


def test_a_port_in_use_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        args = parse("--port", str(taken.getsockname()[1]))
        assert args.handler(args) == 1
    assert "cannot listen on 127.0.0.1:" in capsys.readouterr().err


def test_a_rate_outside_0_to_1_is_a_usage_error() -> None:
    with pytest.raises(SystemExit):
        parse("--error-rate", "503=1.5")


async def test_serve_answers_until_stopped() -> None:
    stop = asyncio.Event()
    ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    task = asyncio.ensure_future(simulate_llm.serve(Simulator(), "127.0.0.1", 0, stop, on_ready=ready.set_result))
    url = await asyncio.wait_for(ready, 5.0)
    async with httpx.AsyncClient(base_url=url) as client:
        assert (await client.get("/api/version")).json() == {"version": "0.0.0-simulator"}
    stop.set()
    summary = await asyncio.wait_for(task, 5.0)
    assert "total=1" in summary


async def test_the_command_serves_until_sigterm() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "service.cli", "simulate-llm", "--port", "0",
        cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    assert proc.stdout is not None
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), 20.0)).decode()
        url = line.split(" on ", 1)[1].split(" ", 1)[0]
        async with httpx.AsyncClient(base_url=url) as client:
            tags = (await client.get("/api/tags")).json()
        assert [m["name"] for m in tags["models"]] == ["llama3.2:latest", "nomic-embed-text:latest"]
        proc.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(proc.communicate(), 20.0)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, err.decode()
    assert "stopped; served" in out.decode()
