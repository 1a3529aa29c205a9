# distutils: sources = csrc/recurrent_gates.c csrc/lstm_fused.c
"""Recurrent sequence kernels: a whole sequence's recurrence in one call.

The layers (nnfast/layers/recurrent.py) compute the GRU's and the RNN's
input projection of all time steps as one GEMM before these kernels (the
LSTM forward does its own, step by step, see lstm_sequence_forward), and the
weight and input gradients as GEMMs over all steps after them; these run
the part that must go step by step: per step, the recurrent GEMM ``h_prev @
W_hh.T`` (forward)
or ``grad_gates @ W_hh`` (backward), then the gate nonlinearities and the
state update fused in one pass (csrc/recurrent_gates.c, vectorized for the
CPU it runs on).

Batch rows are independent in the recurrence, so each thread takes one
contiguous block of rows and runs every time step for it, its own
single-threaded GEMM on its rows and then its gates, with no barrier
between steps (../../DESIGN.md, "Threads"): one fork/join per sequence, not
two per step.

Variable lengths (PyTorch's packed sequences): row n takes part in step t
only while ``t < lengths[n]``. A row past its end keeps its state (h, c :=
h_prev, c_prev) and gets zero gates; in the backward pass it ignores
``grad_output`` and passes the state gradient through unchanged.

States are stored for every step: ``h`` is (n_steps + 1, n_samples,
hidden) with the initial state in ``h[0]`` (and ``c`` for LSTM).
"""
from cython cimport floating
from libc.stdint cimport int64_t
from nnfast._kernels._alloc cimport nnfast_aligned_free as free, nnfast_aligned_malloc as malloc

from nnfast._kernels._recurrent_steps cimport (
    GRU_BACKWARD, GRU_FORWARD, LSTM_BACKWARD, LSTM_FORWARD, Op, RNN_BACKWARD, RNN_FORWARD,
    SequenceCall, gru_backward_block, gru_forward_block, lstm_backward_block,
    lstm_forward_block, rnn_backward_block, rnn_forward_block)
from nnfast._kernels._small_gemm cimport small_gemm_is_avx512
from nnfast._kernels._threads cimport run_team, split_range, team_size


cdef extern from "lstm_fused.h" nogil:
    int64_t nnfast_lstm_packed_size(int64_t inputs, int64_t hidden)
    void nnfast_lstm_pack_f32(const float *weight_ih, const float *weight_hh, const float *bias,
                              int64_t inputs, int64_t hidden, float *packed)

# The LSTM forward's fused GEMM-and-gates pass (csrc/lstm_fused.h), on where
# it runs; set_fused(False) keeps float32 AVX-512 on the step GEMM and the
# gate loops, so that the tests cover both (read by the calling thread only).
cdef bint _fused = True


def set_fused(bint flag):
    """Use the fused LSTM forward where it runs (True, the default);
    returns the previous setting."""
    global _fused
    old = _fused
    _fused = flag
    return old


# Work per gate element, in flops, for team_size: a sigmoid/tanh is ~10.
cdef double PER_GATE = 12.0


cdef void _part(floating *out, SequenceCall *a, int t, int nt) noexcept nogil:
    """Thread t's block of batch rows, every step; ``out`` is the array the
    op writes most (its pointer, cast), which also sets the element type."""
    cdef Py_ssize_t lo, hi
    split_range(a.n_samples, t, nt, &lo, &hi)
    if hi <= lo:
        return
    if a.op == LSTM_FORWARD:
        lstm_forward_block(a, out, lo, hi)
    elif a.op == LSTM_BACKWARD:
        lstm_backward_block(a, out, lo, hi)
    elif a.op == GRU_FORWARD:
        gru_forward_block(a, out, lo, hi)
    elif a.op == GRU_BACKWARD:
        gru_backward_block(a, out, lo, hi)
    elif a.op == RNN_FORWARD:
        rnn_forward_block(a, out, lo, hi)
    else:
        rnn_backward_block(a, out, lo, hi)


