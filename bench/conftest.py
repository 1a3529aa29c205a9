"""Fixtures of the benchmark suite: implementations, threads, the sgemm peak.

Every benchmark is parametrised over the implementation (``fast``,
``reference`` and, where importable, ``torch``) inside one pytest-benchmark
group, so that the table shows them side by side. Here PyTorch runs in the
same process as nnfast (two OpenMP runtimes side by side): fine for kernel
timings, while ``nnfast bench`` runs each implementation in its own process.
"""
import os

import numpy as np
import pytest

import nnfast as nf
from nnfast.benchmarks.runner import sgemm_peak_gflops

IMPLS = ["fast", "reference", "torch"]


def bench_threads():
    """Threads for every implementation: NNFAST_BENCH_THREADS, else nnfast's default."""
    return int(os.environ.get("NNFAST_BENCH_THREADS", nf.get_num_threads()))


@pytest.fixture(scope="session", autouse=True)
def threads():
    n = bench_threads()
    nf.set_num_threads(n)
    try:
        import torch

        torch.set_num_threads(n)
    except ImportError:
        pass
    return n


@pytest.fixture(scope="session")
def sgemm_peak(threads):
    """This machine's float32 GEMM rate (GFLOP/s) with NumPy's BLAS, measured
    once per session on the same thread count: the roofline for GFLOP/s."""
    return sgemm_peak_gflops(threads)


@pytest.fixture(params=IMPLS)
def impl(request):
    """The implementation under test; torch skips where it is not importable."""
    if request.param == "torch":
        pytest.importorskip("torch")
    return request.param


@pytest.fixture
def measure(benchmark, sgemm_peak, threads):
    """``measure(impl, fn, group, samples, flops=None, unit="samples")``: time
    ``fn`` under ``impl``'s backend and record samples/s (``unit``/s), GFLOP/s
    and the fraction of the sgemm peak in ``extra_info`` (they go into the
    JSON output too)."""

    def run(impl, fn, group, samples, flops=None, unit="samples"):
        benchmark.group = group
        backend = "fast" if impl == "torch" else impl
        with nf.use_backend(backend):
            result = benchmark(fn)
        info = benchmark.extra_info
        info.update({"implementation": impl, "threads": threads, unit: samples,
                     "sgemm_peak_gflops": round(sgemm_peak, 2)})
        stats = getattr(benchmark, "stats", None)
        if stats is not None:  # None under --benchmark-disable
            seconds = stats.stats.median
            info[f"{unit}_per_s"] = samples / seconds
            if flops:
                info["gflops"] = flops / seconds / 1e9
                info["fraction_of_sgemm_peak"] = info["gflops"] / sgemm_peak
        return result

    return run


def rng(seed=0):
    return np.random.default_rng(seed)
