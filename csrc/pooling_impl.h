/* Body of pooling.c, included once per element type with
 *   NNFAST_T       float or double
 *   NNFAST_FN(n)   n ## _f32 or n ## _f64 */

void NNFAST_FN(maxpool2d_forward_plane)(
    const NNFAST_T *restrict x, int64_t height, int64_t width, int64_t kernel_h,
    int64_t kernel_w, int64_t pad_h, int64_t pad_w, int64_t stride_h,
    int64_t stride_w, int64_t height_col, int64_t width_col,
    NNFAST_T *restrict out, int64_t *restrict argmax)
{
    if (kernel_h == 2 && kernel_w == 2 && stride_h == 2 && stride_w == 2
        && pad_h == 0 && pad_w == 0) {
        /* The common 2x2, stride 2 case (LeNet, VGG-style nets) unrolled: the
         * generic loop's bounds and trip counts cost more than its 4 compares. */
        for (int64_t h_col = 0; h_col < height_col; ++h_col) {
            const int64_t row = 2 * h_col * width;
            for (int64_t w_col = 0; w_col < width_col; ++w_col) {
                int64_t best = row + 2 * w_col, index = best;
                NNFAST_T best_val = x[best], val;
                int take;
#define NNFAST_MAXPOOL_TRY(offset)                                   \
                index = row + 2 * w_col + (offset);                  \
                val = x[index];                                      \
                take = (val > best_val) | (val != val);              \
                best_val = take ? val : best_val;                    \
                best ^= (best ^ index) & -(int64_t)take;
                NNFAST_MAXPOOL_TRY(1)
                NNFAST_MAXPOOL_TRY(width)
                NNFAST_MAXPOOL_TRY(width + 1)
#undef NNFAST_MAXPOOL_TRY
                out[h_col * width_col + w_col] = best_val;
                argmax[h_col * width_col + w_col] = best;
            }
        }
        return;
    }
    for (int64_t h_col = 0; h_col < height_col; ++h_col) {
        int64_t h_start = h_col * stride_h - pad_h;
        int64_t h_end = h_start + kernel_h < height ? h_start + kernel_h : height;
        if (h_start < 0) h_start = 0;
        for (int64_t w_col = 0; w_col < width_col; ++w_col) {
            int64_t w_start = w_col * stride_w - pad_w;
            int64_t w_end = w_start + kernel_w < width ? w_start + kernel_w : width;
            if (w_start < 0) w_start = 0;
            /* Start from the window's first pixel, not from -inf: argmax is
             * then a valid index even for a window of -inf values. */
            int64_t best = h_start * width + w_start;
            NNFAST_T best_val = x[best];
            for (int64_t h_im = h_start; h_im < h_end; ++h_im) {
                for (int64_t w_im = w_start; w_im < w_end; ++w_im) {
                    const int64_t index = h_im * width + w_im;
                    const NNFAST_T val = x[index];
                    /* val != val: NaN propagates, as in PyTorch. Selects,
                     * not a branch: which pixel wins is a coin toss on real
                     * data, and the mispredicted branch cost ~20x. */
                    const int take = (val > best_val) | (val != val);
                    best_val = take ? val : best_val;
                    best ^= (best ^ index) & -(int64_t)take;  /* a mask, not a branch */
                }
            }
            out[h_col * width_col + w_col] = best_val;
            argmax[h_col * width_col + w_col] = best;
        }
    }
}

void NNFAST_FN(maxpool2d_backward_plane)(
    const NNFAST_T *restrict grad_out, const int64_t *restrict argmax,
    int64_t size_col, int64_t size, NNFAST_T *restrict grad_x)
{
    for (int64_t i = 0; i < size; ++i) grad_x[i] = 0;
    /* += : with overlapping windows one pixel can be the maximum of several */
    for (int64_t i = 0; i < size_col; ++i) grad_x[argmax[i]] += grad_out[i];
}

void NNFAST_FN(avgpool2d_forward_plane)(
    const NNFAST_T *restrict x, int64_t height, int64_t width, int64_t kernel_h,
    int64_t kernel_w, int64_t pad_h, int64_t pad_w, int64_t stride_h,
    int64_t stride_w, int64_t height_col, int64_t width_col,
    NNFAST_T *restrict out)
{
    const NNFAST_T scale = (NNFAST_T)1 / (NNFAST_T)(kernel_h * kernel_w);
    for (int64_t h_col = 0; h_col < height_col; ++h_col) {
        int64_t h_start = h_col * stride_h - pad_h;
        int64_t h_end = h_start + kernel_h < height ? h_start + kernel_h : height;
        if (h_start < 0) h_start = 0;
        for (int64_t w_col = 0; w_col < width_col; ++w_col) {
            int64_t w_start = w_col * stride_w - pad_w;
            int64_t w_end = w_start + kernel_w < width ? w_start + kernel_w : width;
            if (w_start < 0) w_start = 0;
            NNFAST_T sum = 0;
            for (int64_t h_im = h_start; h_im < h_end; ++h_im)
                for (int64_t w_im = w_start; w_im < w_end; ++w_im)
                    sum += x[h_im * width + w_im];
            out[h_col * width_col + w_col] = sum * scale;
        }
    }
}

void NNFAST_FN(avgpool2d_backward_plane)(
    const NNFAST_T *restrict grad_out, int64_t height, int64_t width,
    int64_t kernel_h, int64_t kernel_w, int64_t pad_h, int64_t pad_w,
    int64_t stride_h, int64_t stride_w, int64_t height_col, int64_t width_col,
    NNFAST_T *restrict grad_x)
{
    const NNFAST_T scale = (NNFAST_T)1 / (NNFAST_T)(kernel_h * kernel_w);
    for (int64_t i = 0; i < height * width; ++i) grad_x[i] = 0;
    for (int64_t h_col = 0; h_col < height_col; ++h_col) {
        int64_t h_start = h_col * stride_h - pad_h;
        int64_t h_end = h_start + kernel_h < height ? h_start + kernel_h : height;
        if (h_start < 0) h_start = 0;
        for (int64_t w_col = 0; w_col < width_col; ++w_col) {
            int64_t w_start = w_col * stride_w - pad_w;
            int64_t w_end = w_start + kernel_w < width ? w_start + kernel_w : width;
            if (w_start < 0) w_start = 0;
            const NNFAST_T g = grad_out[h_col * width_col + w_col] * scale;
            /* += : overlapping windows each add their share */
            for (int64_t h_im = h_start; h_im < h_end; ++h_im)
                for (int64_t w_im = w_start; w_im < w_end; ++w_im)
                    grad_x[h_im * width + w_im] += g;
        }
    }
}
