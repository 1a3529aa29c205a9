/* OpenMP shim: the real omp.h where the build found OpenMP, serial stand-ins
 * otherwise, so that every kernel compiles either way (scikit-learn's
 * _openmp_helpers do the same). */
#ifndef NNFAST_OMP_H
#define NNFAST_OMP_H

#ifdef _OPENMP
#include <omp.h>
#define NNFAST_OPENMP 1
#else
#define NNFAST_OPENMP 0
static inline int omp_get_max_threads(void) { return 1; }
static inline int omp_get_thread_num(void) { return 0; }
static inline int omp_get_num_threads(void) { return 1; }
static inline void omp_set_num_threads(int n) { (void)n; }
#endif

#endif
