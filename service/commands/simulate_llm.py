"""``being simulate-llm``: serve the fault-injecting Ollama simulator until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Callable
from typing import Any

from llm.simulator import FAULTS, FaultPlan, Simulator
from service.commands._common import EXIT_FAILED, EXIT_OK

__all__ = ["plan_from_args", "register", "serve"]

EXIT_BAD_USAGE = 2


def _rate(text: str) -> tuple[str, float]:
    name, sep, value = text.partition("=")
    try:
        rate = float(value)
    except ValueError:
        rate = -1.0
    if not sep or not name or not 0.0 <= rate <= 1.0:
        raise argparse.ArgumentTypeError(f"expected NAME=RATE with RATE from 0 to 1, got {text!r}")
    return name, rate


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "simulate-llm",
        help="serve a fault-injecting Ollama simulator",
        description="Serve Ollama's API (and its OpenAI-compatible /v1) with deterministic replies and faults. "
        "A request may also ask for one fault with the header X-Simulator-Fault: status:NNN, "
        + ", ".join(FAULTS)
        + ".",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=11434, help="TCP port; 0 picks a free one (default 11434)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added before every answer")
    parser.add_argument("--jitter-ms", type=float, default=0.0, help="spread of extra latency on top")
    parser.add_argument(
        "--latency-distribution", choices=("uniform", "exponential"), default="uniform", help="shape of the jitter"
    )
    parser.add_argument(
        "--error-rate",
        type=_rate,
        action="append",
        default=[],
        metavar="STATUS=RATE",
        help="answer this HTTP status with this probability, e.g. 503=0.1 (repeatable)",
    )
    parser.add_argument(
        "--fault-rate",
        type=_rate,
        action="append",
        default=[],
        metavar="FAULT=RATE",
        help=f"apply this fault with this probability; faults: {', '.join(FAULTS)} (repeatable)",
    )
    parser.add_argument("--max-in-flight", type=int, default=0, help="503 'server busy' above this many; 0 = no limit")
    parser.add_argument("--retry-after-s", type=float, default=1.0, help="Retry-After sent with 429")
    parser.add_argument(
        "--model", action="append", default=None, metavar="NAME", help="a model the server has (repeatable)"
    )
    parser.add_argument("--any-model", action="store_true", help="accept every model name")
    parser.add_argument("--embed-dim", type=int, default=768, help="length of embedding vectors")
    parser.add_argument("--legacy-embed", action="store_true", help="behave like an Ollama without /api/embed")
    parser.add_argument("--seed", type=int, default=0, help="seed of the latency and fault draws")
    parser.set_defaults(handler=handle)


def plan_from_args(args: argparse.Namespace) -> FaultPlan:
    """The fault plan the options describe.

    Raises:
        ValueError: a status that is not an integer, an unknown fault, rates summing over 1, ...
    """
    statuses: dict[int, float] = {}
    for name, rate in args.error_rate:
        if not name.isdigit():
            raise ValueError(f"--error-rate: expected an HTTP status, got {name!r}")
        statuses[int(name)] = rate
    models: tuple[str, ...] = () if args.any_model else tuple(args.model or FaultPlan().models)
    return FaultPlan(
        latency_ms=args.latency_ms,
        latency_jitter_ms=args.jitter_ms,
        latency_distribution=args.latency_distribution,
        error_rates=statuses,
        fault_rates=dict(args.fault_rate),
        max_in_flight=args.max_in_flight,
        retry_after_s=args.retry_after_s,
        models=models,
        embed_dim=args.embed_dim,
        legacy_embed=args.legacy_embed,
        seed=args.seed,
    )


def _announce(url: str) -> None:
    print(f"being simulate-llm: serving Ollama's API on {url} (stop with Ctrl-C)", flush=True)


async def serve(
    simulator: Simulator, host: str, port: int, stop: asyncio.Event, on_ready: Callable[[str], None] = _announce
) -> str:
    """Serve until ``stop`` is set, calling ``on_ready(url)`` once listening; returns a summary line."""
    url = await simulator.start(host, port)
    on_ready(url)
    try:
        await stop.wait()
    finally:
        await simulator.stop()
    return f"being simulate-llm: stopped; served {simulator.stats!r}"


async def _main(plan: FaultPlan, host: str, port: int) -> str:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return await serve(Simulator(plan), host, port, stop)


def handle(args: argparse.Namespace) -> int:
    try:
        plan = plan_from_args(args)
    except ValueError as exc:
        print(f"being simulate-llm: {exc}", file=sys.stderr)
        return EXIT_BAD_USAGE
    try:
        summary = asyncio.run(_main(plan, args.host, args.port))
    except OSError as exc:
        print(f"being simulate-llm: cannot listen on {args.host}:{args.port} ({exc.strerror or exc})", file=sys.stderr)
        return EXIT_FAILED
    print(summary, flush=True)
    return EXIT_OK
