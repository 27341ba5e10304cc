"""The hand-written baseline of the end-to-end benchmark: the same job, the plain way.

``python -m benchmarks._plain_service INBOX DATABASE BASE_URL N CONCURRENCY`` reads the inbox file as
lines are appended, stores each message and its reply in DuckDB in batches, and asks the same LLM server
(``/api/chat``, httpx) at the same concurrency. It prints ``{"ready": true}`` once its imports and its
database are ready (so the benchmark's clock and CPU count start there, as they do for the service,
which is timed once it listens), then one JSON line when all ``N`` replies are stored, and exits when
its standard input closes (so the benchmark can read its CPU time and RSS first).

What a good engineer writes by hand when nothing else matters: no recording, no protection, no vector
memory, no dead letters, no crash safety (a message read but unanswered at a kill is lost).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import httpx
import pyarrow as pa

BATCH = 256


async def _read_lines(path: Path, queue: asyncio.Queue[str | None], total: int) -> None:
    offset = 0
    seen = 0
    pending = b""
    while seen < total:
        if not path.exists():
            await asyncio.sleep(0.01)
            continue
        with path.open("rb") as handle:
            handle.seek(offset)
            chunk = handle.read(1 << 20)
        if not chunk:
            await asyncio.sleep(0.01)
            continue
        offset += len(chunk)
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            if line.strip():
                seen += 1
                await queue.put(line.decode("utf-8", "replace"))
    await queue.put(None)


class _Store:
    def __init__(self, database: Path) -> None:
        self.con = duckdb.connect(str(database))
        self.con.execute(
            "CREATE TABLE IF NOT EXISTS episodes (id VARCHAR, time TIMESTAMPTZ, type VARCHAR, description VARCHAR,"
            " data JSON)"
        )
        self.rows: list[tuple[str, datetime, str, str, str]] = []
        self.stored_replies = 0

    def add(self, kind: str, text: str, data: dict[str, object]) -> None:
        self.rows.append((uuid.uuid4().hex, datetime.now(UTC), kind, text[:500], json.dumps(data)))
        if kind == "user.reply":
            self.stored_replies += 1

    def flush(self) -> None:
        if self.rows:
            ids, times, kinds, texts, data = zip(*self.rows, strict=True)
            batch = pa.table({"id": ids, "time": times, "type": kinds, "description": texts, "data": data})
            self.con.register("batch", batch)
            self.con.execute("INSERT INTO episodes SELECT * FROM batch")
            self.con.unregister("batch")
            self.rows.clear()


async def _answer(client: httpx.AsyncClient, text: str, store: _Store) -> None:
    body = {"model": "llama3.2", "stream": False, "messages": [{"role": "user", "content": text}]}
    response = await client.post("/api/chat", json=body)
    reply = response.json()["message"]["content"]
    store.add("user.reply", reply, {"message": text, "reply": reply})


async def run(inbox: Path, database: Path, base_url: str, total: int, concurrency: int) -> dict[str, float]:
    queue: asyncio.Queue[str | None] = asyncio.Queue(maxsize=4 * concurrency)
    store = _Store(database)
    print(json.dumps({"ready": True}), flush=True)
    started = time.monotonic()
    reader = asyncio.create_task(_read_lines(inbox, queue, total))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as client:
        slots = asyncio.Semaphore(concurrency)
        tasks: set[asyncio.Task[None]] = set()

        async def one(text: str) -> None:
            try:
                await _answer(client, text, store)
            finally:
                slots.release()

        while (text := await queue.get()) is not None:
            store.add("user.message", text, {"text": text})
            if len(store.rows) >= BATCH:
                store.flush()
            await slots.acquire()
            task = asyncio.create_task(one(text))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks)
    store.flush()
    await reader
    seconds = time.monotonic() - started
    replies = store.con.execute("SELECT count(*) FROM episodes WHERE type = 'user.reply'").fetchone()
    store.con.close()
    return {"seconds": seconds, "replies": float(replies[0] if replies else 0)}


def main() -> int:
    inbox, database, base_url, total, concurrency = sys.argv[1:6]
    result = asyncio.run(run(Path(inbox), Path(database), base_url, int(total), int(concurrency)))
    print(json.dumps(result), flush=True)
    sys.stdin.read()  # the benchmark reads this process's CPU time and RSS, then closes it
    return 0


if __name__ == "__main__":
    sys.exit(main())
