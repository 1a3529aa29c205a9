/* NNFAST_CLONES: compile a function for x86-64-v4 (AVX-512), x86-64-v3
 * (AVX2, FMA) and the baseline (SSE2), the loader picking the best the CPU
 * has (GCC's target_clones, an ifunc). The build needs no -march flag, the
 * wheel runs anywhere and its loops vectorize as wide as the machine allows.
 *
 * GCC 11+ (the x86-64-v3/v4 level names) on x86-64 Linux (an ifunc needs
 * glibc); elsewhere, and under AddressSanitizer, one baseline version. */
#ifndef NNFAST_CLONES_H
#define NNFAST_CLONES_H

#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 11 && \
    defined(__x86_64__) && defined(__linux__) && !defined(__SANITIZE_ADDRESS__)
#define NNFAST_CLONES \
    __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define NNFAST_CLONES
#endif

#endif
