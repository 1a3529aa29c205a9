/* im2col / col2im in float and double: one generic body (im2col_impl.h)
 * compiled once per type. */
#include <string.h>

#include "im2col.h"
#include "conv_geometry.h"

#define NNFAST_T float
#define NNFAST_FN(name) name##_f32
#include "im2col_impl.h"
#undef NNFAST_T
#undef NNFAST_FN

#define NNFAST_T double
#define NNFAST_FN(name) name##_f64
#include "im2col_impl.h"
#undef NNFAST_T
#undef NNFAST_FN
