"""Process-wide settings of a server that answers many small interactive calls (the app, and the
benchmarks that measure it without a browser)."""

from __future__ import annotations


def limit_threads_for_serving() -> None:
    """One torch thread and one BLAS thread per calling thread.

    Interactive calls are many and small: one thread each serves concurrent users better. numpy's
    OpenBLAS too: with 2 threads a (10, 32) @ (32, 5000) product took 8 ms instead of 0.15 ms on a
    busy 2-core machine (waking the second thread), and every map placement does one.
    """
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    threadpool_limits(1, user_api="blas")
