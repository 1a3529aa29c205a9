"""The kernels in plain NumPy: the names, argument lists and results of the
compiled ones in ``nnfast._kernels`` (nnfast/_contract.py lists them).
Select them with ``nnfast.set_backend("reference")`` to check or to read
what a kernel does. Needs NumPy only: it imports and runs with no compiled
module present.
"""
from nnfast._contract import KERNELS, collect

globals().update(collect(__name__))
__all__ = sorted(KERNELS)
