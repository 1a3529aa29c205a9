"""nnfast's random state: ``nf.seed(n)`` makes initialisation, shuffling and
dropout repeatable; functions that draw take an optional ``rng`` too."""
import numbers

import numpy as np

_rng = np.random.default_rng()


def seed(n):
    """Seed nnfast's global random generator (initializers, shuffling, dropout)."""
    global _rng
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
        raise ValueError(f"seed must be a non-negative int, got {n!r}")
    _rng = np.random.default_rng(int(n))


def get_rng(rng=None):
    """``rng`` as a numpy Generator: the global one when ``rng`` is None."""
    if rng is None:
        return _rng
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        if rng < 0:
            raise ValueError(f"rng must be None, a non-negative int seed or a "
                             f"numpy.random.Generator, got {int(rng)}")
        return np.random.default_rng(int(rng))
    raise TypeError(f"rng must be None, an int seed or a numpy.random.Generator, got {type(rng).__name__}")
