/* Body of recurrent_gates.c, included once per element type with
 *   NNFAST_T                     float or double
 *   NNFAST_FN(n)                 n ## _f32 or n ## _f64
 *   NNFAST_SIGMOID, NNFAST_TANH  fast_gates.h's functions of that type
 * What each function computes: recurrent_gates.h. Loops run over one
 * nonlinearity of contiguous gates at a time, through restrict pointers,
 * so that GCC vectorizes them (one loop mixing the four LSTM gates did not
 * vectorize). */
#define T NNFAST_T

/* The row is past its sequence's end: keep the state, zero the gates. */
static inline void NNFAST_FN(keep_row)(T *restrict dst, const T *restrict src,
                                      int64_t n)
{
    memcpy(dst, src, (size_t)n * sizeof(T));
}

NNFAST_CLONES void NNFAST_FN(lstm_forward_rows)(
    const T *restrict x_proj, T *restrict gates, const T *restrict h_prev,
    const T *restrict c_prev, T *restrict h, T *restrict c,
    const int64_t *restrict lengths, int64_t step, int64_t rows, int64_t hidden)
{
    const int64_t H = hidden, G = 4 * hidden;
    for (int64_t n = 0; n < rows; ++n) {
        const T *restrict xp = x_proj + n * G;
        T *restrict g = gates + n * G;
        const T *restrict cp = c_prev + n * H;
        T *restrict hn = h + n * H, *restrict cn = c + n * H;
        if (step >= lengths[n]) {
            NNFAST_FN(keep_row)(hn, h_prev + n * H, H);
            NNFAST_FN(keep_row)(cn, cp, H);
            memset(g, 0, (size_t)G * sizeof(T));
            continue;
        }
        for (int64_t j = 0; j < 2 * H; ++j)
            g[j] = NNFAST_SIGMOID(xp[j] + g[j]);
        for (int64_t j = 2 * H; j < 3 * H; ++j)
            g[j] = NNFAST_TANH(xp[j] + g[j]);
        for (int64_t j = 3 * H; j < G; ++j)
            g[j] = NNFAST_SIGMOID(xp[j] + g[j]);
        for (int64_t j = 0; j < H; ++j) {
            const T cv = g[H + j] * cp[j] + g[j] * g[2 * H + j];
            cn[j] = cv;
            hn[j] = g[3 * H + j] * NNFAST_TANH(cv);
        }
    }
}

NNFAST_CLONES void NNFAST_FN(lstm_backward_rows)(
    const T *restrict gates, const T *restrict c_prev, const T *restrict c,
    const T *restrict grad_output, T *restrict grad_h, T *restrict grad_c,
    T *restrict grad_gates, const int64_t *restrict lengths, int64_t step,
    int64_t rows, int64_t hidden)
{
    const int64_t H = hidden, G = 4 * hidden;
    for (int64_t n = 0; n < rows; ++n) {
        T *restrict gg = grad_gates + n * G;
        if (step >= lengths[n]) {
            memset(gg, 0, (size_t)G * sizeof(T));
            continue;
        }
        const T *restrict g = gates + n * G;
        const T *restrict cp = c_prev + n * H, *restrict cn = c + n * H;
        const T *restrict go = grad_output + n * H;
        T *restrict gh = grad_h + n * H, *restrict gc = grad_c + n * H;
        for (int64_t j = 0; j < H; ++j) {
            const T i_ = g[j], f_ = g[H + j], g_ = g[2 * H + j], o_ = g[3 * H + j];
            const T tc = NNFAST_TANH(cn[j]);
            const T dh = go[j] + gh[j];
            const T dc = gc[j] + dh * o_ * (1 - tc * tc);
            gg[j] = dc * g_ * i_ * (1 - i_);
            gg[H + j] = dc * cp[j] * f_ * (1 - f_);
            gg[2 * H + j] = dc * i_ * (1 - g_ * g_);
            gg[3 * H + j] = dh * tc * o_ * (1 - o_);
            gc[j] = dc * f_;
            gh[j] = 0;
        }
    }
}

