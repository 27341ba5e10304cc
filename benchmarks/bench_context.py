"""The being's working memory and context builder: what a prompt with memory costs on the event loop.

One process run, one memory fed with 10,000 exchanges among 50 senders (``--quick``: 1,000),
20 open goals, 50 principles, both blocks and an intentions text, recall over the newest 10,000
remembered texts with the lexical embedder (384 values):

- ``observe`` per item (event, message episode, reply episode), beside embedding the same
  episode once, as the remember route does (the memory's recall embeds it a second time);
- recall of 4 texts, beside the raw numpy call it rests on (``matrix @ q`` and ``argpartition``
  on a matrix of the same shape);
- ``for_reply`` and ``for_thought`` with the recall's answer given (the builder's own work:
  reading the memory, assembling and cutting the sections), beside the recall itself: the
  recall's matrix product is most of a prompt's cost, and it grows with ``max_vectors``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np

from agent import REPLY, Remember
from agent._remember import vector_of
from agent._routes import user_episode
from agent.context import INTENTIONS, BeingMemory, ContextBuilder, MemoryRecall
from llm import LexicalEmbedder
from sinks import EpisodeRow, GoalRow, MemoryBlockRow, PrincipleRow
from streams import Event

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _per_call(run: Callable[[], object], repeat: int) -> float:
    run()
    start = time.perf_counter()
    for _ in range(repeat):
        run()
    return (time.perf_counter() - start) / repeat


def _items(n: int) -> list[Event | EpisodeRow]:
    items: list[Event | EpisodeRow] = []
    for i in range(n):
        when = T0 + timedelta(seconds=10 * i)
        text = f"message {i} about {('cats', 'trains', 'the weather', 'books')[i % 4]} and number {i % 97}"
        event = Event(
            id=f"m{i}", type="user.message", time=when, source="inbox", payload={"text": text, "sender": f"s{i % 50}"}
        )
        reply = EpisodeRow(
            id=f"r{i}",
            time=when + timedelta(seconds=1),
            type=REPLY,
            description=f"reply {i}",
            outcome="success",
            data={"event_id": event.id, "reply": f"reply {i}: noted"},
        )
        items += [event, user_episode(event), reply]
    return items


def _mind_items() -> list[Event | GoalRow | MemoryBlockRow | PrincipleRow]:
    items: list[Event | GoalRow | MemoryBlockRow | PrincipleRow] = [
        GoalRow(
            id=f"g{n}", text=f"goal {n}", status="open", due=T0 + timedelta(hours=n), created=T0, done=None, time=T0
        )
        for n in range(20)
    ]
    items += [PrincipleRow(text=f"principle {n}: check before acting", time=T0) for n in range(50)]
    items.append(MemoryBlockRow(name="self", text="I am careful. " * 40, time=T0))
    items.append(MemoryBlockRow(name="user", text="The user likes cats. " * 40, time=T0))
    items.append(Event(id="i", type=INTENTIONS, time=T0, source="intentions", payload={"text": "stretch. " * 100}))
    return items


def main(quick: bool = False) -> None:
    exchanges = 1_000 if quick else 10_000
    remember = Remember(embedder=LexicalEmbedder(384))
    recall = MemoryRecall(remember, max_vectors=10_000)
    memory = BeingMemory(recall=recall)
    items = _items(exchanges)
    start = time.perf_counter()
    for item in items:
        memory.observe(item)
    observe_s = (time.perf_counter() - start) / len(items)
    episodes = [i for i in items if isinstance(i, EpisodeRow)]
    start = time.perf_counter()
    for row in episodes:
        vector_of(row, remember)
    embed_s = (time.perf_counter() - start) / len(items)
    for mind_item in _mind_items():
        memory.observe(mind_item)
    found = recall("what about the cats?", 4)
    given = BeingMemory(recall=lambda _query, _k: found)  # the same memory, its recall answered already
    for any_item in [*items, *_mind_items()]:
        given.observe(any_item)
    builder = ContextBuilder(given)
    repeat = 50 if quick else 200

    rng = np.random.default_rng(7)
    matrix = rng.standard_normal((len(recall), 384)).astype(np.float32)
    query = rng.standard_normal(384).astype(np.float32)

    def raw() -> object:
        scores = matrix @ query
        return np.argpartition(-scores, 16)[:16]

    raw_s = _per_call(raw, repeat)
    recall_s = _per_call(lambda: recall("what about the cats?", 4), repeat)
    reply_s = _per_call(lambda: builder.for_reply("what about the cats?", sender="s3"), repeat)
    thought_s = _per_call(lambda: builder.for_thought("what about the cats?"), repeat)

    print(f"memory: {exchanges} exchanges, recall holds {len(recall)} texts (384 values each)")
    rows = [
        ("observe per item", observe_s * 1e6, "µs", "embedding alone", embed_s * 1e6),
        ("recall (k=4)", recall_s * 1e3, "ms", "raw numpy", raw_s * 1e3),
        ("for_reply, builder", reply_s * 1e3, "ms", "its recall", recall_s * 1e3),
        ("for_thought, builder", thought_s * 1e3, "ms", "its recall", recall_s * 1e3),
    ]
    for name, ours, unit, baseline_name, baseline in rows:
        print(
            f"{name:<18} {ours:9.3f} {unit}   {baseline_name:<16} {baseline:9.3f} {unit}   ratio {ours / baseline:5.2f}"
        )
