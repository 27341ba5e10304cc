"""The service allocates Arrow's buffers with the C allocator, not pyarrow's own pool.

pyarrow's default pool (mimalloc or jemalloc, as the wheel was built) keeps the pages of freed
buffers for reuse. The service's Arrow buffers are short-lived (one sink batch at a time), so
what that pool keeps is only resident memory: 5,000 answered messages with the default settings
ended at 307 MB resident with pyarrow's mimalloc pool and 270 MB with the system pool
(``python -m benchmarks e2e --memory --n 5000``). A user who names a pool in
``ARROW_DEFAULT_MEMORY_POOL`` keeps it.
"""

from __future__ import annotations

from collections.abc import Mapping

import pyarrow as pa

__all__ = ["ARROW_POOL_VARIABLE", "use_system_arrow_pool"]

ARROW_POOL_VARIABLE = "ARROW_DEFAULT_MEMORY_POOL"


def use_system_arrow_pool(env: Mapping[str, str]) -> str:
    """Make the system allocator pyarrow's default pool, unless ``env`` names one; returns the pool in use."""
    if not env.get(ARROW_POOL_VARIABLE):
        pa.set_memory_pool(pa.system_memory_pool())
    return str(pa.default_memory_pool().backend_name)
