"""GEMM in NumPy: the twin of ``nnfast._kernels.gemm``."""
import numpy as np


def gemm(a, b, out, trans_a=False, trans_b=False, alpha=1.0, beta=0.0):
    """out := alpha * op(a) @ op(b) + beta * out.

    Parameters
    ----------
    a : ndarray of shape (m, k), or (k, m) with ``trans_a``
    b : ndarray of shape (k, n), or (n, k) with ``trans_b``
    out : ndarray of shape (m, n), all three of one dtype
    """
    a = a.T if trans_a else a
    b = b.T if trans_b else b
    prod = a @ b
    if alpha != 1.0:
        prod *= out.dtype.type(alpha)
    if beta == 0.0:
        out[...] = prod
    else:
        out *= out.dtype.type(beta)
        out += prod
