# The kernels' own buffers on 64-byte boundaries (csrc/nnfast_alloc.h):
# nnfast_aligned_malloc(size) or NULL; free with nnfast_aligned_free.
cdef extern from "nnfast_alloc.h" nogil:
    void *nnfast_aligned_malloc(size_t size)
    void nnfast_aligned_free(void *p)
