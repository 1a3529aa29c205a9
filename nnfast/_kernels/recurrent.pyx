"""Recurrent cell kernels: one time step's gate nonlinearities, fused.

The layers (nnfast/layers/recurrent.py) compute the input projection of all
time steps as one GEMM and each step's recurrent projection ``h @ W_hh.T``
as one GEMM; these kernels do the rest of a step in one pass over the gates
of each batch row: add the two projections, apply the gate nonlinearities,
update the state, and (backward) turn the gradient of the new state into
the gradient of the pre-activations, all while a row is in cache.

Variable lengths (PyTorch's packed sequences): row n takes part in step
``step`` only while ``step < lengths[n]``. A row past its end keeps its
state (h, c := h_prev, c_prev), gets zero gates, and in the backward pass
ignores ``grad_output`` and passes the state gradient through unchanged.

Threads split the batch rows into one contiguous block each.
"""
from cython cimport floating

from libc.math cimport expm1

from nnfast._kernels._math cimport f_sigmoid
from nnfast._kernels._threads cimport run_team, split_range, team_size

# Work per gate element, in flops, for team_size: a sigmoid/tanh is ~10.
cdef double PER_GATE = 12.0

cdef extern from "fast_gates.h" nogil:
    float nnfast_sigmoid_f(float x)
    float nnfast_tanh_f(float x)


cdef inline floating gate_sigmoid(floating x) noexcept nogil:
    """sigmoid: float32 from fast_gates.h (vectorizable, ~1 ulp), float64
    from libm's exp."""
    if floating is float:
        return nnfast_sigmoid_f(x)
    else:
        return f_sigmoid(x)


cdef inline floating gate_tanh(floating x) noexcept nogil:
    """tanh: float32 from fast_gates.h; float64 from expm1, as
    (1 - e^-2|x|) / (1 + e^-2|x|) with the sign of x, accurate near 0 too
    (expm1 has no cancellation) and ~4x faster than this glibc's tanh."""
    cdef double e
    if floating is float:
        return nnfast_tanh_f(x)
    else:
        e = expm1(-2 * (x if x >= 0 else -x))
        e = -e / (2 + e)
        return e if x >= 0 else -e


cdef enum Op:
    RNN_FORWARD
    RNN_BACKWARD
    LSTM_FORWARD
    LSTM_BACKWARD
    GRU_FORWARD
    GRU_BACKWARD


cdef struct RecurrentCall:
    # One call's arguments, shared read-only by its threads; element
    # pointers are float or double as ``is_double`` says.
    const void *x_proj
    const void *h_proj
    const void *bias_hh
    const void *h_prev
    const void *c_prev
    const void *c
    const void *h
    const void *grad_output
    const long long *lengths
    void *gates
    void *h_out
    void *c_out
    void *grad_h
    void *grad_c
    void *grad_x_gates
    void *grad_h_gates
    Py_ssize_t n_samples, hidden, step
    Op op
    bint relu, is_double


cdef void _rnn_forward_rows(RecurrentCall *a, Py_ssize_t lo, Py_ssize_t hi,
                            floating *h) noexcept nogil:
    cdef const floating *xp = <const floating *>a.x_proj
    cdef const floating *hp = <const floating *>a.h_proj
    cdef const floating *h_prev = <const floating *>a.h_prev
    cdef Py_ssize_t H = a.hidden, n, j, r
    cdef floating v
    for n in range(lo, hi):
        r = n * H
        if a.step >= a.lengths[n]:
            for j in range(H):
                h[r + j] = h_prev[r + j]
        elif a.relu:
            for j in range(H):
                v = xp[r + j] + hp[r + j]
                h[r + j] = 0 if v < 0 else v
        else:
            for j in range(H):
                h[r + j] = gate_tanh(xp[r + j] + hp[r + j])


