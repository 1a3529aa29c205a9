/* Flush denormals to zero (FTZ) and treat denormal inputs as zero (DAZ), for
 * one kernel's duration only.
 *
 * Why flush: sigmoid and softmax tails, and momentum buffers that decay
 * towards 0, produce denormal floats; on x86 each operation on one can cost
 * ~100 cycles. Deep learning never needs them.
 *
 * Why restore: MXCSR is the calling thread's state. The caller's NumPy and
 * Python arithmetic, and the reference backend, must never see nnfast's
 * mode (an earlier build left FTZ/DAZ set, and `1e-310 * 1.0` became 0 in
 * the user's own code). nnfast_fp_enter returns the control word as it was;
 * nnfast_fp_exit puts its mode bits back and keeps the exception flags the
 * kernel raised, so a caller who tests them still sees an overflow. Every
 * OpenMP thread of a kernel does the same for itself (the register is per
 * thread). Both cost a few cycles. */
#ifndef NNFAST_FPU_H
#define NNFAST_FPU_H

#if defined(__SSE__) || defined(__x86_64__) || defined(_M_X64)
#include <xmmintrin.h>
#define NNFAST_MXCSR_FLAGS 0x3Fu /* IE DE ZE OE UE PE: sticky status bits */
static inline unsigned int nnfast_fp_enter(void) {
    unsigned int old = _mm_getcsr();
    _mm_setcsr(old | 0x8040u); /* FTZ (bit 15) | DAZ (bit 6) */
    return old;
}
static inline void nnfast_fp_exit(unsigned int old) {
    _mm_setcsr((old & ~NNFAST_MXCSR_FLAGS) | (_mm_getcsr() & NNFAST_MXCSR_FLAGS));
}
static inline unsigned int nnfast_fp_mode(void) { return _mm_getcsr() & ~NNFAST_MXCSR_FLAGS; }
#else
static inline unsigned int nnfast_fp_enter(void) { return 0; }
static inline void nnfast_fp_exit(unsigned int old) { (void)old; }
static inline unsigned int nnfast_fp_mode(void) { return 0; }
#endif

#endif
