"""The out gate: a JetStream message is acknowledged only after its batch's replies are published."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from service._out_gate import OutGate
from sinks import OutStreamError
from tests.support import until


class Acks:
    def __init__(self) -> None:
        self.acked: list[str] = []

    def acknowledge(self, ids: Iterable[str]) -> list[str]:
        taken = sorted(ids)
        self.acked += taken
        return taken


class Out:
    """A sink whose flush fails while ``down`` and can be held open with ``gate``."""

    def __init__(self) -> None:
        self.down = False
        self.flushes = 0
        self.gate: asyncio.Event | None = None

    async def flush(self) -> None:
        self.flushes += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.down:
            raise OutStreamError("no PubAck")


def test_a_batch_is_acknowledged_after_the_flush_and_at_once_without_an_out_stream() -> None:
    async def run() -> None:
        acks, out = Acks(), Out()
        gate = OutGate(acks, out, retry_s=0.01)
        gate.committed(["a", "b"])
        assert acks.acked == []  # not before the flush
        await until(lambda: acks.acked == ["a", "b"], what="the ack after the flush")
        assert out.flushes == 1
        direct = Acks()
        OutGate(direct, None).committed(["c"])
        assert direct.acked == ["c"]

    asyncio.run(run())


def test_a_failed_flush_keeps_the_ids_and_acknowledges_them_once_a_flush_succeeds() -> None:
    async def run() -> None:
        acks, out = Acks(), Out()
        out.down = True
        gate = OutGate(acks, out, retry_s=0.01)
        gate.committed(["a"])
        await until(lambda: out.flushes >= 3, what="flushes tried again")
        assert acks.acked == [] and gate.failures >= 3
        out.down = False
        await until(lambda: acks.acked == ["a"], what="the ack once NATS is back")

    asyncio.run(run())


def test_ids_committed_during_a_flush_wait_for_the_next_one() -> None:
    async def run() -> None:
        acks, out = Acks(), Out()
        out.gate = asyncio.Event()
        gate = OutGate(acks, out, retry_s=0.01)
        gate.committed(["first"])
        await until(lambda: out.flushes == 1, what="the first flush under way")
        gate.committed(["second"])  # its reply may have missed the flush under way
        out.gate.set()
        await until(lambda: acks.acked == ["first", "second"], what="both acked")
        assert out.flushes == 2

    asyncio.run(run())


def test_close_flushes_and_acknowledges_last_and_a_failing_close_acknowledges_nothing() -> None:
    async def run() -> None:
        acks, out = Acks(), Out()
        out.down = True
        gate = OutGate(acks, out, retry_s=0.01)
        gate.committed(["kept"])
        await until(lambda: out.flushes >= 1, what="a failed flush")
        await gate.close(timeout_s=1.0)
        assert acks.acked == []  # redelivered by JetStream; the next start publishes the reply
        acks2, out2 = Acks(), Out()
        gate2 = OutGate(acks2, out2, retry_s=0.01)
        out2.gate = asyncio.Event()
        gate2.committed(["last"])
        closing = asyncio.ensure_future(gate2.close(timeout_s=5.0))
        out2.gate.set()
        await closing
        assert acks2.acked == ["last"]

    asyncio.run(run())
