/* Direct convolution in float and double: one generic body
 * (conv_direct_impl.h) compiled once per type. */
#include "conv_direct.h"
#include "conv_geometry.h"

#define NNFAST_T float
#define NNFAST_FN(name) name##_f32
#include "conv_direct_impl.h"
#undef NNFAST_T
#undef NNFAST_FN

#define NNFAST_T double
#define NNFAST_FN(name) name##_f64
#include "conv_direct_impl.h"
#undef NNFAST_T
#undef NNFAST_FN
