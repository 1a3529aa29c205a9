"""GEMM through scipy's BLAS, row-major, without the GIL.

The Python-level ``gemm`` is the twin of ``nnfast.reference.gemm.gemm``; the
``cdef`` one in ``_blas.pxd`` is what the other kernels call. Like every
``nnfast._kernels`` function it trusts its caller: the public layers check
shapes and dtypes before they get here.
"""
from cython cimport floating
from nnfast._kernels._blas cimport gemm as _gemm, blas_int


def gemm(const floating[:, ::1] a, const floating[:, ::1] b,
         floating[:, ::1] out, bint trans_a=False, bint trans_b=False,
         double alpha=1.0, double beta=0.0):
    """out := alpha * op(a) @ op(b) + beta * out.

    Parameters
    ----------
    a : ndarray of shape (m, k), or (k, m) with ``trans_a``  # IN
    b : ndarray of shape (k, n), or (n, k) with ``trans_b``  # IN
    out : ndarray of shape (m, n), all three of one dtype    # IN/OUT
    """
    cdef blas_int m = out.shape[0]
    cdef blas_int n = out.shape[1]
    cdef blas_int k = a.shape[0] if trans_a else a.shape[1]
    with nogil:
        _gemm(trans_a, trans_b, m, n, k, <floating>alpha, &a[0, 0],
              a.shape[1], &b[0, 0], b.shape[1], <floating>beta, &out[0, 0], n)
