/* Memory on a 64-byte boundary (a cache line, an AVX-512 vector) for the
 * kernels' own buffers: malloc's large chunks start 16 bytes past a page,
 * so every vector load of a row straddled two lines (nnfast/_aligned.py
 * has the measurements). Free with nnfast_aligned_free. */
#ifndef NNFAST_ALLOC_H
#define NNFAST_ALLOC_H

#include <stddef.h>
#include <stdlib.h>

#if defined(_WIN32)
#include <malloc.h>
static inline void *nnfast_aligned_malloc(size_t size)
{
    return _aligned_malloc(size ? size : 64, 64);
}
static inline void nnfast_aligned_free(void *p) { _aligned_free(p); }
#else
static inline void *nnfast_aligned_malloc(size_t size)
{
    void *p = NULL;
    return posix_memalign(&p, 64, size ? size : 64) == 0 ? p : NULL;
}
static inline void nnfast_aligned_free(void *p) { free(p); }
#endif

#endif
