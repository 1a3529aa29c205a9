# Row-major GEMM on top of scipy's Fortran (column-major) BLAS.
#
# A row-major C (m x n) is a column-major C^T (n x m), and
# C^T = op(B)^T @ op(A)^T, so a row-major product is the column-major one with
# A and B swapped (and m and n swapped), transposes kept as they are.
# scikit-learn's sklearn/utils/_cython_blas.pyx does the same.
from cython cimport floating
from scipy.linalg.cython_blas cimport sgemm, dgemm

# scipy.linalg.cython_blas declares BLAS integers as C int (LP64) on every
# build it ships; the Python boundary rejects dimensions past INT_MAX.
ctypedef int blas_int


cdef inline void gemm(bint trans_a, bint trans_b, blas_int m, blas_int n,
                      blas_int k, floating alpha, const floating *a,
                      blas_int lda, const floating *b, blas_int ldb,
                      floating beta, floating *c, blas_int ldc) noexcept nogil:
    """C := alpha * op(A) @ op(B) + beta * C, all row-major; C is (m, n)."""
    cdef char ta = b'T' if trans_a else b'N'
    cdef char tb = b'T' if trans_b else b'N'
    if m <= 0 or n <= 0:
        return
    if floating is float:
        sgemm(&tb, &ta, &n, &m, &k, &alpha, <float *>b, &ldb, <float *>a, &lda,
              &beta, c, &ldc)
    else:
        dgemm(&tb, &ta, &n, &m, &k, &alpha, <double *>b, &ldb, <double *>a,
              &lda, &beta, c, &ldc)
