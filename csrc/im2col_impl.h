/* Body of im2col.c, included once per element type with
 *   NNFAST_T       float or double
 *   NNFAST_FN(n)   n ## _f32 or n ## _f64 */

/* dst[:n] := src[:n] in 16-byte chunks, the last one overlapping the one
 * before when n is not a multiple (the same values written twice): a row
 * of 10 floats is three load/store pairs, without a loop tail. A fixed-size
 * memcpy compiles to one unaligned load and store. */
static inline void NNFAST_FN(copy_row)(NNFAST_T *restrict dst,
                                       const NNFAST_T *restrict src, int64_t n)
{
    const int64_t chunk = 16 / (int64_t)sizeof(NNFAST_T);
    if (n < chunk) {
        for (int64_t i = 0; i < n; ++i) dst[i] = src[i];
        return;
    }
    int64_t k = 0;
    for (; k + chunk <= n; k += chunk) memcpy(dst + k, src + k, 16);
    if (k < n) memcpy(dst + n - chunk, src + n - chunk, 16);
}

/* im2col for stride_w == dilation_w == 1. Column row (c_im, h_offset,
 * w_offset) at output row h_col is input row h_im shifted by w_offset -
 * pad_left: a copy of width_col values with zeros where the shift runs off
 * the row. The valid range of each shift is computed once per column row,
 * and the copy reads the input directly: an earlier version padded each row
 * into a small buffer first, and the copies' vector loads from scalar
 * stores just made were stalled on store forwarding. */
static void NNFAST_FN(im2col_rows_stride1)(
    const NNFAST_T *restrict data_im, int64_t channels, int64_t height,
    int64_t width, int64_t width_col, int64_t kernel_h, int64_t kernel_w,
    int64_t pad_top, int64_t pad_left, int64_t stride_h, int64_t dilation_h,
    int64_t h_col_begin, int64_t h_col_end, NNFAST_T *restrict data_col)
{
    NNFAST_T *dst = data_col;
    /* column rows in order, each written front to back */
    for (int64_t c_im = 0; c_im < channels; ++c_im) {
        const NNFAST_T *im = data_im + c_im * height * width;
        for (int64_t h_offset = 0; h_offset < kernel_h; ++h_offset)
            for (int64_t j = 0; j < kernel_w; ++j) {
                /* w_im = w + shift; [lo, hi) is nnfast_valid_range's
                 * range for stride 1, written out: calling it here measured
                 * 12 % slower (LeNet's 6->16 forward, 241 -> 270 us) */
                const int64_t shift = j - pad_left;
                int64_t lo = shift < 0 ? -shift : 0;
                int64_t hi = width - shift < width_col ? width - shift : width_col;
                if (lo > width_col) lo = width_col;
                if (hi < lo) hi = lo;
                for (int64_t h_col = h_col_begin; h_col < h_col_end;
                     ++h_col, dst += width_col) {
                    const int64_t h_im = h_col * stride_h - pad_top
                                         + h_offset * dilation_h;
                    /* 0 <= h_im < height in one unsigned comparison */
                    if ((uint64_t)h_im >= (uint64_t)height) {
                        for (int64_t w = 0; w < width_col; ++w) dst[w] = 0;
                        continue;
                    }
                    for (int64_t w = 0; w < lo; ++w) dst[w] = 0;
                    NNFAST_FN(copy_row)(dst + lo, im + h_im * width + lo + shift, hi - lo);
                    for (int64_t w = hi; w < width_col; ++w) dst[w] = 0;
                }
            }
    }
}