cdef void _body(void *args, int t, int nt) noexcept nogil:
    cdef SequenceCall *a = <SequenceCall *>args
    cdef void *out = a.h if a.op == RNN_FORWARD else a.gates
    if a.is_double:
        _part(<double *>out, a, t, nt)
    else:
        _part(<float *>out, a, t, nt)


cdef void _run(SequenceCall *a) noexcept nogil:
    cdef double per_row_step = 2.0 * a.width * (a.inputs + a.hidden) + PER_GATE * a.width
    cdef int nt = team_size(per_row_step * a.n_steps * a.n_samples, a.n_samples)
    run_team(_body, a, nt)


cdef SequenceCall _new_call(Op op, Py_ssize_t n_steps, Py_ssize_t n_samples,
                            Py_ssize_t hidden, Py_ssize_t width,
                            const long long *lengths, bint is_double):
    cdef SequenceCall a
    a.op, a.n_steps, a.n_samples, a.hidden, a.width = op, n_steps, n_samples, hidden, width
    a.inputs = 0
    a.lengths, a.is_double, a.relu = <const int64_t *>lengths, is_double, False
    a.x_proj = a.x = a.weight_ih = a.bias = NULL
    a.weight = a.bias_hh = a.c_saved = a.grad_output = NULL
    a.packed = NULL
    a.gates = a.grad_h_gates = a.h = a.c = a.grad_h = a.grad_c = a.scratch = NULL
    return a


cdef floating *_transposed(const floating[:, ::1] w) except NULL:
    """A new (cols, rows) copy of w, for the caller to free: the forward
    step GEMMs read W_hh.T as a plain (non-transposed) B, the layout in
    which OpenBLAS's small-matrix kernel takes them (_recurrent_steps.pxd)."""
    cdef Py_ssize_t rows = w.shape[0], cols = w.shape[1], i, j
    cdef floating *out = <floating *>malloc(rows * cols * sizeof(floating))
    if out == NULL:
        raise MemoryError()
    with nogil:
        for i in range(rows):
            for j in range(cols):
                out[j * rows + i] = w[i, j]
    return out


