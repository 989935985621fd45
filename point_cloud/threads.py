"""Worker threads for the per-scan hot path, one named pool per use and per process.

numpy's large array operations, OpenCV and ONNX Runtime release the GIL, so on the line
PC's second core a thread can take half of the full-cloud projection pass, or the learned
members while the main thread measures the weld (``bench/bench_end_to_end.py``). A pool
made before a fork is not carried into the child (its threads are not): each process makes
its own.

numpy's BLAS (OpenBLAS) gets one thread (:func:`quiet_blas`): the hot path's matrices are
tiny (plane and line fits, 4x4 transforms), and OpenBLAS's idle threads spin for a while
after each call, on the cores the projection pass and ONNX Runtime need. With its default
two threads a type-7 scan took 1.25x as long (bench/bench_end_to_end.py).
"""

from __future__ import annotations

import functools
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from threadpoolctl import threadpool_limits

_POOLS: dict[str, tuple[int, ThreadPoolExecutor]] = {}
_LOCK = threading.Lock()


def cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def pool(name: str, workers: int) -> ThreadPoolExecutor:
    """The process's pool ``name`` of ``workers`` threads (made on first use)."""
    with _LOCK:
        held = _POOLS.get(name)
        if held is None or held[0] != os.getpid():
            held = (os.getpid(), ThreadPoolExecutor(workers, thread_name_prefix=name))
            _POOLS[name] = held
        return held[1]


@functools.cache
def quiet_blas() -> None:
    """numpy's BLAS on one thread from now on in this process (the first call does it)."""
    threadpool_limits(limits=1, user_api="blas")