cdef void _rnn_backward_rows(RecurrentCall *a, Py_ssize_t lo, Py_ssize_t hi,
                             floating *grad_gates) noexcept nogil:
    cdef const floating *h = <const floating *>a.h
    cdef const floating *go = <const floating *>a.grad_output
    cdef floating *grad_h = <floating *>a.grad_h
    cdef Py_ssize_t H = a.hidden, n, j, r
    cdef floating d, v
    for n in range(lo, hi):
        r = n * H
        if a.step >= a.lengths[n]:
            for j in range(H):
                grad_gates[r + j] = 0
            continue
        for j in range(H):
            d = go[r + j] + grad_h[r + j]
            v = h[r + j]
            if a.relu:
                grad_gates[r + j] = d if v > 0 else 0
            else:
                grad_gates[r + j] = d * (1 - v * v)
            grad_h[r + j] = 0


cdef void _lstm_forward_rows(RecurrentCall *a, Py_ssize_t lo, Py_ssize_t hi,
                             floating *gates) noexcept nogil:
    cdef const floating *xp = <const floating *>a.x_proj
    cdef const floating *hp = <const floating *>a.h_proj
    cdef const floating *h_prev = <const floating *>a.h_prev
    cdef const floating *c_prev = <const floating *>a.c_prev
    cdef floating *h = <floating *>a.h_out
    cdef floating *c = <floating *>a.c_out
    cdef Py_ssize_t H = a.hidden, G = 4 * a.hidden, n, j, r, q
    cdef floating cv
    cdef floating *g
    for n in range(lo, hi):
        r = n * H
        q = n * G
        if a.step >= a.lengths[n]:
            for j in range(H):
                h[r + j] = h_prev[r + j]
                c[r + j] = c_prev[r + j]
            for j in range(G):
                gates[q + j] = 0
            continue
        # gate order i, f, g, o (PyTorch's). One loop per nonlinearity over
        # contiguous gates, in place: loops GCC vectorizes (one loop doing
        # all four gates of a unit did not vectorize).
        g = gates + q
        for j in range(G):
            g[j] = xp[q + j] + hp[q + j]
        for j in range(2 * H):
            g[j] = gate_sigmoid(g[j])
        for j in range(2 * H, 3 * H):
            g[j] = gate_tanh(g[j])
        for j in range(3 * H, G):
            g[j] = gate_sigmoid(g[j])
        for j in range(H):
            cv = g[H + j] * c_prev[r + j] + g[j] * g[2 * H + j]
            c[r + j] = cv
            h[r + j] = g[3 * H + j] * gate_tanh(cv)


cdef void _lstm_backward_rows(RecurrentCall *a, Py_ssize_t lo, Py_ssize_t hi,
                              floating *grad_gates) noexcept nogil:
    cdef const floating *gates = <const floating *>a.x_proj   # saved activations
    cdef const floating *c_prev = <const floating *>a.c_prev
    cdef const floating *c = <const floating *>a.c
    cdef const floating *go = <const floating *>a.grad_output
    cdef floating *grad_h = <floating *>a.grad_h
    cdef floating *grad_c = <floating *>a.grad_c
    cdef Py_ssize_t H = a.hidden, G = 4 * a.hidden, n, j, r, q
    cdef floating i_, f_, g_, o_, tc, dh, dc
    for n in range(lo, hi):
        r = n * H
        q = n * G
        if a.step >= a.lengths[n]:
            for j in range(G):
                grad_gates[q + j] = 0
            continue
        for j in range(H):
            i_ = gates[q + j]
            f_ = gates[q + H + j]
            g_ = gates[q + 2 * H + j]
            o_ = gates[q + 3 * H + j]
            tc = gate_tanh(c[r + j])
            dh = go[r + j] + grad_h[r + j]
            dc = grad_c[r + j] + dh * o_ * (1 - tc * tc)
            grad_gates[q + j] = dc * g_ * i_ * (1 - i_)
            grad_gates[q + H + j] = dc * c_prev[r + j] * f_ * (1 - f_)
            grad_gates[q + 2 * H + j] = dc * i_ * (1 - g_ * g_)
            grad_gates[q + 3 * H + j] = dh * tc * o_ * (1 - o_)
            grad_c[r + j] = dc * f_
            grad_h[r + j] = 0


