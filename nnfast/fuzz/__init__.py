"""A fuzzer for nnfast's public entry points (``nnfast-fuzz``).

Hypothesis draws cases (wrong dtypes, NaN and infinity, zero and huge sizes,
views of every layout, 0-d arrays, lists and None, mismatched shapes, calls
out of order, bad labels and hyper-parameters, corrupt and crafted files);
each runs in a child process, so that a crash or a hang is caught and put on
the case that caused it, and is classified (``outcome.CLASSES``): ok,
expected error, wrong-kind exception, crash, hang or garbage.

Needs hypothesis (the ``test`` extra); nothing else in nnfast imports it.

    nnfast-fuzz --cases 10000 --seed 0 --timeout 30
"""


def run(n_cases=1000, seed=0, timeout=30.0, jobs=2, targets=None, memory_mb=4096):
    """Draw and run ``n_cases`` cases; the list of ``runner.Result``.

    ``targets``: names (substrings) to keep, or None for every entry point.
    """
    from nnfast.fuzz.cli import _select
    from nnfast.fuzz.generate import generate
    from nnfast.fuzz.runner import run_cases
    from nnfast.fuzz.targets import all_targets
    chosen = _select(all_targets(), targets or [])
    cases = generate(chosen, n_cases, seed)
    return run_cases(cases, timeout=timeout, jobs=jobs, memory_mb=memory_mb)
