/* Max and average pooling in float and double: one generic body
 * (pooling_impl.h) compiled once per type. */
#include <string.h>

#include "pooling.h"

#define NNFAST_T float
#define NNFAST_UINT uint32_t
#define NNFAST_FN(name) name##_f32
#include "pooling_impl.h"
#undef NNFAST_T
#undef NNFAST_UINT
#undef NNFAST_FN

#define NNFAST_T double
#define NNFAST_UINT uint64_t
#define NNFAST_FN(name) name##_f64
#include "pooling_impl.h"
#undef NNFAST_T
#undef NNFAST_UINT
#undef NNFAST_FN