cdef void _gru_forward_rows(RecurrentCall *a, Py_ssize_t lo, Py_ssize_t hi,
                            floating *gates) noexcept nogil:
    cdef const floating *xp = <const floating *>a.x_proj
    cdef const floating *hp = <const floating *>a.h_proj
    cdef const floating *b = <const floating *>a.bias_hh
    cdef const floating *h_prev = <const floating *>a.h_prev
    cdef floating *h = <floating *>a.h_out
    cdef Py_ssize_t H = a.hidden, G3 = 3 * a.hidden, G4 = 4 * a.hidden
    cdef Py_ssize_t n, j, r, p, q
    cdef floating r_, z_, n_, hn
    for n in range(lo, hi):
        r = n * H
        p = n * G3
        q = n * G4
        if a.step >= a.lengths[n]:
            for j in range(H):
                h[r + j] = h_prev[r + j]
            for j in range(G4):
                gates[q + j] = 0
            continue
        # gate order r, z, n (PyTorch's); saved: r, z, n, W_hn h + b_hn
        for j in range(H):
            r_ = gate_sigmoid(xp[p + j] + hp[p + j] + b[j])
            z_ = gate_sigmoid(xp[p + H + j] + hp[p + H + j] + b[H + j])
            hn = hp[p + 2 * H + j] + b[2 * H + j]
            n_ = gate_tanh(xp[p + 2 * H + j] + r_ * hn)
            gates[q + j] = r_
            gates[q + H + j] = z_
            gates[q + 2 * H + j] = n_
            gates[q + 3 * H + j] = hn
            h[r + j] = (1 - z_) * n_ + z_ * h_prev[r + j]


cdef void _gru_backward_rows(RecurrentCall *a, Py_ssize_t lo, Py_ssize_t hi,
                             floating *gx) noexcept nogil:
    cdef const floating *gates = <const floating *>a.x_proj   # saved activations
    cdef const floating *h_prev = <const floating *>a.h_prev
    cdef const floating *go = <const floating *>a.grad_output
    cdef floating *grad_h = <floating *>a.grad_h
    cdef floating *gh = <floating *>a.grad_h_gates
    cdef Py_ssize_t H = a.hidden, G3 = 3 * a.hidden, G4 = 4 * a.hidden
    cdef Py_ssize_t n, j, r, p, q
    cdef floating r_, z_, n_, hn, dh, dn
    for n in range(lo, hi):
        r = n * H
        p = n * G3
        q = n * G4
        if a.step >= a.lengths[n]:
            for j in range(G3):
                gx[p + j] = 0
                gh[p + j] = 0
            continue
        for j in range(H):
            r_ = gates[q + j]
            z_ = gates[q + H + j]
            n_ = gates[q + 2 * H + j]
            hn = gates[q + 3 * H + j]
            dh = go[r + j] + grad_h[r + j]
            dn = dh * (1 - z_) * (1 - n_ * n_)
            gx[p + j] = dn * hn * r_ * (1 - r_)
            gx[p + H + j] = dh * (h_prev[r + j] - n_) * z_ * (1 - z_)
            gx[p + 2 * H + j] = dn
            gh[p + j] = gx[p + j]
            gh[p + H + j] = gx[p + H + j]
            gh[p + 2 * H + j] = dn * r_
            grad_h[r + j] = dh * z_


cdef void _part(floating *first, RecurrentCall *a, int t, int nt) noexcept nogil:
    """Thread t's block of batch rows; ``first`` is the output that sets the
    element type (its pointer, cast)."""
    cdef Py_ssize_t lo, hi
    split_range(a.n_samples, t, nt, &lo, &hi)
    if hi <= lo:
        return
    if a.op == RNN_FORWARD:
        _rnn_forward_rows(a, lo, hi, first)
    elif a.op == RNN_BACKWARD:
        _rnn_backward_rows(a, lo, hi, first)
    elif a.op == LSTM_FORWARD:
        _lstm_forward_rows(a, lo, hi, first)
    elif a.op == LSTM_BACKWARD:
        _lstm_backward_rows(a, lo, hi, first)
    elif a.op == GRU_FORWARD:
        _gru_forward_rows(a, lo, hi, first)
    else:
        _gru_backward_rows(a, lo, hi, first)