def lstm_sequence_forward(const floating[:, :, ::1] x, const floating[:, ::1] weight_ih,
                          const floating[::1] bias, const floating[:, ::1] weight_hh,
                          const long long[::1] lengths, floating[:, :, ::1] gates,
                          floating[:, :, ::1] h, floating[:, :, ::1] c):
    """An LSTM layer's recurrence over a whole sequence, its input projection
    included, gate order i, f, g, o: for t in range(n_steps), with pre =
    x[t] @ weight_ih.T + bias + h[t] @ weight_hh.T, gates[t] :=
    (sigmoid(i), sigmoid(f), tanh(g), sigmoid(o)) of pre, c[t + 1] :=
    f*c[t] + i*g, h[t + 1] := o*tanh(c[t + 1]). Rows past their end (t >=
    lengths[n]): gates[t] := 0, h[t + 1], c[t + 1] := h[t], c[t].

    Each thread projects its own rows step by step: float32 on AVX-512 in
    the same register tiles as the recurrent GEMM and the gates
    (csrc/lstm_fused.h), elsewhere into a block of scratch rows before the
    step GEMM. One GEMM over all steps before the recurrence wrote a
    (n_steps, n_samples, 4*hidden) array that the recurrence read back
    (lstm-seq, 2 threads: see nnfast/layers/recurrent.py).

    Parameters
    ----------
    x : ndarray of shape (n_steps, n_samples, input_size)     # IN, time-major
    weight_ih : ndarray of shape (4*hidden, input_size)       # IN
    bias : ndarray of shape (4*hidden,)                       # IN, b_ih + b_hh
    weight_hh : ndarray of shape (4*hidden, hidden)           # IN
    lengths : int64 ndarray of shape (n_samples,)             # IN, in [0, n_steps]
    gates : ndarray of shape (n_steps, n_samples, 4*hidden)   # OUT, the activations, for backward
    h, c : ndarrays of shape (n_steps + 1, n_samples, hidden) # IN h[0], c[0]; OUT the rest
    """
    cdef Py_ssize_t T = x.shape[0], N = h.shape[1], H = h.shape[2], I = x.shape[2]
    if T == 0 or N == 0:
        return
    cdef SequenceCall a = _new_call(LSTM_FORWARD, T, N, H, 4 * H, &lengths[0],
                                    floating is double)
    a.inputs = I
    cdef floating *wt = NULL
    cdef floating *wih = NULL
    cdef floating *scratch = NULL
    cdef float *packed = NULL
    if floating is float:
        if _fused and small_gemm_is_avx512():
            # the projection, the GEMM and the gates in one pass, in AVX-512
            # (csrc/lstm_fused.h)
            packed = <float *>malloc(nnfast_lstm_packed_size(I, H) * sizeof(float))
            if packed == NULL:
                raise MemoryError()
            nnfast_lstm_pack_f32(&weight_ih[0, 0] if I else NULL, &weight_hh[0, 0], &bias[0],
                                 I, H, packed)
            a.packed = packed
    if packed == NULL:
        scratch = <floating *>malloc(N * 4 * H * sizeof(floating))
        if scratch == NULL:
            raise MemoryError()
        try:
            wt = _transposed(weight_hh)
            wih = _transposed(weight_ih) if I else NULL
        except MemoryError:
            free(scratch)
            free(wt)
            raise
    a.x, a.weight_ih, a.bias = &x[0, 0, 0] if I else NULL, wih, &bias[0]
    a.weight, a.gates, a.h, a.c, a.scratch = wt, &gates[0, 0, 0], &h[0, 0, 0], &c[0, 0, 0], \
        scratch
    with nogil:
        _run(&a)
        free(wt)
        free(wih)
        free(scratch)
        free(packed)


def lstm_sequence_backward(const floating[:, :, ::1] gates, const floating[:, :, ::1] c,
                           const floating[:, :, ::1] grad_output,
                           const floating[:, ::1] weight_hh, const long long[::1] lengths,
                           floating[:, ::1] grad_h, floating[:, ::1] grad_c,
                           floating[:, :, ::1] grad_gates):
    """Backpropagation through time of lstm_sequence_forward, from its saved
    gates and cell states: for t from n_steps - 1 down to 0, with dh =
    grad_output[t] + grad_h and dc = grad_c + dh*o*(1 - tanh(c[t + 1])^2),
    grad_gates[t] := the gradients of the four pre-activations, grad_c :=
    dc*f, grad_h := grad_gates[t] @ weight_hh. Rows past their end at t:
    grad_gates[t] := 0, grad_h and grad_c unchanged.

    Parameters
    ----------
    gates : ndarray of shape (n_steps, n_samples, 4*hidden)       # IN
    c : ndarray of shape (n_steps + 1, n_samples, hidden)         # IN
    grad_output : ndarray of shape (n_steps, n_samples, hidden)   # IN
    weight_hh : ndarray of shape (4*hidden, hidden)               # IN
    lengths : int64 ndarray of shape (n_samples,)                 # IN
    grad_h, grad_c : ndarrays of shape (n_samples, hidden)        # IN/OUT, the final
        state's gradient in, the initial state's out
    grad_gates : ndarray of shape (n_steps, n_samples, 4*hidden)  # OUT
    """
    cdef Py_ssize_t T = gates.shape[0], N = grad_h.shape[0], H = grad_h.shape[1]
    if T == 0 or N == 0:
        return
    cdef SequenceCall a = _new_call(LSTM_BACKWARD, T, N, H, 4 * H, &lengths[0],
                                    floating is double)
    a.x_proj, a.c_saved, a.grad_output, a.weight = &gates[0, 0, 0], &c[0, 0, 0], \
        &grad_output[0, 0, 0], &weight_hh[0, 0]
    a.grad_h, a.grad_c, a.gates = &grad_h[0, 0], &grad_c[0, 0], &grad_gates[0, 0, 0]
    with nogil:
        _run(&a)