NNFAST_CLONES void NNFAST_FN(gru_forward_rows)(
    const T *restrict x_proj, const T *restrict h_proj, const T *restrict bias_hh,
    const T *restrict h_prev, T *restrict gates, T *restrict h,
    const int64_t *restrict lengths, int64_t step, int64_t rows, int64_t hidden)
{
    const int64_t H = hidden, G3 = 3 * hidden, G4 = 4 * hidden;
    for (int64_t n = 0; n < rows; ++n) {
        const T *restrict hp = h_prev + n * H;
        T *restrict g = gates + n * G4, *restrict hn = h + n * H;
        if (step >= lengths[n]) {
            NNFAST_FN(keep_row)(hn, hp, H);
            memset(g, 0, (size_t)G4 * sizeof(T));
            continue;
        }
        const T *restrict xp = x_proj + n * G3, *restrict pp = h_proj + n * G3;
        for (int64_t j = 0; j < H; ++j) {
            const T r_ = NNFAST_SIGMOID(xp[j] + pp[j] + bias_hh[j]);
            const T z_ = NNFAST_SIGMOID(xp[H + j] + pp[H + j] + bias_hh[H + j]);
            const T hn_ = pp[2 * H + j] + bias_hh[2 * H + j];
            const T n_ = NNFAST_TANH(xp[2 * H + j] + r_ * hn_);
            g[j] = r_;
            g[H + j] = z_;
            g[2 * H + j] = n_;
            g[3 * H + j] = hn_;
            hn[j] = (1 - z_) * n_ + z_ * hp[j];
        }
    }
}

NNFAST_CLONES void NNFAST_FN(gru_backward_rows)(
    const T *restrict gates, const T *restrict h_prev, const T *restrict grad_output,
    T *restrict grad_h, T *restrict grad_x_gates, T *restrict grad_h_gates,
    const int64_t *restrict lengths, int64_t step, int64_t rows, int64_t hidden)
{
    const int64_t H = hidden, G3 = 3 * hidden, G4 = 4 * hidden;
    for (int64_t n = 0; n < rows; ++n) {
        T *restrict gx = grad_x_gates + n * G3, *restrict gp = grad_h_gates + n * G3;
        if (step >= lengths[n]) {
            memset(gx, 0, (size_t)G3 * sizeof(T));
            memset(gp, 0, (size_t)G3 * sizeof(T));
            continue;
        }
        const T *restrict g = gates + n * G4, *restrict hp = h_prev + n * H;
        const T *restrict go = grad_output + n * H;
        T *restrict gh = grad_h + n * H;
        for (int64_t j = 0; j < H; ++j) {
            const T r_ = g[j], z_ = g[H + j], n_ = g[2 * H + j], hn_ = g[3 * H + j];
            const T dh = go[j] + gh[j];
            const T dn = dh * (1 - z_) * (1 - n_ * n_);
            const T dr = dn * hn_ * r_ * (1 - r_);
            const T dz = dh * (hp[j] - n_) * z_ * (1 - z_);
            gx[j] = dr;
            gx[H + j] = dz;
            gx[2 * H + j] = dn;
            gp[j] = dr;
            gp[H + j] = dz;
            gp[2 * H + j] = dn * r_;
            gh[j] = dh * z_;
        }
    }
}

NNFAST_CLONES void NNFAST_FN(rnn_forward_rows)(
    const T *restrict x_proj, const T *restrict h_prev, T *restrict h,
    const int64_t *restrict lengths, int64_t step, int64_t rows, int64_t hidden,
    int relu)
{
    const int64_t H = hidden;
    for (int64_t n = 0; n < rows; ++n) {
        const T *restrict xp = x_proj + n * H;
        T *restrict hn = h + n * H;
        if (step >= lengths[n]) {
            NNFAST_FN(keep_row)(hn, h_prev + n * H, H);
        } else if (relu) {
            for (int64_t j = 0; j < H; ++j) {
                const T v = xp[j] + hn[j];
                hn[j] = v < 0 ? 0 : v;
            }
        } else {
            for (int64_t j = 0; j < H; ++j)
                hn[j] = NNFAST_TANH(xp[j] + hn[j]);
        }
    }
}

NNFAST_CLONES void NNFAST_FN(rnn_backward_rows)(
    const T *restrict h, const T *restrict grad_output, T *restrict grad_h,
    T *restrict grad_gates, const int64_t *restrict lengths, int64_t step,
    int64_t rows, int64_t hidden, int relu)
{
    const int64_t H = hidden;
    for (int64_t n = 0; n < rows; ++n) {
        T *restrict gg = grad_gates + n * H;
        if (step >= lengths[n]) {
            memset(gg, 0, (size_t)H * sizeof(T));
            continue;
        }
        const T *restrict hn = h + n * H, *restrict go = grad_output + n * H;
        T *restrict gh = grad_h + n * H;
        if (relu) {
            for (int64_t j = 0; j < H; ++j) {
                const T d = go[j] + gh[j];
                gg[j] = hn[j] > 0 ? d : 0;
                gh[j] = 0;
            }
        } else {
            for (int64_t j = 0; j < H; ++j) {
                gg[j] = (go[j] + gh[j]) * (1 - hn[j] * hn[j]);
                gh[j] = 0;
            }
        }
    }
}

#undef T
