# The per-thread time loops of the recurrent sequence kernels (recurrent.pyx):
# thread by thread, a block of batch rows [lo, hi) through every step, its own
# single-threaded GEMM for the block's rows, then the block's gates
# (_recurrent_gates.pxd). The call's arguments come in a SequenceCall.
from cython cimport floating
from libc.stdint cimport int64_t

from nnfast._kernels cimport _recurrent_gates as cg
from nnfast._kernels._blas cimport gemm
from nnfast._kernels._small_gemm cimport small_gemm


cdef extern from "lstm_fused.h" nogil:
    int nnfast_lstm_forward_fused_f32(const float *x, const float *packed,
                                      const int64_t *lengths, float *gates, float *h,
                                      float *c, int64_t n_steps, int64_t n_samples,
                                      int64_t inputs, int64_t hidden, int64_t lo, int64_t hi)


cdef enum Op:
    LSTM_FORWARD
    LSTM_BACKWARD
    GRU_FORWARD
    GRU_BACKWARD
    RNN_FORWARD
    RNN_BACKWARD


cdef struct SequenceCall:
    # One call's arguments, shared read-only by its threads (each writes
    # only its own rows); element pointers are float or double as
    # ``is_double`` says.
    const void *x_proj       # GRU, RNN forward: (T, N, width); backward: the saved gates
    const void *x            # LSTM forward: the input (T, N, inputs)
    const void *weight_ih    # LSTM forward: W_ih.T (inputs, width)
    const void *bias         # LSTM forward: b_ih + b_hh (width,)
    const void *weight       # forward: W_hh.T (hidden, width); backward: W_hh (width, hidden)
    const float *packed      # LSTM forward, float32 on AVX-512: the weights for lstm_fused.h, else NULL
    const void *bias_hh      # GRU forward: (3*hidden,)
    const void *c_saved      # LSTM backward: c (T + 1, N, hidden)
    const void *grad_output  # backward: (T, N, hidden)
    const int64_t *lengths
    void *gates              # forward: the activations; backward: the gate gradients
    void *grad_h_gates       # GRU backward
    void *h                  # (T + 1, N, hidden)
    void *c                  # LSTM forward
    void *grad_h             # backward: (N, hidden), in and out
    void *grad_c             # LSTM backward
    void *scratch            # GRU forward: h_prev @ W_hh.T, LSTM forward: x_t @ W_ih.T + bias, (N, width)
    Py_ssize_t n_steps, n_samples, inputs, hidden, width
    Op op
    bint relu, is_double


# Where the float32 AVX-512 GEMM (_small_gemm) does not run (float64, or a
# CPU without AVX-512F): step GEMMs of at most this many multiply-adds
# (m * n * k) per BLAS call.
# scipy's OpenBLAS (its SkylakeX kernels, on the AVX-512 EPYC and Xeon
# machines nnfast runs on) multiplies a non-transposed product of up to 1e6
# multiply-adds in its small-matrix kernel, without packing the operands,
# and packing W_hh took ~40% of a step's GEMM. lstm-seq's (32, 128) @
# (128, 512), one thread: 72-77 us in one call, 45-48 us in row chunks of
# 8-11, 96-110 us in two chunks of 16 (above the cut). Whole sequences
# (50 steps, median CPU time on a shared machine): forward 4.4-5.1 ms in
# one call per step, 3.9-4.8 in chunks of 11, 3.7-4.1 in chunks of 8;
# backward 4.1-4.6, 3.3-4.0, 3.35-3.6. Hence 6e5: lstm-seq's 32 rows go in
# 4 chunks of 8 (16 rows per thread on 2 threads, in 2).
cdef enum:
    BLAS_CHUNK = 600000


cdef inline Py_ssize_t chunk_rows(Py_ssize_t rows, Py_ssize_t n, Py_ssize_t k) noexcept nogil:
    """Rows per BLAS call for a (rows, k) @ (k, n) step GEMM: near-equal
    chunks of at most BLAS_CHUNK multiply-adds each (at least one row)."""
    cdef Py_ssize_t chunks = <Py_ssize_t>(<double>rows * n * k / BLAS_CHUNK) + 1
    return (rows + chunks - 1) // chunks


