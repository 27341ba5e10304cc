"""One thread for numpy's BLAS: the process's threads are the ones docs/architecture.md names.

OpenBLAS starts a pool of worker threads (one per core) the first time numpy multiplies large
enough matrices, and its workers spin while they wait for the next product. The being's recall
scores its matrix (up to 10,000 vectors) once per reply: on two shared cores the spinning worker
took as much CPU as the event loop itself (``python -m benchmarks e2e``: 17 CPU ms per message
with the pool, 7 without, in the same minutes of the same machine; see docs/performance.md).
One product of a matrix by one vector is bound by memory, not by cores, so a single thread
loses nothing there.
"""

from __future__ import annotations

import numpy  # noqa: F401  (loads the BLAS library whose threads are limited here)
from threadpoolctl import threadpool_limits

__all__ = ["single_threaded_blas"]


def single_threaded_blas() -> None:
    """Limit the BLAS libraries numpy loads to one thread, for the rest of the process."""
    threadpool_limits(limits=1, user_api="blas")
