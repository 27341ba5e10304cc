"""The mind's LLM calls per hour of virtual time, beside the predecessor's pattern; and its own cost per thought.

Every side runs on the replay's virtual clock (``ReplayScheduler`` + the replay driver) over the
same recorded-style events, with an in-process backend that answers at once (the simulator's
deterministic answers, schema-shaped when the request carries a schema) and counts its calls:

- calls per hour: an idle hour (a heavy tick a minute, nothing else), and an hour with a user
  message every ten minutes, through ``assemble`` (the live wiring, the mind on); beside them
  the predecessor's pattern driven on the same events: four calls every heavy tick (monologue,
  goal selection, action, after action) and one per message. Target: 0 calls per idle hour.
- the mind's own cost per thought: N heavy ticks, each after a change of the intentions (so each
  one thinks), replayed with the mind on and with it off, in turn, three rounds, the fastest of
  each kept; (time on - time off) / N is what a thought costs, and the time spent inside the
  backend is taken out of it. What is left is the
  mind's own work: gate, context, prompts, parsing, tools, its rows through the sink. Target:
  under 5 ms per thought.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import reactivex
from reactivex import Observable
from reactivex import operators as ops

from llm import Call, ChatResult, Embeddings, Message
from llm.simulator._replies import embed_vectors, reply_for
from service._assembly import Parts, assemble
from service.replay import CallTracker, ReplayScheduler, drive
from service.settings import Settings, load_settings
from sinks import DuckWriter, open_database
from streams import HEAVY_TICK, MIND_INTENTIONS, Event, from_coroutine, replay_events, subscribe_to_completion
from tests.fake_chat import FakeChatBackend

START = datetime(2026, 1, 1, tzinfo=UTC)
BASELINE_CALLS_PER_TICK = 4


class InstantBackend(FakeChatBackend):
    """Answers at once with the simulator's deterministic replies; counts the time spent answering."""

    name = "instant"

    def __init__(self) -> None:
        self.seconds = 0.0

    async def reply(self, call: Call) -> ChatResult:
        started = time.perf_counter()
        prompt = "\n".join(m.content for m in call.messages)
        model = call.model or "llama3.2:latest"
        reply = reply_for(model, prompt, call.options or {}, call.format)
        result = ChatResult(model=model, content=reply.text, done_reason=reply.done_reason)
        self.seconds += time.perf_counter() - started
        return result

    async def embed(self, texts: Sequence[str], *, model: str | None = None) -> Embeddings:
        return Embeddings(embedder=model or "nomic-embed-text:latest", vectors=embed_vectors(list(texts), 768))


def _settings(folder: Path, *, mind: bool) -> Settings:
    path = folder / f"config-{mind}.toml"
    path.write_text(
        f'[storage]\ndatabase_path = "{folder / "live.duckdb"}"\n'
        "[resilience.rate_limit]\nenabled = false\n[resilience.budget]\nenabled = false\n"
        "[resilience.cache]\nenabled = false\n"
        f"[mind]\nenabled = {'true' if mind else 'false'}\n",
        encoding="utf-8",
    )
    return load_settings(path, env={})


def _tick(n: int, at: datetime) -> Event:
    return Event(id=f"h{n}", type=HEAVY_TICK, time=at, source="ticks", payload={"n": n})


def idle_hour() -> list[Event]:
    return [_tick(n, START + timedelta(minutes=n + 1)) for n in range(60)]


def chatty_hour() -> list[Event]:
    events = idle_hour()
    for n in range(6):
        at = START + timedelta(minutes=10 * n + 5, seconds=30)
        events.append(Event(id=f"m{n}", type="user.message", time=at, source="inbox", payload={"text": f"hi {n}"}))
    return sorted(events, key=lambda e: e.time)


def thinking(n: int) -> list[Event]:
    """``n`` heavy ticks, each a minute after a change of the intentions: every tick has something to think about."""
    events: list[Event] = []
    for i in range(n):
        at = START + timedelta(minutes=i + 1)
        text = f"remind me to stretch every {i % 5 + 1} hours; note what I said on day {i}"
        payload = {"text": text, "sha256": f"{i:064x}", "bytes": len(text), "truncated": False, "path": "i.md"}
        events.append(
            Event(
                id=f"i{i}", type=MIND_INTENTIONS, time=at - timedelta(seconds=30), source="intentions", payload=payload
            )
        )
        events.append(_tick(i, at))
    return events