cdef void _body(void *args, int t, int nt) noexcept nogil:
    cdef RecurrentCall *a = <RecurrentCall *>args
    cdef void *first = a.gates
    if a.is_double:
        _part(<double *>first, a, t, nt)
    else:
        _part(<float *>first, a, t, nt)


cdef void _run(RecurrentCall *a, Py_ssize_t gates_per_row) noexcept nogil:
    cdef int nt = team_size(PER_GATE * a.n_samples * gates_per_row, a.n_samples)
    run_team(_body, a, nt)


cdef RecurrentCall _new_call(Op op, Py_ssize_t n_samples, Py_ssize_t hidden,
                             Py_ssize_t step, const long long *lengths,
                             bint is_double):
    cdef RecurrentCall a
    a.op, a.n_samples, a.hidden, a.step, a.lengths = op, n_samples, hidden, step, lengths
    a.is_double, a.relu = is_double, False
    a.x_proj = a.h_proj = a.bias_hh = a.h_prev = a.c_prev = a.c = a.h = NULL
    a.grad_output = NULL
    a.gates = a.h_out = a.c_out = a.grad_h = a.grad_c = NULL
    a.grad_x_gates = a.grad_h_gates = NULL
    return a


def rnn_cell_forward(const floating[:, ::1] x_proj, const floating[:, ::1] h_proj,
                     const floating[:, ::1] h_prev, const long long[::1] lengths,
                     Py_ssize_t step, floating[:, ::1] h, bint relu=False):
    """One Elman step: h := tanh(x_proj + h_proj) (relu: max(., 0)); rows
    past their end (step >= lengths[n]) keep h := h_prev.

    Parameters
    ----------
    x_proj : ndarray of shape (n_samples, hidden)  # IN, x_t @ W_ih.T + b_ih + b_hh
    h_proj : ndarray of shape (n_samples, hidden)  # IN, h_prev @ W_hh.T
    h_prev : ndarray of shape (n_samples, hidden)  # IN
    lengths : int64 ndarray of shape (n_samples,)  # IN
    step : int, the time step
    h : ndarray of shape (n_samples, hidden)       # OUT
    """
    if h.shape[0] == 0 or h.shape[1] == 0:
        return
    cdef RecurrentCall a = _new_call(RNN_FORWARD, h.shape[0], h.shape[1], step,
                                     &lengths[0], floating is double)
    a.x_proj, a.h_proj, a.h_prev, a.gates, a.relu = &x_proj[0, 0], &h_proj[0, 0], \
        &h_prev[0, 0], &h[0, 0], relu
    with nogil:
        _run(&a, h.shape[1])


def rnn_cell_backward(const floating[:, ::1] h, const floating[:, ::1] grad_output,
                      const long long[::1] lengths, Py_ssize_t step,
                      floating[:, ::1] grad_h, floating[:, ::1] grad_gates,
                      bint relu=False):
    """Backward of rnn_cell_forward from its output h.

    With dh = grad_output + grad_h: grad_gates := dh * act'(.), the gradient
    of the pre-activation; grad_h := 0 (the caller adds grad_gates @ W_hh to
    get the gradient of h_prev). Rows past their end: grad_gates := 0 and
    grad_h unchanged (grad_output ignored).

    Parameters
    ----------
    h : ndarray of shape (n_samples, hidden)           # IN, the step's output
    grad_output : ndarray of shape (n_samples, hidden) # IN, gradient from the output sequence
    lengths : int64 ndarray of shape (n_samples,)      # IN
    step : int
    grad_h : ndarray of shape (n_samples, hidden)      # IN/OUT, gradient of h from later steps
    grad_gates : ndarray of shape (n_samples, hidden)  # OUT
    """
    if h.shape[0] == 0 or h.shape[1] == 0:
        return
    cdef RecurrentCall a = _new_call(RNN_BACKWARD, h.shape[0], h.shape[1], step,
                                     &lengths[0], floating is double)
    a.h, a.grad_output, a.grad_h, a.gates, a.relu = &h[0, 0], &grad_output[0, 0], \
        &grad_h[0, 0], &grad_gates[0, 0], relu
    with nogil:
        _run(&a, h.shape[1])


