/* Body of conv_direct.c, included once per element type with
 *   NNFAST_T       float or double
 *   NNFAST_FN(n)   n ## _f32 or n ## _f64
 *
 * Every loop nest walks one kernel tap (h_offset, w_offset) at a time over
 * the output rows it reaches, with the valid output range hoisted out (see
 * conv_geometry.h), so the innermost loop is a branch-free axpy or dot over
 * one row. */

void NNFAST_FN(conv2d_direct_forward_plane)(
    const NNFAST_T *restrict x, int64_t channels, int64_t height, int64_t width,
    const NNFAST_T *restrict weight, int64_t kernel_h, int64_t kernel_w,
    NNFAST_T bias, int64_t pad_top, int64_t pad_left, int64_t stride_h,
    int64_t stride_w, int64_t dilation_h, int64_t dilation_w,
    int64_t height_col, int64_t width_col, NNFAST_T *restrict out)
{
    const int64_t size_col = height_col * width_col;
    for (int64_t i = 0; i < size_col; ++i) out[i] = bias;
    for (int64_t c_im = 0; c_im < channels; ++c_im) {
        const NNFAST_T *im = x + c_im * height * width;
        for (int64_t h_offset = 0; h_offset < kernel_h; ++h_offset) {
            const int64_t h_shift = h_offset * dilation_h - pad_top;
            int64_t h_lo, h_hi;
            nnfast_valid_range(h_shift, stride_h, height, height_col, &h_lo, &h_hi);
            for (int64_t w_offset = 0; w_offset < kernel_w; ++w_offset) {
                const int64_t w_shift = w_offset * dilation_w - pad_left;
                int64_t w_lo, w_hi;
                nnfast_valid_range(w_shift, stride_w, width, width_col, &w_lo, &w_hi);
                const NNFAST_T w = weight[(c_im * kernel_h + h_offset) * kernel_w + w_offset];
                for (int64_t h_col = h_lo; h_col < h_hi; ++h_col) {
                    const NNFAST_T *row = im + (h_col * stride_h + h_shift) * width;
                    NNFAST_T *o = out + h_col * width_col;
                    if (stride_w == 1) {
                        for (int64_t w_col = w_lo; w_col < w_hi; ++w_col)
                            o[w_col] += w * row[w_col + w_shift];
                    } else {
                        for (int64_t w_col = w_lo; w_col < w_hi; ++w_col)
                            o[w_col] += w * row[w_col * stride_w + w_shift];
                    }
                }
            }
        }
    }
}

void NNFAST_FN(conv2d_direct_backward_input_plane)(
    const NNFAST_T *restrict grad_output, int64_t out_channels,
    int64_t height_col, int64_t width_col, const NNFAST_T *restrict weight,
    int64_t channels, int64_t c, int64_t kernel_h, int64_t kernel_w,
    int64_t pad_top, int64_t pad_left, int64_t stride_h, int64_t stride_w,
    int64_t dilation_h, int64_t dilation_w, int64_t height, int64_t width,
    NNFAST_T *restrict grad_input)
{
    for (int64_t i = 0; i < height * width; ++i) grad_input[i] = 0;
    for (int64_t o = 0; o < out_channels; ++o) {
        const NNFAST_T *g = grad_output + o * height_col * width_col;
        const NNFAST_T *wo = weight + (o * channels + c) * kernel_h * kernel_w;
        for (int64_t h_offset = 0; h_offset < kernel_h; ++h_offset) {
            const int64_t h_shift = h_offset * dilation_h - pad_top;
            int64_t h_lo, h_hi;
            nnfast_valid_range(h_shift, stride_h, height, height_col, &h_lo, &h_hi);
            for (int64_t w_offset = 0; w_offset < kernel_w; ++w_offset) {
                const int64_t w_shift = w_offset * dilation_w - pad_left;
                int64_t w_lo, w_hi;
                nnfast_valid_range(w_shift, stride_w, width, width_col, &w_lo, &w_hi);
                const NNFAST_T w = wo[h_offset * kernel_w + w_offset];
                for (int64_t h_col = h_lo; h_col < h_hi; ++h_col) {
                    NNFAST_T *row = grad_input + (h_col * stride_h + h_shift) * width;
                    const NNFAST_T *gr = g + h_col * width_col;
                    /* += : overlapping windows send several taps to one pixel */
                    if (stride_w == 1) {
                        for (int64_t w_col = w_lo; w_col < w_hi; ++w_col)
                            row[w_col + w_shift] += w * gr[w_col];
                    } else {
                        for (int64_t w_col = w_lo; w_col < w_hi; ++w_col)
                            row[w_col * stride_w + w_shift] += w * gr[w_col];
                    }
                }
            }
        }
    }
}

/* Lanes of the partial sums in the dot products below: independent
 * accumulators let the compiler vectorize a float reduction without
 * -ffast-math (which would let it reorder everything else too). */
#define NNFAST_DOT_LANES 8

void NNFAST_FN(conv2d_direct_backward_weight_plane)(
    const NNFAST_T *restrict x, int64_t n_samples, int64_t channels, int64_t c,
    int64_t height, int64_t width, const NNFAST_T *restrict grad_output,
    int64_t out_channels, int64_t o, int64_t height_col, int64_t width_col,
    int64_t kernel_h, int64_t kernel_w, int64_t pad_top, int64_t pad_left,
    int64_t stride_h, int64_t stride_w, int64_t dilation_h, int64_t dilation_w,
    NNFAST_T *restrict grad_weight)
{
    for (int64_t h_offset = 0; h_offset < kernel_h; ++h_offset) {
        const int64_t h_shift = h_offset * dilation_h - pad_top;
        int64_t h_lo, h_hi;
        nnfast_valid_range(h_shift, stride_h, height, height_col, &h_lo, &h_hi);
        for (int64_t w_offset = 0; w_offset < kernel_w; ++w_offset) {
            const int64_t w_shift = w_offset * dilation_w - pad_left;
            int64_t w_lo, w_hi;
            nnfast_valid_range(w_shift, stride_w, width, width_col, &w_lo, &w_hi);
            NNFAST_T lane[NNFAST_DOT_LANES] = {0};
            NNFAST_T tail = 0;
            for (int64_t n = 0; n < n_samples; ++n) {
                const NNFAST_T *im = x + (n * channels + c) * height * width;
                const NNFAST_T *g =
                    grad_output + (n * out_channels + o) * height_col * width_col;
                for (int64_t h_col = h_lo; h_col < h_hi; ++h_col) {
                    const NNFAST_T *row = im + (h_col * stride_h + h_shift) * width;
                    const NNFAST_T *gr = g + h_col * width_col;
                    int64_t w_col = w_lo;
                    if (stride_w == 1) {
                        for (; w_col + NNFAST_DOT_LANES <= w_hi; w_col += NNFAST_DOT_LANES)
                            for (int k = 0; k < NNFAST_DOT_LANES; ++k)
                                lane[k] += gr[w_col + k] * row[w_col + k + w_shift];
                    }
                    for (; w_col < w_hi; ++w_col)
                        tail += gr[w_col] * row[w_col * stride_w + w_shift];
                }
            }
            for (int k = 0; k < NNFAST_DOT_LANES; ++k) tail += lane[k];
            grad_weight[h_offset * kernel_w + w_offset] += tail;
        }
    }
}

#undef NNFAST_DOT_LANES