cdef inline void step_gemm(Py_ssize_t rows, Py_ssize_t chunk, Py_ssize_t n, Py_ssize_t k,
                           const floating *a, const floating *b, floating beta,
                           floating *c) noexcept nogil:
    """c := a @ b + beta*c (beta 0 or 1), a (rows, k), b (k, n), c (rows,
    n), all row-major and contiguous: float32 in the AVX-512 GEMM where it
    runs, else ``chunk`` rows per BLAS call."""
    cdef Py_ssize_t i = 0, m
    if floating is float:
        if small_gemm(False, rows, n, k, a, k, b, n, beta != 0, c, n):
            return
    while i < rows:
        m = chunk if chunk < rows - i else rows - i
        gemm(False, False, m, n, k, 1, a + i * k, k, b, n, beta, c + i * n, n)
        i += m


cdef inline void lstm_forward_block(SequenceCall *a, floating *gates, Py_ssize_t lo,
                                    Py_ssize_t hi) noexcept nogil:
    cdef const floating *x = <const floating *>a.x
    cdef const floating *wih = <const floating *>a.weight_ih
    cdef const floating *bias = <const floating *>a.bias
    cdef const floating *wt = <const floating *>a.weight
    cdef floating *h = <floating *>a.h
    cdef floating *c = <floating *>a.c
    cdef floating *xp = <floating *>a.scratch + lo * a.width
    cdef Py_ssize_t N = a.n_samples, I = a.inputs, H = a.hidden, G = a.width, rows = hi - lo
    cdef Py_ssize_t chunk = chunk_rows(rows, G, H), chunk_x = chunk_rows(rows, G, I)
    cdef Py_ssize_t t, r, s, q, i, j
    if floating is float:
        if a.packed != NULL and nnfast_lstm_forward_fused_f32(
                <const float *>x, a.packed, a.lengths, gates, h, c, a.n_steps, N, I, H, lo,
                hi):
            return
    for t in range(a.n_steps):
        r = (t * N + lo) * H          # row lo of step t's state, s of step t + 1's
        s = r + N * H
        q = (t * N + lo) * G
        # the block's input projection for this step, then its recurrent GEMM
        for i in range(rows):
            for j in range(G):
                xp[i * G + j] = bias[j]
        step_gemm(rows, chunk_x, G, I, x + (t * N + lo) * I, wih, 1, xp)
        step_gemm(rows, chunk, G, H, h + r, wt, 0, gates + q)
        cg.lstm_forward_rows(xp, gates + q, h + r, c + r, h + s, c + s,
                             a.lengths + lo, t, rows, H)


cdef inline void lstm_backward_block(SequenceCall *a, floating *grad_gates, Py_ssize_t lo,
                                     Py_ssize_t hi) noexcept nogil:
    cdef const floating *gates = <const floating *>a.x_proj
    cdef const floating *w = <const floating *>a.weight
    cdef const floating *c = <const floating *>a.c_saved
    cdef const floating *go = <const floating *>a.grad_output
    cdef floating *grad_h = <floating *>a.grad_h + lo * a.hidden
    cdef floating *grad_c = <floating *>a.grad_c + lo * a.hidden
    cdef Py_ssize_t N = a.n_samples, H = a.hidden, G = a.width, rows = hi - lo
    cdef Py_ssize_t chunk = chunk_rows(rows, H, G)
    cdef Py_ssize_t t, r, q
    for t in range(a.n_steps - 1, -1, -1):
        r = (t * N + lo) * H
        q = (t * N + lo) * G
        cg.lstm_backward_rows(gates + q, c + r, c + r + N * H, go + r, grad_h, grad_c,
                              grad_gates + q, a.lengths + lo, t, rows, H)
        step_gemm(rows, chunk, H, G, grad_gates + q, w, 1, grad_h)