def gru_sequence_forward(const floating[:, :, ::1] x_proj, const floating[:, ::1] weight_hh,
                         const floating[::1] bias_hh, const long long[::1] lengths,
                         floating[:, :, ::1] gates, floating[:, :, ::1] h):
    """A GRU layer's recurrence over a whole sequence, gate order r, z, n:
    for t in range(n_steps), with hp = h[t] @ weight_hh.T + bias_hh,
    r, z := sigmoid(x_proj[t] + hp) (their thirds), n := tanh(x_proj_n +
    r*hp_n), h[t + 1] := (1 - z)*n + z*h[t]; gates[t] := (r, z, n, hp_n).
    Rows past their end: gates[t] := 0, h[t + 1] := h[t].

    Parameters
    ----------
    x_proj : ndarray of shape (n_steps, n_samples, 3*hidden)  # IN, x_t @ W_ih.T + b_ih
    weight_hh : ndarray of shape (3*hidden, hidden)           # IN
    bias_hh : ndarray of shape (3*hidden,)                    # IN
    lengths : int64 ndarray of shape (n_samples,)             # IN
    gates : ndarray of shape (n_steps, n_samples, 4*hidden)   # OUT, for backward
    h : ndarray of shape (n_steps + 1, n_samples, hidden)     # IN h[0]; OUT the rest
    """
    cdef Py_ssize_t T = x_proj.shape[0], N = h.shape[1], H = h.shape[2]
    if T == 0 or N == 0:
        return
    cdef SequenceCall a = _new_call(GRU_FORWARD, T, N, H, 3 * H, &lengths[0],
                                    floating is double)
    cdef floating *scratch = <floating *>malloc(N * 3 * H * sizeof(floating))
    if scratch == NULL:
        raise MemoryError()
    cdef floating *wt
    try:
        wt = _transposed(weight_hh)
    except MemoryError:
        free(scratch)
        raise
    a.x_proj, a.weight, a.bias_hh, a.gates, a.h, a.scratch = &x_proj[0, 0, 0], wt, \
        &bias_hh[0], &gates[0, 0, 0], &h[0, 0, 0], scratch
    with nogil:
        _run(&a)
        free(wt)
        free(scratch)


def gru_sequence_backward(const floating[:, :, ::1] gates, const floating[:, :, ::1] h,
                          const floating[:, :, ::1] grad_output,
                          const floating[:, ::1] weight_hh, const long long[::1] lengths,
                          floating[:, ::1] grad_h, floating[:, :, ::1] grad_x_gates,
                          floating[:, :, ::1] grad_h_gates):
    """Backpropagation through time of gru_sequence_forward: for t from
    n_steps - 1 down to 0, with dh = grad_output[t] + grad_h:
    grad_x_gates[t] := the gradient of x_proj[t], grad_h_gates[t] := that of
    h[t] @ weight_hh.T + bias_hh (its n third is r times x_proj's), grad_h
    := dh*z + grad_h_gates[t] @ weight_hh. Rows past their end at t: both
    gate gradients 0, grad_h unchanged.

    Parameters
    ----------
    gates : ndarray of shape (n_steps, n_samples, 4*hidden)         # IN
    h : ndarray of shape (n_steps + 1, n_samples, hidden)           # IN
    grad_output : ndarray of shape (n_steps, n_samples, hidden)     # IN
    weight_hh : ndarray of shape (3*hidden, hidden)                 # IN
    lengths : int64 ndarray of shape (n_samples,)                   # IN
    grad_h : ndarray of shape (n_samples, hidden)                   # IN/OUT
    grad_x_gates, grad_h_gates : ndarrays of shape (n_steps, n_samples, 3*hidden)  # OUT
    """
    cdef Py_ssize_t T = gates.shape[0], N = grad_h.shape[0], H = grad_h.shape[1]
    if T == 0 or N == 0:
        return
    cdef SequenceCall a = _new_call(GRU_BACKWARD, T, N, H, 3 * H, &lengths[0],
                                    floating is double)
    a.x_proj, a.h, a.grad_output, a.weight = &gates[0, 0, 0], <void *>&h[0, 0, 0], \
        &grad_output[0, 0, 0], &weight_hh[0, 0]
    a.grad_h, a.gates, a.grad_h_gates = &grad_h[0, 0], &grad_x_gates[0, 0, 0], \
        &grad_h_gates[0, 0, 0]
    with nogil:
        _run(&a)


