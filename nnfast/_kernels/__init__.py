"""Compiled kernels (typed Cython and C, GIL released, OpenMP).

Private: these functions trust their caller (shapes, dtypes, contiguity and
label ranges are checked by the public layers, losses and optimizers before
any kernel runs). The names and argument lists are nnfast/_contract.py's,
the same as ``nnfast.reference``'s, and so are the modules that define
them (``MODULES`` there: each twin module mirrors a kernel module).
"""
from nnfast._contract import KERNELS, collect

globals().update(collect(__name__))
__all__ = sorted(KERNELS)
