/* Body of pooling.c, included once per element type with
 *   NNFAST_T       float or double
 *   NNFAST_FN(n)   n ## _f32 or n ## _f64 */

/* v if take else best, through the bits: GCC otherwise compiles the select
 * of a float compare into a branch. */
static inline NNFAST_T NNFAST_FN(select_bits)(int take, NNFAST_T v,
                                              NNFAST_T best)
{
    NNFAST_UINT a, b;
    const NNFAST_UINT mask = (NNFAST_UINT)0 - (NNFAST_UINT)take;
    memcpy(&a, &v, sizeof a);
    memcpy(&b, &best, sizeof b);
    a = (a & mask) | (b & ~mask);
    memcpy(&v, &a, sizeof v);
    return v;
}

/* One output row of the usual 2x2, stride 2, unpadded pooling, outputs
 * [w_begin, width_col), without the general loop's data-dependent branches
 * (on random data a comparison mispredicts half the time): the same
 * comparisons, in the same order, as bit selects. top and bottom are the
 * window's two input rows; row is top's index in the plane. */
static inline void NNFAST_FN(maxpool2x2_row_scalar)(
    const NNFAST_T *restrict top, const NNFAST_T *restrict bottom, int64_t row,
    int64_t width, int64_t w_begin, int64_t width_col, NNFAST_T *restrict o,
    int32_t *restrict a)
{
    for (int64_t w_col = w_begin; w_col < width_col; ++w_col) {
        const int64_t i = row + 2 * w_col;
        NNFAST_T best = top[2 * w_col];
        int64_t index = i;
        NNFAST_T v = top[2 * w_col + 1];
        /* v != v: NaN wins, as in the general loop */
        int take = (v > best) | (v != v);
        best = NNFAST_FN(select_bits)(take, v, best);
        index = take ? i + 1 : index;
        v = bottom[2 * w_col];
        take = (v > best) | (v != v);
        best = NNFAST_FN(select_bits)(take, v, best);
        index = take ? i + width : index;
        v = bottom[2 * w_col + 1];
        take = (v > best) | (v != v);
        best = NNFAST_FN(select_bits)(take, v, best);
        index = take ? i + width + 1 : index;
        o[w_col] = best;
        a[w_col] = (int32_t)index;
    }
}

static void NNFAST_FN(maxpool2d_forward_plane_2x2)(
    const NNFAST_T *restrict x, int64_t width, int64_t height_col,
    int64_t width_col, NNFAST_T *restrict out, int32_t *restrict argmax)
{
    for (int64_t h_col = 0; h_col < height_col; ++h_col) {
        const int64_t row = 2 * h_col * width;
        NNFAST_T *o = out + h_col * width_col;
        int32_t *a = argmax + h_col * width_col;
        /* NNFAST_MAXPOOL2X2_ROW_SIMD (pooling.c, where the type has one)
         * does a prefix of the row and returns where it stopped */
        int64_t w_begin = NNFAST_MAXPOOL2X2_ROW_SIMD(x + row, x + row + width,
                                                     row, width, width_col,
                                                     o, a);
        NNFAST_FN(maxpool2x2_row_scalar)(x + row, x + row + width, row, width,
                                         w_begin, width_col, o, a);
    }
}

