# OpenMP functions through csrc/nnfast_omp.h: real ones where the build found
# OpenMP, serial stand-ins otherwise.
cdef extern from "nnfast_omp.h":
    int NNFAST_OPENMP
    int omp_get_max_threads() noexcept nogil
    int omp_get_thread_num() noexcept nogil
    int omp_get_num_threads() noexcept nogil
    void omp_set_num_threads(int n) noexcept nogil

cdef extern from "nnfast_fpu.h":
    unsigned int nnfast_fp_enter() noexcept nogil
    void nnfast_fp_exit(unsigned int mode) noexcept nogil
    unsigned int nnfast_fp_mode() noexcept nogil
