/* Body of pooling.c, included once per element type with
 *   NNFAST_T       float or double
 *   NNFAST_FN(n)   n ## _f32 or n ## _f64 */

void NNFAST_FN(maxpool2d_forward_plane)(
    const NNFAST_T *restrict x, int64_t height, int64_t width, int64_t kernel_h,
    int64_t kernel_w, int64_t pad_h, int64_t pad_w, int64_t stride_h,
    int64_t stride_w, int64_t height_col, int64_t width_col,
    NNFAST_T *restrict out, int64_t *restrict argmax)
{
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
                    /* val != val: NaN propagates, as in PyTorch */
                    if (val > best_val || val != val) {
                        best_val = val;
                        best = index;
                    }
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
