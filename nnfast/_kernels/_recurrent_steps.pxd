# The per-thread time loops of the recurrent sequence kernels (recurrent.pyx):
# thread by thread, a block of batch rows [lo, hi) through every step, its own
# single-threaded GEMM for the block's rows, then the block's gates
# (_recurrent_gates.pxd). The call's arguments come in a SequenceCall.
from cython cimport floating
from libc.stdint cimport int64_t

from nnfast._kernels cimport _recurrent_gates as cg
from nnfast._kernels._blas cimport gemm


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
    const void *x_proj       # forward: (T, N, width); backward: the saved gates
    const void *weight       # W_hh (width, hidden)
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
    void *scratch            # GRU forward: h_prev @ W_hh.T, (N, 3*hidden)
    Py_ssize_t n_steps, n_samples, hidden, width
    Op op
    bint relu, is_double


cdef inline void lstm_forward_block(SequenceCall *a, floating *gates, Py_ssize_t lo,
                                    Py_ssize_t hi) noexcept nogil:
    cdef const floating *xp = <const floating *>a.x_proj
    cdef const floating *w = <const floating *>a.weight
    cdef floating *h = <floating *>a.h
    cdef floating *c = <floating *>a.c
    cdef Py_ssize_t N = a.n_samples, H = a.hidden, G = a.width, rows = hi - lo
    cdef Py_ssize_t t, r, s, q
    for t in range(a.n_steps):
        r = (t * N + lo) * H          # row lo of step t's state, s of step t + 1's
        s = r + N * H
        q = (t * N + lo) * G
        # W_hh as given, as a transposed B: a contiguous copy of W_hh.T as a
        # plain B measured no faster (lstm-seq's forward, 1 thread: 3.8 ms
        # with the copy, 3.55-3.73 without)
        gemm(False, True, rows, G, H, 1, h + r, H, w, H, 0, gates + q, G)
        cg.lstm_forward_rows(xp + q, gates + q, h + r, c + r, h + s, c + s,
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
    cdef Py_ssize_t t, r, q
    for t in range(a.n_steps - 1, -1, -1):
        r = (t * N + lo) * H
        q = (t * N + lo) * G
        cg.lstm_backward_rows(gates + q, c + r, c + r + N * H, go + r, grad_h, grad_c,
                              grad_gates + q, a.lengths + lo, t, rows, H)
        gemm(False, False, rows, H, G, 1, grad_gates + q, G, w, H, 1, grad_h, H)


cdef inline void gru_forward_block(SequenceCall *a, floating *gates, Py_ssize_t lo,
                                   Py_ssize_t hi) noexcept nogil:
    cdef const floating *xp = <const floating *>a.x_proj
    cdef const floating *w = <const floating *>a.weight
    cdef const floating *bias = <const floating *>a.bias_hh
    cdef floating *h = <floating *>a.h
    cdef floating *hp = <floating *>a.scratch + lo * a.width
    cdef Py_ssize_t N = a.n_samples, H = a.hidden, G = a.width, rows = hi - lo
    cdef Py_ssize_t t, r, s
    for t in range(a.n_steps):
        r = (t * N + lo) * H
        s = r + N * H
        gemm(False, True, rows, G, H, 1, h + r, H, w, H, 0, hp, G)
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
    cdef Py_ssize_t t, r, q
    for t in range(a.n_steps - 1, -1, -1):
        r = (t * N + lo) * H
        q = (t * N + lo) * G
        cg.gru_backward_rows(gates + (t * N + lo) * 4 * H, h + r, go + r, grad_h,
                             grad_x_gates + q, gp + q, a.lengths + lo, t, rows, H)
        gemm(False, False, rows, H, G, 1, gp + q, G, w, H, 1, grad_h, H)


cdef inline void rnn_forward_block(SequenceCall *a, floating *h, Py_ssize_t lo,
                                   Py_ssize_t hi) noexcept nogil:
    cdef const floating *xp = <const floating *>a.x_proj
    cdef const floating *w = <const floating *>a.weight
    cdef Py_ssize_t N = a.n_samples, H = a.hidden, rows = hi - lo, t, r, s
    for t in range(a.n_steps):
        r = (t * N + lo) * H
        s = r + N * H
        gemm(False, True, rows, H, H, 1, h + r, H, w, H, 0, h + s, H)
        cg.rnn_forward_rows(xp + r, h + r, h + s, a.lengths + lo, t, rows, H, a.relu)


cdef inline void rnn_backward_block(SequenceCall *a, floating *grad_gates, Py_ssize_t lo,
                                    Py_ssize_t hi) noexcept nogil:
    cdef const floating *w = <const floating *>a.weight
    cdef const floating *h = <const floating *>a.h
    cdef const floating *go = <const floating *>a.grad_output
    cdef floating *grad_h = <floating *>a.grad_h + lo * a.hidden
    cdef Py_ssize_t N = a.n_samples, H = a.hidden, rows = hi - lo, t, r
    for t in range(a.n_steps - 1, -1, -1):
        r = (t * N + lo) * H
        cg.rnn_backward_rows(h + r + N * H, go + r, grad_h, grad_gates + r,
                             a.lengths + lo, t, rows, H, a.relu)
        gemm(False, False, rows, H, H, 1, grad_gates + r, H, w, H, 1, grad_h, H)
