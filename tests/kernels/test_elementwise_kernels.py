"""Activation, softmax, dropout, loss, optimizer and gemm kernels, each run
the same way (tests/kernels/kernel_call_table.py): fast == reference over
sizes from 1 up, odd ones and ones either side of the serial/parallel
cut-off, both dtypes, 1 and 2 threads; and every call leaves the caller's
floating-point mode (FTZ/DAZ) as it found it."""
import importlib
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import nnfast as nf
from nnfast import _contract, _kernels, reference
from nnfast._kernels import _threads
from conftest import assert_close, threads_and_cutoff
from kernel_call_table import CALLS, MODULES

KERNELS = sorted(CALLS)
SIZES = [1, 2, 3, 4, 5, 7, 8, 9, 11, 13, 16, 17, 21, 31, 33, 63, 65, 127, 129, 255, 257, 1001]
# the folder holding the nnfast under test (a source tree built in place, or
# site-packages for an installed wheel): a child run from there imports it
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(nf.__file__)))


def assert_fast_matches_reference(name, dtype, seed):
    for size in SIZES:
        fast = CALLS[name](_kernels, np.random.default_rng([seed, size]), dtype, size)
        ref = CALLS[name](reference, np.random.default_rng([seed, size]), dtype, size)
        assert len(fast) == len(ref)
        for f, r in zip(fast, ref):
            if r.ndim:  # a written array (returned sums are 0-d or pairs)
                assert f.dtype == r.dtype
            assert_close(f, r, dtype)


def test_table_lists_every_kernel_of_its_modules():
    """A kernel added to one of these modules gets added to the table too."""
    in_modules = {name for module in MODULES for name in _contract.KERNELS
                  if hasattr(importlib.import_module(f"nnfast._kernels.{module}"), name)}
    assert in_modules == set(CALLS)


@pytest.mark.parametrize("name", KERNELS)
def test_fast_matches_reference_parallel_forced(name, dtype, threads):
    """Every size on the parallel path (the threads fixture lowers the
    cut-off to 1 flop): blocks of one element, and threads left without."""
    assert_fast_matches_reference(name, dtype, seed=0)


@pytest.fixture
def cutoff_at_128_flops():
    """2 threads, and a serial cut-off of 64 flops per thread: with the
    kernels' costs of 1 to 20 flops per element, each kernel switches from
    one thread to two somewhere within SIZES."""
    with threads_and_cutoff(2, 64.0):
        yield


@pytest.mark.parametrize("name", KERNELS)
def test_fast_matches_reference_around_cutoff(name, dtype, cutoff_at_128_flops):
    assert_fast_matches_reference(name, dtype, seed=1)


@pytest.mark.parametrize("name", KERNELS)
def test_call_keeps_callers_fp_mode(name, threads):
    """The control word after a call is the one before it, and denormal
    arithmetic that worked before still does (see also the clean-process
    test below, for when an earlier test left denormals flushed)."""
    tiny, one = 1e-310, 1.0  # variables: a literal product is folded at compile time
    before = _threads.fp_mode()
    denormals_before = (np.float32(1e-39) * np.float32(1) != 0, tiny * one != 0)
    for dtype in (np.float32, np.float64):
        CALLS[name](_kernels, np.random.default_rng(3), dtype, 301)
    assert _threads.fp_mode() == before
    assert (np.float32(1e-39) * np.float32(1) != 0, tiny * one != 0) == denormals_before


def test_every_call_keeps_denormals_in_a_clean_process():
    """From a fresh interpreter (no earlier kernel ran): after each kernel,
    at 1 and 2 threads, the control word is unchanged and float32 and
    float64 denormal products are still nonzero."""
    code = textwrap.dedent(f"""
        import sys
        sys.path[:0] = [{os.path.dirname(os.path.abspath(__file__))!r},
                        {os.path.dirname(os.path.dirname(os.path.abspath(__file__)))!r}]
        import numpy as np
        tiny, one = 1e-310, 1.0
        assert np.float32(1e-39) * np.float32(1) != 0 and tiny * one != 0
        from kernel_call_table import fp_state_kept_after_each_call
        for failure in fp_state_kept_after_each_call((1, 2)):
            print(*failure)
    """)
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
