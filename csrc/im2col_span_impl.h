/* Body of im2col_span.c, included once per element type with
 *   NNFAST_T       float or double
 *   NNFAST_FN(n)   n ## _f32 or n ## _f64 */

void NNFAST_FN(pad_image)(const NNFAST_T *restrict image, int64_t channels,
                          int64_t height, int64_t width, int64_t pad_top,
                          int64_t pad_left, int64_t height_pad,
                          int64_t width_pad, NNFAST_T *restrict padded)
{
    const int64_t plane_pad = height_pad * width_pad;
    for (int64_t c = 0; c < channels; ++c) {
        NNFAST_T *dst = padded + c * plane_pad;
        const NNFAST_T *src = image + c * height * width;
        memset(dst, 0, (size_t)(pad_top * width_pad) * sizeof(NNFAST_T));
        for (int64_t h = 0; h < height; ++h) {
            NNFAST_T *row = dst + (h + pad_top) * width_pad;
            int64_t w = 0;
            for (; w < pad_left; ++w) row[w] = 0;
            memcpy(row + pad_left, src + h * width, (size_t)width * sizeof(NNFAST_T));
            for (w = pad_left + width; w < width_pad; ++w) row[w] = 0;
        }
        memset(dst + (height + pad_top) * width_pad, 0,
               (size_t)((height_pad - height - pad_top) * width_pad) * sizeof(NNFAST_T));
    }
}

void NNFAST_FN(crop_image)(const NNFAST_T *restrict padded, int64_t channels,
                           int64_t height_pad, int64_t width_pad,
                           int64_t pad_top, int64_t pad_left, int64_t height,
                           int64_t width, NNFAST_T *restrict image)
{
    for (int64_t c = 0; c < channels; ++c)
        for (int64_t h = 0; h < height; ++h)
            memcpy(image + (c * height + h) * width,
                   padded + (c * height_pad + h + pad_top) * width_pad + pad_left,
                   (size_t)width * sizeof(NNFAST_T));
}

void NNFAST_FN(im2col_span)(const NNFAST_T *restrict padded, int64_t channels,
                            int64_t height_pad, int64_t width_pad,
                            int64_t kernel_h, int64_t kernel_w,
                            int64_t width_col, int64_t h0, int64_t h1,
                            NNFAST_T *restrict col)
{
    const int64_t span = (h1 - h0) * width_pad;
    /* the last row's discarded positions would run past the image */
    const int64_t valid = span - (width_pad - width_col);
    for (int64_t c = 0; c < channels; ++c)
        for (int64_t i = 0; i < kernel_h; ++i)
            for (int64_t j = 0; j < kernel_w; ++j, col += span) {
                memcpy(col, padded + (c * height_pad + h0 + i) * width_pad + j,
                       (size_t)valid * sizeof(NNFAST_T));
                for (int64_t p = valid; p < span; ++p) col[p] = 0;
            }
}

/* dst[q] += sum_j col[j * span + q - j] over the taps j < taps with
 * 0 <= q - j < valid. Always inlined, so that a constant taps unrolls. */
static inline __attribute__((always_inline)) void NNFAST_FN(span_add_taps)(
    NNFAST_T *restrict dst, const NNFAST_T *restrict col, int64_t span,
    int64_t valid, int64_t taps)
{
    const int64_t lanes = NNFAST_SPAN_LANES;
    const int64_t end = valid + taps - 1;
    int64_t q = 0;
    /* head: the taps with q - j >= 0 */
    for (; q < taps - 1 && q < end; ++q)
        for (int64_t j = 0; j <= q; ++j)
            if (q - j < valid) dst[q] += col[j * span + q - j];
    /* middle: every tap, a vector of lanes at a time */
    for (; q + lanes <= valid; q += lanes) {
        NNFAST_SPAN_VEC v, t;
        memcpy(&v, dst + q, sizeof v);
        for (int64_t j = 0; j < taps; ++j) {
            memcpy(&t, col + j * span + q - j, sizeof t);
            v += t;
        }
        memcpy(dst + q, &v, sizeof v);
    }
    /* tail: the taps with q - j < valid */
    for (; q < end; ++q)
        for (int64_t j = 0; j < taps; ++j)
            if (q - j >= 0 && q - j < valid) dst[q] += col[j * span + q - j];
}

void NNFAST_FN(col2im_span_add)(const NNFAST_T *restrict col, int64_t channels,
                                int64_t height_pad, int64_t width_pad,
                                int64_t kernel_h, int64_t kernel_w,
                                int64_t width_col, int64_t h0, int64_t h1,
                                NNFAST_T *restrict padded)
{
    const int64_t span = (h1 - h0) * width_pad;
    const int64_t valid = span - (width_pad - width_col);
    /* Tap j of a (channel, kernel row) adds its column row at offset j:
     * dst[q] += sum_j col_j[q - j]. Summed per q, each dst element is read
     * and written once; added tap by tap, the loads of one tap would hit the
     * stores of the last one shifted by one element, and wait on store
     * forwarding. The usual kernel widths get the tap loop unrolled. */
    for (int64_t c = 0; c < channels; ++c)
        for (int64_t i = 0; i < kernel_h; ++i, col += kernel_w * span) {
            NNFAST_T *dst = padded + (c * height_pad + h0 + i) * width_pad;
            switch (kernel_w) {
            case 3:
                NNFAST_FN(span_add_taps)(dst, col, span, valid, 3);
                break;
            case 5:
                NNFAST_FN(span_add_taps)(dst, col, span, valid, 5);
                break;
            default:
                NNFAST_FN(span_add_taps)(dst, col, span, valid, kernel_w);
            }
        }
}

void NNFAST_FN(spread_rows)(const NNFAST_T *restrict packed, int64_t channels,
                            int64_t rows, int64_t width, int64_t ld_channel,
                            int64_t width_pad, NNFAST_T *restrict span)
{
    for (int64_t c = 0; c < channels; ++c) {
        const NNFAST_T *src = packed + c * ld_channel;
        for (int64_t r = 0; r < rows; ++r, span += width_pad, src += width) {
            memcpy(span, src, (size_t)width * sizeof(NNFAST_T));
            for (int64_t w = width; w < width_pad; ++w) span[w] = 0;
        }
    }
}

void NNFAST_FN(pack_rows)(const NNFAST_T *restrict span, int64_t channels,
                          int64_t rows, int64_t width, int64_t width_pad,
                          const NNFAST_T *restrict bias, int relu,
                          int64_t ld_channel, NNFAST_T *restrict packed)
{
    for (int64_t c = 0; c < channels; ++c) {
        const NNFAST_T b = bias ? bias[c] : 0;
        NNFAST_T *dst = packed + c * ld_channel;
        for (int64_t r = 0; r < rows; ++r, span += width_pad, dst += width) {
            if (relu) {
                for (int64_t w = 0; w < width; ++w) {
                    const NNFAST_T v = span[w] + b;
                    dst[w] = v < 0 ? 0 : v;
                }
            } else {
                for (int64_t w = 0; w < width; ++w) dst[w] = span[w] + b;
            }
        }
    }
}