def lstm_gates_forward(const floating[:, ::1] x_proj, const floating[:, ::1] h_proj,
                       const floating[:, ::1] h_prev, const floating[:, ::1] c_prev,
                       const long long[::1] lengths, Py_ssize_t step,
                       floating[:, ::1] gates, floating[:, ::1] h, floating[:, ::1] c):
    """One LSTM step, gate order i, f, g, o: gates := (sigmoid(i), sigmoid(f),
    tanh(g), sigmoid(o)) of x_proj + h_proj; c := f*c_prev + i*g;
    h := o*tanh(c). Rows past their end: gates := 0, h, c := h_prev, c_prev.

    Parameters
    ----------
    x_proj : ndarray of shape (n_samples, 4*hidden)  # IN, x_t @ W_ih.T + b_ih + b_hh
    h_proj : ndarray of shape (n_samples, 4*hidden)  # IN, h_prev @ W_hh.T
    h_prev, c_prev : ndarrays of shape (n_samples, hidden)  # IN
    lengths : int64 ndarray of shape (n_samples,)    # IN
    step : int
    gates : ndarray of shape (n_samples, 4*hidden)   # OUT, the activations, for backward
    h, c : ndarrays of shape (n_samples, hidden)     # OUT
    """
    if h.shape[0] == 0 or h.shape[1] == 0:
        return
    cdef RecurrentCall a = _new_call(LSTM_FORWARD, h.shape[0], h.shape[1], step,
                                     &lengths[0], floating is double)
    a.x_proj, a.h_proj, a.h_prev, a.c_prev = &x_proj[0, 0], &h_proj[0, 0], \
        &h_prev[0, 0], &c_prev[0, 0]
    a.gates, a.h_out, a.c_out = &gates[0, 0], &h[0, 0], &c[0, 0]
    with nogil:
        _run(&a, gates.shape[1])


def lstm_gates_backward(const floating[:, ::1] gates, const floating[:, ::1] c_prev,
                        const floating[:, ::1] c, const floating[:, ::1] grad_output,
                        const long long[::1] lengths, Py_ssize_t step,
                        floating[:, ::1] grad_h, floating[:, ::1] grad_c,
                        floating[:, ::1] grad_gates):
    """Backward of lstm_gates_forward from its saved gates and cell states.

    With dh = grad_output + grad_h and dc = grad_c + dh*o*(1 - tanh(c)^2):
    grad_gates := the gradients of the four pre-activations; grad_c := dc*f
    (the gradient of c_prev); grad_h := 0 (the caller adds grad_gates @ W_hh).
    Rows past their end: grad_gates := 0, grad_h and grad_c unchanged.

    Parameters
    ----------
    gates : ndarray of shape (n_samples, 4*hidden)       # IN
    c_prev, c : ndarrays of shape (n_samples, hidden)    # IN
    grad_output : ndarray of shape (n_samples, hidden)   # IN
    lengths : int64 ndarray of shape (n_samples,)        # IN
    step : int
    grad_h, grad_c : ndarrays of shape (n_samples, hidden)  # IN/OUT
    grad_gates : ndarray of shape (n_samples, 4*hidden)  # OUT
    """
    if c.shape[0] == 0 or c.shape[1] == 0:
        return
    cdef RecurrentCall a = _new_call(LSTM_BACKWARD, c.shape[0], c.shape[1], step,
                                     &lengths[0], floating is double)
    a.x_proj, a.c_prev, a.c, a.grad_output = &gates[0, 0], &c_prev[0, 0], &c[0, 0], \
        &grad_output[0, 0]
    a.grad_h, a.grad_c, a.gates = &grad_h[0, 0], &grad_c[0, 0], &grad_gates[0, 0]
    with nogil:
        _run(&a, gates.shape[1])


