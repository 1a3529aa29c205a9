/* Span columns of a stride-1 convolution in float and double: one generic
 * body (im2col_span_impl.h) compiled once per type. */
#include <string.h>

#include "im2col_span.h"

/* 16-byte vectors (GCC and Clang vector extensions; SSE2 or NEON code) */
typedef float nnfast_v4f __attribute__((vector_size(16)));
typedef double nnfast_v2d __attribute__((vector_size(16)));

#define NNFAST_T float
#define NNFAST_FN(name) name##_f32
#define NNFAST_SPAN_VEC nnfast_v4f
#define NNFAST_SPAN_LANES 4
#include "im2col_span_impl.h"
#undef NNFAST_T
#undef NNFAST_FN
#undef NNFAST_SPAN_VEC
#undef NNFAST_SPAN_LANES

#define NNFAST_T double
#define NNFAST_FN(name) name##_f64
#define NNFAST_SPAN_VEC nnfast_v2d
#define NNFAST_SPAN_LANES 2
#include "im2col_span_impl.h"
#undef NNFAST_T
#undef NNFAST_FN
#undef NNFAST_SPAN_VEC
#undef NNFAST_SPAN_LANES
