"""Chat calls through our Ollama backend beside the official ``ollama`` package's ``AsyncClient``.

Both talk, in one run, to the same simulator with no added latency, which runs in its own
process (spawned) so that serving does not share the clients' interpreter or event loop:

- chat: 10,000 non-streaming ``/api/chat`` calls, 32 at a time, through
  ``OllamaBackend.chat`` (one pooled aiohttp session with its default pool of 8 connections)
  and through ``ollama.AsyncClient.chat`` (what a user would pick instead), both with its
  own defaults and with the same pool of 8. Target: ours >= 1.0 × theirs. Beside them, the
  two client libraries the backend could be built on, each called directly with a pool of 8
  (``httpx.AsyncClient.post`` and ``aiohttp.ClientSession.post``), with the CPU time per call
  of each side: the backend is built on the one that costs less.
- embed: 10,000 texts in batches of 100 through ``OllamaBackend.embed`` and
  ``AsyncClient.embed``, and through the offline ``LexicalEmbedder`` in-process.

Each side runs twice, interleaved, after a warm-up; the better of its two runs is printed,
so a noisy moment on a shared machine hurts neither side alone.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections.abc import Awaitable, Callable
from multiprocessing.connection import Connection
from typing import Any

import aiohttp
import httpx
import ollama

from llm import HttpConfig, LexicalEmbedder, Message, OllamaBackend
from llm.simulator import FaultPlan, Simulator

CONCURRENCY = 32
BATCH = 100
MODEL = "llama3.2"
EMBED_MODEL = "nomic-embed-text"


def _serve(conn: Connection) -> None:
    """The simulator process: serve until the parent says stop (or goes away)."""

    async def run() -> None:
        sim = Simulator(FaultPlan())
        conn.send(await sim.start("127.0.0.1", 0))
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)
        conn.send(sim.stats.total)
        await sim.stop()

    asyncio.run(run())


async def _rate(call: Callable[[int], Awaitable[Any]], n: int, concurrency: int) -> float:
    """Items per second for ``n`` calls made by ``concurrency`` workers."""
    return (await _rate_cpu(call, n, concurrency))[0]


async def _rate_cpu(call: Callable[[int], Awaitable[Any]], n: int, concurrency: int) -> tuple[float, float]:
    """Items per second and this process's CPU microseconds per item, for ``n`` calls by ``concurrency`` workers."""
    numbers = iter(range(n))

    async def worker() -> None:
        for i in numbers:
            await call(i)

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return n / (time.perf_counter() - started), 1e6 * (time.process_time() - cpu) / n


async def _chat(url: str, calls: int) -> dict[str, tuple[float, float]]:
    ours = OllamaBackend(http=HttpConfig(base_url=url), chat_model=MODEL)  # the default pool: 8 connections
    theirs = ollama.AsyncClient(host=url)  # its defaults (httpx's: 100 connections, 20 kept alive)
    theirs_8 = ollama.AsyncClient(host=url, limits=httpx.Limits(max_connections=8, max_keepalive_connections=8))
    pool = httpx.Limits(max_connections=8, max_keepalive_connections=8)
    raw_httpx = httpx.AsyncClient(base_url=url, limits=pool, timeout=60.0, trust_env=False)
    raw_aiohttp = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=8), trust_env=False)
    prompts = [[Message.user(f"question number {i}: what did you notice?")] for i in range(100)]
    plain = [[{"role": "user", "content": m[0].content}] for m in prompts]
    bodies = [{"model": MODEL, "stream": False, "messages": m} for m in plain]

    async def ours_call(i: int) -> None:
        await ours.chat(prompts[i % 100])

    async def theirs_call(i: int) -> None:
        await theirs.chat(model=MODEL, messages=plain[i % 100])

    async def theirs_8_call(i: int) -> None:
        await theirs_8.chat(model=MODEL, messages=plain[i % 100])

    async def httpx_call(i: int) -> None:
        (await raw_httpx.post("/api/chat", json=bodies[i % 100])).json()

    async def aiohttp_call(i: int) -> None:
        async with raw_aiohttp.post(f"{url}/api/chat", json=bodies[i % 100]) as response:
            await response.json()

    sides = {
        "ours": ours_call,
        "theirs": theirs_call,
        "theirs_8": theirs_8_call,
        "httpx": httpx_call,
        "aiohttp": aiohttp_call,
    }
    for call in sides.values():
        await _rate(call, 500, CONCURRENCY)  # warm-up: connections, caches
    rates: dict[str, list[tuple[float, float]]] = {name: [] for name in sides}
    for _ in range(2):
        for name, call in sides.items():
            rates[name].append(await _rate_cpu(call, calls, CONCURRENCY))
    await ours.aclose()
    await raw_httpx.aclose()
    await raw_aiohttp.close()
    return {name: max(values) for name, values in rates.items()}


