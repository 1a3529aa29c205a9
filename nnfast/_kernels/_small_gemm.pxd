# The float32 register-tile GEMMs (csrc/small_gemm.h), one copy of the C
# in _small_gemm's extension, shared by the modules that cimport this.
cdef bint small_gemm(bint trans_a, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
                     const float *a, Py_ssize_t lda, const float *b, Py_ssize_t ldb,
                     bint accumulate, float *c, Py_ssize_t ldc) noexcept nogil
cdef bint small_gemm_rows(Py_ssize_t m, Py_ssize_t n, Py_ssize_t k, const float *a,
                          Py_ssize_t lda, const float *const *b_rows, bint accumulate,
                          float *c, Py_ssize_t ldc) noexcept nogil
cdef bint dot_gemm_rows(Py_ssize_t m, Py_ssize_t n, Py_ssize_t k, const float *const *a_rows,
                        const float *b, Py_ssize_t ldb, bint accumulate, float *c,
                        Py_ssize_t ldc) noexcept nogil
cdef bint small_gemm_rows_preferred() noexcept nogil
cdef bint dot_gemm(Py_ssize_t m, Py_ssize_t n, Py_ssize_t k, const float *a, Py_ssize_t lda,
                   const float *b, Py_ssize_t ldb, bint accumulate, float *c,
                   Py_ssize_t ldc) noexcept nogil
cdef void column_sums(Py_ssize_t m, Py_ssize_t n, const float *a, Py_ssize_t lda,
                      float *out) noexcept nogil
cdef bint small_gemm_runs() noexcept nogil
cdef bint small_gemm_is_avx512() noexcept nogil
