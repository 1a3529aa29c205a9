"""GEMM through scipy's BLAS, row-major, without the GIL.

The Python-level ``gemm`` is the twin of ``nnfast.reference.gemm.gemm``; the
``cdef`` one in ``_blas.pxd`` is what the other kernels call. Like every
``nnfast._kernels`` function it trusts its caller: the public layers check
shapes and dtypes before they get here.
"""
from cython cimport floating
from nnfast._kernels._blas cimport gemm as _gemm, blas_int
from nnfast._kernels._threads cimport run_team, team_size


cdef struct GemmCall:
    # One call's arguments; matrices are float or double as ``is_double`` says.
    const void *a
    const void *b
    void *out
    blas_int m, n, k, lda, ldb
    double alpha, beta
    bint trans_a, trans_b, is_double


cdef void _gemm_body(void *args, int t, int nt) noexcept nogil:
    cdef GemmCall *c = <GemmCall *>args
    if c.is_double:
        _gemm(c.trans_a, c.trans_b, c.m, c.n, c.k, <double>c.alpha, <const double *>c.a,
              c.lda, <const double *>c.b, c.ldb, <double>c.beta, <double *>c.out, c.n)
    else:
        _gemm(c.trans_a, c.trans_b, c.m, c.n, c.k, <float>c.alpha, <const float *>c.a,
              c.lda, <const float *>c.b, c.ldb, <float>c.beta, <float *>c.out, c.n)


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
    cdef GemmCall c
    c.m, c.n = out.shape[0], out.shape[1]
    c.k = a.shape[0] if trans_a else a.shape[1]
    c.a, c.lda, c.b, c.ldb, c.out = &a[0, 0], a.shape[1], &b[0, 0], b.shape[1], &out[0, 0]
    c.alpha, c.beta = alpha, beta
    c.trans_a, c.trans_b, c.is_double = trans_a, trans_b, floating is double
    # One BLAS call, single-threaded (DESIGN.md, "Threads"): one unit of
    # work. The kernels that multiply in parallel split their products into
    # one block per thread themselves (linear.pyx).
    cdef int nt = team_size(2.0 * c.m * c.n * c.k, 1)
    with nogil:
        run_team(_gemm_body, &c, nt)
