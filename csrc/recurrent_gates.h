/* The gate loops of the recurrent sequence kernels (nnfast/_kernels/
 * recurrent.pyx): one time step of one thread's block of ``rows`` batch
 * rows, in float and double. Every pointer points at the block's first row
 * of a row-major (rows, width) array; ``lengths`` at the block's first
 * length. A row with step >= lengths[n] is past its sequence's end: in the
 * forward pass it keeps its state and gets zero gates, in the backward pass
 * it gets zero gate gradients and passes the state gradient on unchanged.
 *
 * Gate orders are PyTorch's: LSTM i, f, g, o; GRU r, z, n.
 *
 * LSTM forward:  gates holds h_prev @ W_hh.T on entry (4*hidden wide) and
 *                the activations on return; h, c := the new state.
 * LSTM backward: grad_h, grad_c: the state gradient from later steps on
 *                entry; on return grad_c is that of c_prev and grad_h 0
 *                (the caller adds grad_gates @ W_hh).
 * GRU forward:   h_proj = h_prev @ W_hh.T (3*hidden wide); gates := (r, z,
 *                n, h_proj_n + bias_hh_n), 4*hidden wide.
 * GRU backward:  grad_x_gates / grad_h_gates: the gradients of x_proj and
 *                of h_proj + bias_hh (3*hidden wide); grad_h := dh * z.
 * RNN forward:   h holds h_prev @ W_hh.T on entry, act(x_proj + it) on
 *                return (tanh, or max(., 0) if relu).
 * RNN backward:  grad_gates := (grad_output + grad_h) * act'; grad_h := 0.
 *
 * Each function is compiled for x86-64-v4 (AVX-512), x86-64-v3 (AVX2, FMA)
 * and the baseline (SSE2), and the loader picks the best the CPU has (GCC's
 * target_clones, an ifunc): the build needs no -march flag, the wheel runs
 * anywhere and vectorizes as wide as the machine allows. lstm-seq's AVX-512
 * clone runs on the EPYC it was timed on (perf: lstm_forward_rows_f32.
 * arch_x86_64_v4); a step's gates, 32 rows of 512, take ~10 us there. */
#ifndef NNFAST_RECURRENT_GATES_H
#define NNFAST_RECURRENT_GATES_H

#include <stdint.h>

#include "nnfast_clones.h"

#define NNFAST_RECURRENT_DECLARE(T, SUFFIX)                                       \
    void lstm_forward_rows##SUFFIX(                                               \
        const T *x_proj, T *gates, const T *h_prev, const T *c_prev, T *h, T *c,  \
        const int64_t *lengths, int64_t step, int64_t rows, int64_t hidden);      \
    void lstm_backward_rows##SUFFIX(                                              \
        const T *gates, const T *c_prev, const T *c, const T *grad_output,        \
        T *grad_h, T *grad_c, T *grad_gates, const int64_t *lengths,              \
        int64_t step, int64_t rows, int64_t hidden);                              \
    void gru_forward_rows##SUFFIX(                                                \
        const T *x_proj, const T *h_proj, const T *bias_hh, const T *h_prev,      \
        T *gates, T *h, const int64_t *lengths, int64_t step, int64_t rows,       \
        int64_t hidden);                                                          \
    void gru_backward_rows##SUFFIX(                                               \
        const T *gates, const T *h_prev, const T *grad_output, T *grad_h,         \
        T *grad_x_gates, T *grad_h_gates, const int64_t *lengths, int64_t step,   \
        int64_t rows, int64_t hidden);                                            \
    void rnn_forward_rows##SUFFIX(                                                \
        const T *x_proj, const T *h_prev, T *h, const int64_t *lengths,           \
        int64_t step, int64_t rows, int64_t hidden, int relu);                    \
    void rnn_backward_rows##SUFFIX(                                               \
        const T *h, const T *grad_output, T *grad_h, T *grad_gates,               \
        const int64_t *lengths, int64_t step, int64_t rows, int64_t hidden,       \
        int relu);

NNFAST_RECURRENT_DECLARE(float, _f32)
NNFAST_RECURRENT_DECLARE(double, _f64)

#endif
