/* Flush denormals to zero (FTZ) and treat denormal inputs as zero (DAZ).
 *
 * Why: sigmoid and softmax tails, and momentum buffers that decay towards 0,
 * produce denormal floats; on x86 each operation on one can cost ~100 cycles.
 * Deep learning never needs them. The MXCSR register is per thread, so every
 * OpenMP thread of a kernel sets it; setting it costs a few cycles. */
#ifndef NNFAST_FPU_H
#define NNFAST_FPU_H

#if defined(__SSE__) || defined(__x86_64__) || defined(_M_X64)
#include <xmmintrin.h>
static inline void nnfast_flush_denormals(void) {
    _mm_setcsr(_mm_getcsr() | 0x8040); /* FTZ (bit 15) | DAZ (bit 6) */
}
#else
static inline void nnfast_flush_denormals(void) {}
#endif

#endif