def rnn_sequence_forward(const floating[:, :, ::1] x_proj, const floating[:, ::1] weight_hh,
                         const long long[::1] lengths, floating[:, :, ::1] h,
                         bint relu=False):
    """An Elman layer's recurrence over a whole sequence: for t in
    range(n_steps), h[t + 1] := tanh(x_proj[t] + h[t] @ weight_hh.T) (relu:
    max(., 0)); rows past their end: h[t + 1] := h[t].

    Parameters
    ----------
    x_proj : ndarray of shape (n_steps, n_samples, hidden)  # IN, x_t @ W_ih.T + b_ih + b_hh
    weight_hh : ndarray of shape (hidden, hidden)           # IN
    lengths : int64 ndarray of shape (n_samples,)           # IN
    h : ndarray of shape (n_steps + 1, n_samples, hidden)   # IN h[0]; OUT the rest
    """
    cdef Py_ssize_t T = x_proj.shape[0], N = h.shape[1], H = h.shape[2]
    if T == 0 or N == 0:
        return
    cdef SequenceCall a = _new_call(RNN_FORWARD, T, N, H, H, &lengths[0], floating is double)
    cdef floating *wt = _transposed(weight_hh)
    a.x_proj, a.weight, a.h, a.relu = &x_proj[0, 0, 0], wt, &h[0, 0, 0], relu
    with nogil:
        _run(&a)
        free(wt)


def rnn_sequence_backward(const floating[:, :, ::1] h, const floating[:, :, ::1] grad_output,
                          const floating[:, ::1] weight_hh, const long long[::1] lengths,
                          floating[:, ::1] grad_h, floating[:, :, ::1] grad_gates,
                          bint relu=False):
    """Backpropagation through time of rnn_sequence_forward from its states:
    for t from n_steps - 1 down to 0, grad_gates[t] := (grad_output[t] +
    grad_h) * act'(from h[t + 1]), grad_h := grad_gates[t] @ weight_hh.
    Rows past their end at t: grad_gates[t] := 0, grad_h unchanged.

    Parameters
    ----------
    h : ndarray of shape (n_steps + 1, n_samples, hidden)          # IN
    grad_output : ndarray of shape (n_steps, n_samples, hidden)    # IN
    weight_hh : ndarray of shape (hidden, hidden)                  # IN
    lengths : int64 ndarray of shape (n_samples,)                  # IN
    grad_h : ndarray of shape (n_samples, hidden)                  # IN/OUT
    grad_gates : ndarray of shape (n_steps, n_samples, hidden)     # OUT
    """
    cdef Py_ssize_t T = grad_output.shape[0], N = grad_h.shape[0], H = grad_h.shape[1]
    if T == 0 or N == 0:
        return
    cdef SequenceCall a = _new_call(RNN_BACKWARD, T, N, H, H, &lengths[0], floating is double)
    a.h, a.grad_output, a.weight, a.relu = <void *>&h[0, 0, 0], &grad_output[0, 0, 0], \
        &weight_hh[0, 0], relu
    a.grad_h, a.gates = &grad_h[0, 0], &grad_gates[0, 0, 0]
    with nogil:
        _run(&a)
