/* Index arithmetic shared by im2col, the direct convolution and pooling. */
#ifndef NNFAST_CONV_GEOMETRY_H
#define NNFAST_CONV_GEOMETRY_H

#include <stdint.h>

/* [*lo, *hi): the output positions o in [0, out_size) whose input coordinate
 * o * stride + shift lies inside [0, size). shift is
 * kernel_offset * dilation - pad_before. Hoisting this range out of the
 * inner loops leaves them branch-free (and vectorizable for stride 1), where
 * a per-element bounds test would stop the compiler. */
static inline void nnfast_valid_range(int64_t shift, int64_t stride,
                                      int64_t size, int64_t out_size,
                                      int64_t *lo, int64_t *hi)
{
    int64_t l = shift >= 0 ? 0 : (-shift + stride - 1) / stride;
    int64_t h = size - shift <= 0 ? 0 : (size - shift + stride - 1) / stride;
    if (h > out_size) h = out_size;
    if (l > h) l = h;
    *lo = l;
    *hi = h;
}

#endif
