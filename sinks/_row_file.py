"""Fixed-size float32 rows in an unnamed file: the exact vectors a quantised index ranks its candidates with.

Read and written with ``pread``/``pwrite``, never mapped, so the rows live in the kernel's page
cache (which gives them back under pressure) and not in the process's resident memory. The
file has no name (it is unlinked when made): nothing is left behind however the process ends,
and it is rebuilt from the ``vectors`` table at each start, as the index is.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

__all__ = ["RowFile"]


class RowFile:
    """Rows of ``dim`` float32 values at slots 0, 1, 2, ...

    Args:
        dim: values per row.
        folder: where the unnamed file is made (``None``: the system's temporary folder).

    Raises:
        OSError: the file cannot be made.
    """

    def __init__(self, dim: int, folder: str | Path | None = None) -> None:
        self.dim = dim
        self._row_bytes = 4 * dim
        # held open for the index's life (closing the file deletes it): no ``with`` block can own it
        self._file = tempfile.TemporaryFile(dir=folder, prefix="vector-rows-")  # noqa: SIM115

    def write(self, slot: int, rows: npt.NDArray[np.float32]) -> None:
        """Write ``rows`` at ``slot``, ``slot + 1``, ..."""
        data = np.ascontiguousarray(rows, dtype=np.float32).tobytes()
        offset = slot * self._row_bytes
        view = memoryview(data)
        while view:
            written = os.pwrite(self._file.fileno(), view, offset)
            view, offset = view[written:], offset + written

    def move(self, source: int, target: int) -> None:
        """Copy the row at ``source`` to ``target``."""
        self.write(target, self.read([source]))

    def read(self, slots: Sequence[int] | npt.NDArray[np.intp]) -> npt.NDArray[np.float32]:
        """The rows at ``slots``, in that order, as a ``(len(slots), dim)`` matrix."""
        out = np.empty((len(slots), self.dim), dtype=np.float32)
        buffer = out.data.cast("B")
        fd, size = self._file.fileno(), self._row_bytes
        for i, slot in enumerate(slots):
            got = os.preadv(fd, [buffer[i * size : (i + 1) * size]], int(slot) * size)
            if got != size:
                raise OSError(f"vector rows: slot {int(slot)} read {got} of {size} bytes")
        return out

    def close(self) -> None:
        """Close (and so delete) the file."""
        self._file.close()