void NNFAST_FN(maxpool2d_forward_plane)(
    const NNFAST_T *restrict x, int64_t height, int64_t width, int64_t kernel_h,
    int64_t kernel_w, int64_t pad_top, int64_t pad_left, int64_t stride_h,
    int64_t stride_w, int64_t height_col, int64_t width_col,
    NNFAST_T *restrict out, int32_t *restrict argmax)
{
    /* the 2x2 path reads whole windows: none may reach into bottom or right
     * padding */
    if (kernel_h == 2 && kernel_w == 2 && stride_h == 2 && stride_w == 2 &&
        pad_top == 0 && pad_left == 0 && 2 * height_col <= height &&
        2 * width_col <= width) {
        NNFAST_FN(maxpool2d_forward_plane_2x2)(x, width, height_col, width_col,
                                               out, argmax);
        return;
    }
    for (int64_t h_col = 0; h_col < height_col; ++h_col) {
        int64_t h_start = h_col * stride_h - pad_top;
        int64_t h_end = h_start + kernel_h < height ? h_start + kernel_h : height;
        if (h_start < 0) h_start = 0;
        for (int64_t w_col = 0; w_col < width_col; ++w_col) {
            int64_t w_start = w_col * stride_w - pad_left;
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
            argmax[h_col * width_col + w_col] = (int32_t)best;
        }
    }
}

void NNFAST_FN(maxpool2d_backward_plane)(
    const NNFAST_T *restrict grad_output, const int32_t *restrict argmax,
    const NNFAST_T *restrict pooled, int64_t size_col, int64_t size,
    NNFAST_T *restrict grad_input)
{
    for (int64_t i = 0; i < size; ++i) grad_input[i] = 0;
    /* += : with overlapping windows one pixel can be the maximum of several */
    if (pooled) {
        /* A window's maximum is the value at its argmax, so "the ReLU's
         * output there is > 0" is pooled[i] > 0, for every window that
         * shares the pixel. */
        for (int64_t i = 0; i < size_col; ++i)
            if (pooled[i] > 0) grad_input[argmax[i]] += grad_output[i];
    } else {
        for (int64_t i = 0; i < size_col; ++i) grad_input[argmax[i]] += grad_output[i];
    }
}

void NNFAST_FN(avgpool2d_forward_plane)(
    const NNFAST_T *restrict x, int64_t height, int64_t width, int64_t kernel_h,
    int64_t kernel_w, int64_t pad_top, int64_t pad_left, int64_t stride_h,
    int64_t stride_w, int64_t height_col, int64_t width_col,
    NNFAST_T *restrict out)
{
    const NNFAST_T scale = (NNFAST_T)1 / (NNFAST_T)(kernel_h * kernel_w);
    for (int64_t h_col = 0; h_col < height_col; ++h_col) {
        int64_t h_start = h_col * stride_h - pad_top;
        int64_t h_end = h_start + kernel_h < height ? h_start + kernel_h : height;
        if (h_start < 0) h_start = 0;
        for (int64_t w_col = 0; w_col < width_col; ++w_col) {
            int64_t w_start = w_col * stride_w - pad_left;
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
    const NNFAST_T *restrict grad_output, int64_t height, int64_t width,
    int64_t kernel_h, int64_t kernel_w, int64_t pad_top, int64_t pad_left,
    int64_t stride_h, int64_t stride_w, int64_t height_col, int64_t width_col,
    NNFAST_T *restrict grad_input)
{
    const NNFAST_T scale = (NNFAST_T)1 / (NNFAST_T)(kernel_h * kernel_w);
    for (int64_t i = 0; i < height * width; ++i) grad_input[i] = 0;
    for (int64_t h_col = 0; h_col < height_col; ++h_col) {
        int64_t h_start = h_col * stride_h - pad_top;
        int64_t h_end = h_start + kernel_h < height ? h_start + kernel_h : height;
        if (h_start < 0) h_start = 0;
        for (int64_t w_col = 0; w_col < width_col; ++w_col) {
            int64_t w_start = w_col * stride_w - pad_left;
            int64_t w_end = w_start + kernel_w < width ? w_start + kernel_w : width;
            if (w_start < 0) w_start = 0;
            const NNFAST_T g = grad_output[h_col * width_col + w_col] * scale;
            /* += : overlapping windows each add their share */
            for (int64_t h_im = h_start; h_im < h_end; ++h_im)
                for (int64_t w_im = w_start; w_im < w_end; ++w_im)
                    grad_input[h_im * width + w_im] += g;
        }
    }
}
