"""A target that does what its case says (return, raise, crash, hang): the
fuzzer's own test, that every outcome is told apart and put on its case.
Hidden: ``nnfast-fuzz`` runs it only when asked by name (``--target
selftest``)."""
import os
import signal
import time

from hypothesis import strategies as st

from nnfast.fuzz.outcome import Garbage
from nnfast.fuzz.targets import register

ACTIONS = ("ok", "expected", "wrong-kind", "garbage", "crash", "abort", "hang")


@register("selftest", st.fixed_dictionaries({"action": st.sampled_from(ACTIONS)}), ("x",),
          weight=0.0, hidden=True)
def run_selftest(spec, ctx):
    action = spec["action"]
    if action == "expected":
        raise ValueError("x must be positive, got -1")
    if action == "wrong-kind":
        raise AttributeError("'NoneType' object has no attribute 'shape'")
    if action == "garbage":
        raise Garbage("forward output: expected shape (2, 3), got (3, 2)")
    if action == "crash":
        os.kill(os.getpid(), signal.SIGSEGV)
    if action == "abort":
        os.abort()
    if action == "hang":
        time.sleep(3600)