async def _drive(committed: Observable[Any], scheduler: ReplayScheduler, tracker: CallTracker) -> float:
    loop = asyncio.get_running_loop()
    started = time.perf_counter()
    finished, subscription = subscribe_to_completion(committed, loop=loop, scheduler=scheduler)
    await drive(scheduler, tracker=tracker, done=finished)
    await finished
    subscription.dispose()
    return time.perf_counter() - started


async def mind_run(settings: Settings, events: list[Event], folder: Path, name: str) -> tuple[int, float, float]:
    """The live wiring over ``events`` on virtual time: (LLM calls, wall seconds, seconds inside the backend)."""
    backend = InstantBackend()
    tracker = CallTracker(backend)
    writer = DuckWriter(open_database(folder / f"{name}.duckdb"))
    try:
        assembled = assemble(
            settings,
            replay_events(events),
            Parts(
                writer=writer,
                run_id=name,
                backend=tracker,
                batch_max_wait_s=3600.0,
                remember_max_wait_s=3600.0,
                notes_dir=folder / f"{name}.notes",
            ),
        )
        if settings.mind.enabled and (assembled.being is None or assembled.being.mind is None):
            raise SystemExit("the mind is not assembled: agent.mind, agent.mind.tools and agent.context are needed")
        scheduler = ReplayScheduler(events[0].time - timedelta(seconds=1))
        seconds = await _drive(assembled.committed, scheduler, tracker)
    finally:
        await asyncio.to_thread(writer.close, checkpoint=False)
    return tracker.calls, seconds, backend.seconds


def _asked(tracker: CallTracker, message: Message) -> Observable[ChatResult]:
    return from_coroutine(lambda: tracker.chat([message]))


async def baseline_calls(events: list[Event]) -> int:
    """The predecessor's pattern on the same events: four calls every heavy tick, one per message."""
    tracker = CallTracker(InstantBackend())

    def calls(event: Event) -> Observable[ChatResult]:
        count = BASELINE_CALLS_PER_TICK if event.type == HEAVY_TICK else 1 if event.type == "user.message" else 0
        one = [Message(role="user", content=f"{event.id} step {k}") for k in range(count)]
        return reactivex.concat(*(_asked(tracker, m) for m in one))

    steps: Observable[Any] = replay_events(events).pipe(ops.concat_map(calls))
    scheduler = ReplayScheduler(events[0].time - timedelta(seconds=1))
    await _drive(steps, scheduler, tracker)
    return tracker.calls


def main(quick: bool) -> None:
    thoughts = 50 if quick else 500
    rounds = 1 if quick else 3
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        on, off = _settings(folder, mind=True), _settings(folder, mind=False)
        idle, _, _ = asyncio.run(mind_run(on, idle_hour(), folder, "idle"))
        chatty, _, _ = asyncio.run(mind_run(on, chatty_hour(), folder, "chatty"))
        idle_base = asyncio.run(baseline_calls(idle_hour()))
        chatty_base = asyncio.run(baseline_calls(chatty_hour()))
        asyncio.run(mind_run(on, thinking(10), folder, "warm"))  # imports, first compilations
        # on and off in turn, the fastest of each kept: the machine is shared, and a slow round
        # says something about the neighbours, not about the mind
        runs_on, runs_off = [], []
        for n in range(rounds):
            runs_on.append(asyncio.run(mind_run(on, thinking(thoughts), folder, f"on{n}")))
            runs_off.append(asyncio.run(mind_run(off, thinking(thoughts), folder, f"off{n}")))
        calls_on, seconds_on, llm_on = min(runs_on, key=lambda r: r[1] - r[2])
        _, seconds_off, llm_off = min(runs_off, key=lambda r: r[1] - r[2])
    print("LLM calls per hour of virtual time (a heavy tick a minute)")
    print(f"  idle being                        mind {idle:>5}   predecessor {idle_base:>5}   (target 0)")
    print(
        f"  a message every ten minutes       mind {chatty:>5}   predecessor {chatty_base:>5}"
        f"   ({chatty / chatty_base:.2f}x)"
    )
    per_thought = (seconds_on - seconds_off) / thoughts
    llm_per_thought = (llm_on - llm_off) / thoughts
    overhead = per_thought - llm_per_thought
    print(f"the mind's cost per thought, instant answers ({thoughts} thoughts, {calls_on} calls; best of {rounds})")
    print(f"  a thought, all in                 {per_thought * 1e3:8.3f} ms")
    print(f"  of it inside the backend          {llm_per_thought * 1e3:8.3f} ms")
    print(f"  the mind's own overhead           {overhead * 1e3:8.3f} ms   (target < 5 ms)")
    print(f"  the same events with the mind off {seconds_off / thoughts * 1e3:8.3f} ms per tick")
