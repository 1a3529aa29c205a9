/* An LSTM layer's forward recurrence, float32, AVX-512: each step's input
 * projection x_t @ W_ih.T, its recurrent GEMM h_prev @ W_hh.T and its gates
 * in one pass, the products never leaving the registers before the gate
 * nonlinearities and the state update have used them (nnfast/_kernels/recurrent.pyx runs it where
 * _small_gemm.small_gemm_runs() says AVX-512F is there; elsewhere the step
 * GEMM and recurrent_gates.c's loops).
 *
 * The weights go in packed (nnfast_lstm_pack_f32): for each block of 16
 * hidden units, for each k < inputs the four gates' 16 weights of W_ih side
 * by side, 64 floats, then the same for each k < hidden of W_hh, then the
 * bias, so that one tile of the GEMM holds all four gates of 16 units for 4
 * batch rows (16 accumulators, started from the bias) and the gates combine
 * in place. Units past ``hidden`` in the last block are zero weights and
 * masked stores.
 *
 * Against the input projection as a GEMM of its own before the recurrence,
 * which wrote a (n_steps, n_samples, 4*hidden) array for the recurrence to
 * read back (3.3 MB in lstm-seq): see nnfast/_kernels/recurrent.pyx.
 *
 * What a step computes, gate order i, f, g, o (PyTorch's), for rows [lo,
 * hi) of the (n_samples) batch: pre = x[t] @ W_ih.T + bias + h[t] @ W_hh.T; gates[t]
 * := (sigmoid(i), sigmoid(f), tanh(g), sigmoid(o)); c[t + 1] := f*c[t] +
 * i*g; h[t + 1] := o*tanh(c[t + 1]). A row past its end (t >= lengths[n])
 * keeps its state and gets zero gates. The sigmoid and tanh are
 * fast_gates.h's polynomials, 16 lanes at a time. */
#ifndef NNFAST_LSTM_FUSED_H
#define NNFAST_LSTM_FUSED_H

#include <stdint.h>

/* Floats nnfast_lstm_pack_f32 writes for an input and a hidden size. */
int64_t nnfast_lstm_packed_size(int64_t inputs, int64_t hidden);

/* packed := weight_ih (4*hidden, inputs), weight_hh (4*hidden, hidden),
 * both row-major, and bias (4*hidden,), in the layout above. */
void nnfast_lstm_pack_f32(const float *weight_ih, const float *weight_hh, const float *bias,
                          int64_t inputs, int64_t hidden, float *packed);

/* Every step of rows [lo, hi); x (n_steps, n_samples, inputs); gates
 * (n_steps, n_samples, 4*hidden); h, c (n_steps + 1, n_samples, hidden).
 * Returns 0 (and does nothing) on a CPU without AVX-512F. */
int nnfast_lstm_forward_fused_f32(const float *x, const float *packed,
                                  const int64_t *lengths, float *gates, float *h, float *c,
                                  int64_t n_steps, int64_t n_samples, int64_t inputs,
                                  int64_t hidden, int64_t lo, int64_t hi);

#endif
