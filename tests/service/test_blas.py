"""The service's BLAS runs on the calling thread: no pool of spinning workers beside the named threads."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from service._blas import single_threaded_blas


@pytest.fixture
def restored_blas() -> Iterator[None]:
    before = {info["filepath"]: info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"}
    yield
    threadpool_limits(limits=max(before.values(), default=1), user_api="blas")


def test_every_blas_library_numpy_loaded_runs_one_thread(restored_blas: None) -> None:
    threadpool_limits(limits=2, user_api="blas")  # a pool, as OpenBLAS starts on a machine with cores
    single_threaded_blas()
    blas = [info for info in threadpool_info() if info["user_api"] == "blas"]
    assert blas, "numpy's BLAS library is found"
    assert [info["num_threads"] for info in blas] == [1] * len(blas)
