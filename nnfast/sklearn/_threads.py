"""nnfast's thread count for the length of one call, then as it was."""
from contextlib import contextmanager

from nnfast._runtime import get_num_threads, set_num_threads


@contextmanager
def nnfast_threads(n_jobs):
    """Run the block with ``n_jobs`` nnfast threads (None: leave the current
    setting), restoring the caller's setting afterwards."""
    if n_jobs is None:
        yield
        return
    old = get_num_threads()
    set_num_threads(n_jobs)
    try:
        yield
    finally:
        set_num_threads(old)