void NNFAST_FN(im2col)(const NNFAST_T *restrict data_im, int64_t channels,
                       int64_t height, int64_t width, int64_t height_col,
                       int64_t width_col, int64_t kernel_h, int64_t kernel_w,
                       int64_t pad_top, int64_t pad_left, int64_t stride_h,
                       int64_t stride_w, int64_t dilation_h, int64_t dilation_w,
                       int64_t h_col_begin, int64_t h_col_end,
                       NNFAST_T *restrict data_col)
{
    const int64_t channels_col = channels * kernel_h * kernel_w;
    const int64_t rows = h_col_end - h_col_begin;
    (void)height_col; /* kept for PyTorch's signature; the rows bound the loop */
    if (stride_w == 1 && dilation_w == 1) {
        NNFAST_FN(im2col_rows_stride1)(data_im, channels, height, width,
                                       width_col, kernel_h, kernel_w, pad_top,
                                       pad_left, stride_h, dilation_h,
                                       h_col_begin, h_col_end, data_col);
        return;
    }
    for (int64_t c_col = 0; c_col < channels_col; ++c_col) {
        const int64_t w_offset = c_col % kernel_w;
        const int64_t h_offset = (c_col / kernel_w) % kernel_h;
        const int64_t c_im = c_col / kernel_h / kernel_w;
        const NNFAST_T *im = data_im + c_im * height * width;
        NNFAST_T *col = data_col + c_col * rows * width_col;
        const int64_t w_shift = w_offset * dilation_w - pad_left;
        int64_t w_lo, w_hi;
        nnfast_valid_range(w_shift, stride_w, width, width_col, &w_lo, &w_hi);
        for (int64_t h_col = h_col_begin; h_col < h_col_end; ++h_col) {
            const int64_t h_im = h_col * stride_h - pad_top + h_offset * dilation_h;
            int64_t w_col = 0;
            /* 0 <= h_im < height in one unsigned comparison: a negative
             * h_im converts to a value above any valid height (Caffe's
             * trick); a whole padded row is then zero-filled at once. */
            if ((uint64_t)h_im >= (uint64_t)height) {
                for (; w_col < width_col; ++w_col) col[w_col] = 0;
                col += width_col;
                continue;
            }
            const NNFAST_T *row = im + h_im * width;
            for (; w_col < w_lo; ++w_col) col[w_col] = 0;
            if (stride_w == 1) {
                for (; w_col < w_hi; ++w_col) col[w_col] = row[w_col + w_shift];
            } else {
                for (; w_col < w_hi; ++w_col)
                    col[w_col] = row[w_col * stride_w + w_shift];
            }
            for (; w_col < width_col; ++w_col) col[w_col] = 0;
            col += width_col;
        }
    }
}

void NNFAST_FN(col2im_add)(const NNFAST_T *restrict data_col, int64_t channels,
                           int64_t height, int64_t width, int64_t height_col,
                           int64_t width_col, int64_t kernel_h, int64_t kernel_w,
                           int64_t pad_top, int64_t pad_left, int64_t stride_h,
                           int64_t stride_w, int64_t dilation_h,
                           int64_t dilation_w, int64_t h_col_begin,
                           int64_t h_col_end, NNFAST_T *restrict data_im)
{
    const int64_t channels_col = channels * kernel_h * kernel_w;
    const int64_t rows = h_col_end - h_col_begin;
    (void)height_col; /* kept for PyTorch's signature; the rows bound the loop */
    for (int64_t c_col = 0; c_col < channels_col; ++c_col) {
        const int64_t w_offset = c_col % kernel_w;
        const int64_t h_offset = (c_col / kernel_w) % kernel_h;
        const int64_t c_im = c_col / kernel_h / kernel_w;
        NNFAST_T *im = data_im + c_im * height * width;
        const NNFAST_T *col = data_col + c_col * rows * width_col;
        const int64_t w_shift = w_offset * dilation_w - pad_left;
        int64_t w_lo, w_hi;
        nnfast_valid_range(w_shift, stride_w, width, width_col, &w_lo, &w_hi);
        for (int64_t h_col = h_col_begin; h_col < h_col_end;
             ++h_col, col += width_col) {
            const int64_t h_im = h_col * stride_h - pad_top + h_offset * dilation_h;
            /* 0 <= h_im < height in one unsigned comparison (see im2col). */
            if ((uint64_t)h_im >= (uint64_t)height) continue;
            NNFAST_T *row = im + h_im * width;
            /* += never =: with overlapping windows (kernel > stride) several
             * columns feed one pixel, and each must add its share. */
            if (stride_w == 1) {
                for (int64_t w_col = w_lo; w_col < w_hi; ++w_col)
                    row[w_col + w_shift] += col[w_col];
            } else {
                for (int64_t w_col = w_lo; w_col < w_hi; ++w_col)
                    row[w_col * stride_w + w_shift] += col[w_col];
            }
        }
    }
}

void NNFAST_FN(col2im)(const NNFAST_T *restrict data_col, int64_t channels,
                       int64_t height, int64_t width, int64_t height_col,
                       int64_t width_col, int64_t kernel_h, int64_t kernel_w,
                       int64_t pad_top, int64_t pad_left, int64_t stride_h,
                       int64_t stride_w, int64_t dilation_h, int64_t dilation_w,
                       NNFAST_T *restrict data_im)
{
    const int64_t size = channels * height * width;
    for (int64_t i = 0; i < size; ++i) data_im[i] = 0;
    NNFAST_FN(col2im_add)(data_col, channels, height, width, height_col,
                          width_col, kernel_h, kernel_w, pad_top, pad_left,
                          stride_h, stride_w, dilation_h, dilation_w, 0,
                          height_col, data_im);
}