def gru_gates_forward(const floating[:, ::1] x_proj, const floating[:, ::1] h_proj,
                      const floating[::1] bias_hh, const floating[:, ::1] h_prev,
                      const long long[::1] lengths, Py_ssize_t step,
                      floating[:, ::1] gates, floating[:, ::1] h):
    """One GRU step, gate order r, z, n: r, z := sigmoid(x_proj + h_proj +
    bias_hh) (their thirds), hn := h_proj_n + bias_hh_n, n := tanh(x_proj_n
    + r*hn), h := (1 - z)*n + z*h_prev; gates := (r, z, n, hn). Rows past
    their end: gates := 0, h := h_prev.

    Parameters
    ----------
    x_proj : ndarray of shape (n_samples, 3*hidden)  # IN, x_t @ W_ih.T + b_ih
    h_proj : ndarray of shape (n_samples, 3*hidden)  # IN, h_prev @ W_hh.T
    bias_hh : ndarray of shape (3*hidden,)           # IN
    h_prev : ndarray of shape (n_samples, hidden)    # IN
    lengths : int64 ndarray of shape (n_samples,)    # IN
    step : int
    gates : ndarray of shape (n_samples, 4*hidden)   # OUT, for backward
    h : ndarray of shape (n_samples, hidden)         # OUT
    """
    if h.shape[0] == 0 or h.shape[1] == 0:
        return
    cdef RecurrentCall a = _new_call(GRU_FORWARD, h.shape[0], h.shape[1], step,
                                     &lengths[0], floating is double)
    a.x_proj, a.h_proj, a.bias_hh, a.h_prev = &x_proj[0, 0], &h_proj[0, 0], \
        &bias_hh[0], &h_prev[0, 0]
    a.gates, a.h_out = &gates[0, 0], &h[0, 0]
    with nogil:
        _run(&a, gates.shape[1])


def gru_gates_backward(const floating[:, ::1] gates, const floating[:, ::1] h_prev,
                       const floating[:, ::1] grad_output, const long long[::1] lengths,
                       Py_ssize_t step, floating[:, ::1] grad_h,
                       floating[:, ::1] grad_x_gates, floating[:, ::1] grad_h_gates):
    """Backward of gru_gates_forward from its saved gates.

    With dh = grad_output + grad_h: grad_x_gates := the gradient of x_proj
    (r, z, n thirds), grad_h_gates := that of h_proj + bias_hh (its n third
    is r times x_proj's); grad_h := dh*z (the direct part of the gradient of
    h_prev; the caller adds grad_h_gates @ W_hh). Rows past their end: both
    gate gradients 0, grad_h unchanged.

    Parameters
    ----------
    gates : ndarray of shape (n_samples, 4*hidden)         # IN
    h_prev : ndarray of shape (n_samples, hidden)          # IN
    grad_output : ndarray of shape (n_samples, hidden)     # IN
    lengths : int64 ndarray of shape (n_samples,)          # IN
    step : int
    grad_h : ndarray of shape (n_samples, hidden)          # IN/OUT
    grad_x_gates, grad_h_gates : ndarrays of shape (n_samples, 3*hidden)  # OUT
    """
    if h_prev.shape[0] == 0 or h_prev.shape[1] == 0:
        return
    cdef RecurrentCall a = _new_call(GRU_BACKWARD, h_prev.shape[0], h_prev.shape[1], step,
                                     &lengths[0], floating is double)
    a.x_proj, a.h_prev, a.grad_output, a.grad_h = &gates[0, 0], &h_prev[0, 0], \
        &grad_output[0, 0], &grad_h[0, 0]
    a.gates, a.grad_h_gates = &grad_x_gates[0, 0], &grad_h_gates[0, 0]
    with nogil:
        _run(&a, gates.shape[1])
