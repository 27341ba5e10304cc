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

Then how a reply's recall is kept to its sender's texts, with 10,000 vectors held among 50
senders and among 1,000 (``--quick``: 2,000 vectors, among 50 and 200): the search over one
matrix with an owner code per row (the sender's rows picked by code, only those scored, as
:class:`agent.context.MemoryRecall` does), beside one :class:`sinks.VectorIndex` per sender
holding the same vectors, and beside the one matrix scored whole and then masked (32 hits asked,
as the recall asks for k=4); the bytes their arrays hold; and the recall for one sender beside
the recall over every sender's texts (the mind's).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

from agent import REPLY, Remember
from agent._remember import vector_of
from agent._routes import user_episode
from agent.context import INTENTIONS, BeingMemory, ContextBuilder, MemoryRecall
from agent.context._owned import OwnedVectors
from llm import LexicalEmbedder
from sinks import EpisodeRow, GoalRow, MemoryBlockRow, PrincipleRow, VectorIndex, VectorQuery
from streams import Event

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _per_call(run: Callable[[], object], repeat: int) -> float:
    run()
    start = time.perf_counter()
    for _ in range(repeat):
        run()
    return (time.perf_counter() - start) / repeat


def _items(n: int, senders: int = 50) -> list[Event | EpisodeRow]:
    items: list[Event | EpisodeRow] = []
    for i in range(n):
        when = T0 + timedelta(seconds=10 * i)
        text = f"message {i} about {('cats', 'trains', 'the weather', 'books')[i % 4]} and number {i % 97}"
        payload = {"text": text, "sender": f"s{i % senders}"}
        event = Event(id=f"m{i}", type="user.message", time=when, source="inbox", payload=payload)
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
    held = 2_000 if quick else 10_000
    for senders in (50, held // 10):
        _by_sender(remember, held, senders, repeat)


def _by_sender(remember: Remember, vectors: int, senders: int, repeat: int) -> None:
    """A reply's recall kept to one sender: the recall's owner codes beside one index per sender."""
    items = _items(vectors // 2, senders)
    recall = MemoryRecall(remember, max_vectors=vectors)
    memory = BeingMemory(recall=recall)
    per_sender: dict[str, VectorIndex] = {}
    owned = OwnedVectors(remember.embedder.dim)
    rows: list[npt.NDArray[np.float32]] = []
    owners: list[str] = []
    for item in items:
        memory.observe(item)
        if not isinstance(item, EpisodeRow):
            continue
        vector = vector_of(item, remember)
        assert vector is not None
        sender = f"s{int(str(item.data['event_id'])[1:]) % senders}"
        values = np.asarray(vector.embedding, dtype=np.float32).reshape(1, -1)
        values = values / np.linalg.norm(values)  # the embedding may be a read-only view
        per_sender.setdefault(sender, VectorIndex()).add(
            remember.embedder.name, [vector.id], values, [vector.type], [vector.created_at]
        )
        owned.add(vector.id, values[0], sender)
        rows.append(values[0])
        owners.append(sender)
    matrix = np.stack(rows)
    codes = np.asarray([int(o[1:]) for o in owners], dtype=np.int32)
    asked = "what about the cats?"
    q = np.asarray(remember.embedder.vectors([asked])[0], dtype=np.float32)
    q /= np.linalg.norm(q)
    query = VectorQuery(embedder=remember.embedder.name, vector=q, k=32)

    def whole_then_masked() -> object:
        scores = matrix @ q
        candidates = np.flatnonzero(codes == 3)
        if candidates.size <= 32:
            return candidates[np.argsort(-scores[candidates])]
        return candidates[np.argpartition(-scores[candidates], 31)[:32]]

    codes_s = _per_call(lambda: owned.search(q, 32, owner="s3"), repeat)
    index_s = _per_call(lambda: per_sender["s3"].search(query), repeat)
    masked_s = _per_call(whole_then_masked, repeat)
    mine_s = _per_call(lambda: recall(asked, 4, sender="s3"), repeat)
    every_s = _per_call(lambda: recall(asked, 4), repeat)
    index_bytes = sum(index.nbytes() for index in per_sender.values())
    print(f"by sender: {len(recall)} vectors among {recall.senders()} senders")
    rows_out = [
        ("search by owner code", codes_s, "an index per sender", index_s),
        ("search by owner code", codes_s, "whole, then masked", masked_s),
        ("one sender's recall", mine_s, "every sender's", every_s),
    ]
    for name, ours, baseline_name, baseline in rows_out:
        print(
            f"  {name:<20} {ours * 1e3:8.3f} ms   {baseline_name:<20} {baseline * 1e3:8.3f} ms"
            f"   ratio {ours / baseline:6.2f}"
        )
    print(
        f"  {'arrays, owner codes':<20} {owned.nbytes() / 2**20:8.1f} MiB  {'an index per sender':<20} "
        f"{index_bytes / 2**20:8.1f} MiB  ratio {owned.nbytes() / index_bytes:6.3f}"
    )
