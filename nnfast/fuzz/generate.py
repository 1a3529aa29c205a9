"""Drawing the cases: hypothesis generates each target's specs, seeded.

Hypothesis runs here as a generator only (its generate phase, no shrinking,
no example database): every drawn spec is kept and later run in a child
process, where a crash cannot take hypothesis down with it.
"""
import zlib

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed


def collect(strategy, n, seed):
    """Up to ``n`` examples of ``strategy``, the same ones for the same ``seed``."""
    drawn = []
    seen = set()
    if n <= 0:
        return drawn

    @hypothesis_seed(seed)
    @settings(max_examples=n + n // 10 + 5, phases=[Phase.generate], database=None, deadline=None,
              suppress_health_check=list(HealthCheck), derandomize=False,
              report_multiple_bugs=False)
    @given(strategy)
    def draw(spec):
        key = repr(spec)   # early examples repeat: keep one of each
        if len(drawn) < n and key not in seen:
            seen.add(key)
            drawn.append(spec)

    draw()
    return drawn


def shares(targets, n_cases):
    """Cases per target: ``n_cases`` split by weight, every target at least one."""
    total = sum(t.weight for t in targets) or 1.0
    counts = [max(1, int(n_cases * t.weight / total)) for t in targets]
    i = 0
    while sum(counts) < n_cases:
        counts[i % len(counts)] += 1
        i += 1
    return counts


def generate(targets, n_cases, seed):
    """``(case_id, target_name, spec)`` for ``n_cases`` cases over ``targets``.

    Case ids are ``"<target>#<k>"``; the same ``(targets, n_cases, seed)``
    gives the same cases.
    """
    targets = sorted(targets, key=lambda t: t.name)
    cases = []
    for target, count in zip(targets, shares(targets, n_cases)):
        target_seed = (seed * 1_000_003 + zlib.crc32(target.name.encode())) % 2**32
        specs = []
        attempt = 0
        while len(specs) < count and attempt < 4:
            # a small search space can run dry; draw again with another seed
            specs += collect(target.strategy, count - len(specs), target_seed + attempt)
            attempt += 1
        cases += [(f"{target.name}#{k}", target.name, spec) for k, spec in enumerate(specs)]
    return cases