cdef inline void gru_forward_block(SequenceCall *a, floating *gates, Py_ssize_t lo,
                                   Py_ssize_t hi) noexcept nogil:
    cdef const floating *xp = <const floating *>a.x_proj
    cdef const floating *wt = <const floating *>a.weight
    cdef const floating *bias = <const floating *>a.bias_hh
    cdef floating *h = <floating *>a.h
    cdef floating *hp = <floating *>a.scratch + lo * a.width
    cdef Py_ssize_t N = a.n_samples, H = a.hidden, G = a.width, rows = hi - lo
    cdef Py_ssize_t chunk = chunk_rows(rows, G, H)
    cdef Py_ssize_t t, r, s
    for t in range(a.n_steps):
        r = (t * N + lo) * H
        s = r + N * H
        step_gemm(rows, chunk, G, H, h + r, wt, 0, hp)
        cg.gru_forward_rows(xp + (t * N + lo) * G, hp, bias, h + r,
                            gates + (t * N + lo) * 4 * H, h + s, a.lengths + lo, t,
                            rows, H)


cdef inline void gru_backward_block(SequenceCall *a, floating *grad_x_gates, Py_ssize_t lo,
                                    Py_ssize_t hi) noexcept nogil:
    cdef const floating *gates = <const floating *>a.x_proj
    cdef const floating *w = <const floating *>a.weight
    cdef const floating *h = <const floating *>a.h
    cdef const floating *go = <const floating *>a.grad_output
    cdef floating *gp = <floating *>a.grad_h_gates
    cdef floating *grad_h = <floating *>a.grad_h + lo * a.hidden
    cdef Py_ssize_t N = a.n_samples, H = a.hidden, G = a.width, rows = hi - lo
    cdef Py_ssize_t chunk = chunk_rows(rows, H, G)
    cdef Py_ssize_t t, r, q
    for t in range(a.n_steps - 1, -1, -1):
        r = (t * N + lo) * H
        q = (t * N + lo) * G
        cg.gru_backward_rows(gates + (t * N + lo) * 4 * H, h + r, go + r, grad_h,
                             grad_x_gates + q, gp + q, a.lengths + lo, t, rows, H)
        step_gemm(rows, chunk, H, G, gp + q, w, 1, grad_h)


cdef inline void rnn_forward_block(SequenceCall *a, floating *h, Py_ssize_t lo,
                                   Py_ssize_t hi) noexcept nogil:
    cdef const floating *xp = <const floating *>a.x_proj
    cdef const floating *wt = <const floating *>a.weight
    cdef Py_ssize_t N = a.n_samples, H = a.hidden, rows = hi - lo, t, r, s
    cdef Py_ssize_t chunk = chunk_rows(rows, H, H)
    for t in range(a.n_steps):
        r = (t * N + lo) * H
        s = r + N * H
        step_gemm(rows, chunk, H, H, h + r, wt, 0, h + s)
        cg.rnn_forward_rows(xp + r, h + r, h + s, a.lengths + lo, t, rows, H, a.relu)


cdef inline void rnn_backward_block(SequenceCall *a, floating *grad_gates, Py_ssize_t lo,
                                    Py_ssize_t hi) noexcept nogil:
    cdef const floating *w = <const floating *>a.weight
    cdef const floating *h = <const floating *>a.h
    cdef const floating *go = <const floating *>a.grad_output
    cdef floating *grad_h = <floating *>a.grad_h + lo * a.hidden
    cdef Py_ssize_t N = a.n_samples, H = a.hidden, rows = hi - lo, t, r
    cdef Py_ssize_t chunk = chunk_rows(rows, H, H)
    for t in range(a.n_steps - 1, -1, -1):
        r = (t * N + lo) * H
        cg.rnn_backward_rows(h + r + N * H, go + r, grad_h, grad_gates + r,
                             a.lengths + lo, t, rows, H, a.relu)
        step_gemm(rows, chunk, H, H, grad_gates + r, w, 1, grad_h)