async def _embed(url: str, texts: int) -> tuple[float, float]:
    ours = OllamaBackend(http=HttpConfig(base_url=url), embed_model=EMBED_MODEL)
    theirs = ollama.AsyncClient(host=url)
    batches = [[f"text {b}-{i} about rivers, clocks and letters" for i in range(BATCH)] for b in range(texts // BATCH)]

    async def ours_call(b: int) -> None:
        await ours.embed(batches[b])

    async def theirs_call(b: int) -> None:
        await theirs.embed(model=EMBED_MODEL, input=batches[b])

    ours_rates, theirs_rates = [], []
    for _ in range(2):
        ours_rates.append(await _rate(ours_call, len(batches), 4) * BATCH)
        theirs_rates.append(await _rate(theirs_call, len(batches), 4) * BATCH)
    await ours.aclose()
    return max(ours_rates), max(theirs_rates)


def _lexical(texts: int) -> float:
    embedder = LexicalEmbedder()
    batches = [[f"text {b}-{i} about rivers, clocks and letters" for i in range(BATCH)] for b in range(texts // BATCH)]
    started = time.perf_counter()
    for batch in batches:
        embedder.vectors(batch)
    return texts / (time.perf_counter() - started)


def main(quick: bool) -> None:
    calls = 1_000 if quick else 10_000
    texts = 1_000 if quick else 10_000
    parent, child = multiprocessing.get_context("spawn").Pipe()
    server = multiprocessing.get_context("spawn").Process(target=_serve, args=(child,), daemon=True)
    server.start()
    try:
        url = parent.recv()
        print(f"simulator in a separate process at {url}; {CONCURRENCY} calls in flight")
        chat = asyncio.run(_chat(url, calls))
        print(f"chat, {calls:,} calls, {CONCURRENCY} at a time:")
        labels = {
            "ours": "ours (default pool, 8 connections)",
            "theirs": "ollama.AsyncClient (its defaults)",
            "theirs_8": "ollama.AsyncClient (same pool, 8 conns)",
            "httpx": "httpx.AsyncClient.post (pool of 8)",
            "aiohttp": "aiohttp.ClientSession.post (pool of 8)",
        }
        for name, label in labels.items():
            rate, cpu_us = chat[name]
            print(f"  {label:<42}{rate:8,.0f} calls/s {cpu_us:8,.0f} CPU us/call")
        ours, theirs, theirs_8 = chat["ours"][0], chat["theirs"][0], chat["theirs_8"][0]
        print(
            f"  ratio ours/theirs: {ours / theirs:.2f} (defaults), {ours / theirs_8:.2f} (same pool)  (target >= 1.00)"
        )
        print(f"  CPU per call, httpx/aiohttp: {chat['httpx'][1] / chat['aiohttp'][1]:.2f}")
        ours_e, theirs_e = asyncio.run(_embed(url, texts))
        print(f"embed, {texts:,} texts in batches of {BATCH}:")
        print(f"  ours {ours_e:8,.0f} texts/s   ollama.AsyncClient {theirs_e:8,.0f} texts/s")
        print(f"  ratio ours/theirs: {ours_e / theirs_e:.2f}")
        print(f"  offline LexicalEmbedder, in-process: {_lexical(texts):8,.0f} texts/s")
        parent.send("stop")
        print(f"simulator served {parent.recv():,} requests")
    finally:
        server.join(timeout=10)
        if server.is_alive():
            server.terminate()
            server.join()
