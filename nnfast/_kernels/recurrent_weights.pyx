"""Parameter and input gradients of a recurrent layer, from the gate
gradients of every time step at once.

Once back-propagation through time (recurrent.pyx) has left the gradients
of every step's gate pre-activations, the rest of a layer's backward pass
has no recurrence: every step's rows go through one GEMM per gradient,
over all n_steps * n_samples rows. Threads split the input gradient by
blocks of rows. The weight gradients on the float32 AVX-512 path are split
by rows too: each thread sums its rows into a block of its own, and a second
team adds the blocks to the gradients in part order (deterministic for a
given number of parts). Each thread then reads whole lines of the gate
gradients, and only its part of x and h; split by blocks of gate rows (the
BLAS paths, and one thread), every thread read all of x and h and half of
every line. lstm-seq's shapes on 2 threads: 1.06 ms against 1.24 standalone
(bench/lstm_breakdown.py), 1.14-1.18 against 1.41-1.58 inside a training
step, three alternated runs each.

LSTM and RNN have one gate gradient for both weights: their two weight
gradients and the bias gradient are then one GEMM against the input, the
states and a column of ones side by side, [x | h | 1], which packs the
large gate gradient once instead of twice (lstm-seq's shapes, 1 thread:
3.9-4.0 ms against 4.3-5.0 for two GEMMs, on a shared machine).
"""
from cython cimport floating
from nnfast._kernels._alloc cimport nnfast_aligned_free as free, nnfast_aligned_malloc as malloc
from libc.string cimport memcpy

from nnfast._kernels._blas cimport gemm
from nnfast._kernels._small_gemm cimport column_sums, small_gemm, small_gemm_runs
from nnfast._kernels._threads cimport run_team, split_columns, split_range, team_size


cdef struct WeightsCall:
    # One call's arguments, shared read-only by its threads; element
    # pointers are float or double as ``is_double`` says.
    const void *x
    const void *h
    const void *grad_x_gates
    const void *grad_h_gates
    const void *weight_ih
    const void *ones
    const void *xh           # shared: [x | h | 1], (rows, inputs + hidden + 1)
    void *joint              # shared: the joint GEMM's (gates, inputs + hidden + 1)
    void *grad_input
    void *grad_weight_ih
    void *grad_weight_hh
    void *grad_bias_ih
    void *grad_bias_hh
    float *partials          # row split: per part (gates, inputs + hidden) sums, 2 * gates bias sums
    Py_ssize_t rows, inputs, hidden, gates
    bint shared, is_double, small, split_rows


cdef void _shared_part(floating *grad_weight_ih, WeightsCall *a, Py_ssize_t lo,
                       Py_ssize_t hi) noexcept nogil:
    """Gate rows [lo, hi) of both weight gradients and the bias gradients
    when the gate gradients are one array: one GEMM against [x | h] and one
    column sum, then added to each gradient."""
    cdef const floating *gx = <const floating *>a.grad_x_gates
    cdef floating *grad_weight_hh = <floating *>a.grad_weight_hh
    cdef floating *grad_bias_ih = <floating *>a.grad_bias_ih
    cdef floating *grad_bias_hh = <floating *>a.grad_bias_hh
    cdef Py_ssize_t R = a.rows, I = a.inputs, H = a.hidden, G = a.gates, K = I + H + 1
    cdef floating *joint = <floating *>a.joint
    cdef floating *row
    cdef Py_ssize_t g, j
    # joint[g] := grad[:, g] @ [x | h | 1]: both weight gradients' rows and
    # the column sum
    gemm(True, False, hi - lo, K, R, 1, gx + lo, G, <const floating *>a.xh, K, 0,
         joint + lo * K, K)
    for g in range(lo, hi):
        row = joint + g * K
        for j in range(I):
            grad_weight_ih[g * I + j] += row[j]
        for j in range(H):
            grad_weight_hh[g * H + j] += row[I + j]
        grad_bias_ih[g] += row[I + H]
        grad_bias_hh[g] += row[I + H]


cdef void _small_part(WeightsCall *a, Py_ssize_t lo, Py_ssize_t hi) noexcept nogil:
    """Gate rows [lo, hi) of the weight and bias gradients, float32, in the
    AVX-512 GEMM (_small_gemm): it takes the transposed gate gradients as
    they lie, so x and h need no [x | h | 1] copy; two GEMMs and two column
    sums. lstm-seq's shapes, one thread: 3.2-3.7 ms against 3.9-4.2 for
    the joint BLAS GEMM (20th percentile of 60 calls, alternated)."""
    cdef const float *gx = <const float *>a.grad_x_gates
    cdef const float *gh = <const float *>a.grad_h_gates
    cdef Py_ssize_t R = a.rows, I = a.inputs, H = a.hidden, G = a.gates
    small_gemm(True, hi - lo, I, R, gx + lo, G, <const float *>a.x, I, True,
               <float *>a.grad_weight_ih + lo * I, I)
    small_gemm(True, hi - lo, H, R, gh + lo, G, <const float *>a.h, H, True,
               <float *>a.grad_weight_hh + lo * H, H)
    column_sums(R, hi - lo, gx + lo, G, <float *>a.grad_bias_ih + lo)
    column_sums(R, hi - lo, gh + lo, G, <float *>a.grad_bias_hh + lo)


cdef void _small_rows_part(WeightsCall *a, int t, int nt) noexcept nogil:
    """Part t of nt of the float32 weight and bias gradients split by rows
    (steps * samples) instead of gate rows: each part's sums over its rows
    go to its own block of ``partials``, which _reduce_part then adds up.
    Each part reads whole lines of the gate gradients and a part of x and h
    only; split by gate rows, every thread read all of x and h and half of
    each line of the gate gradients (lstm-seq, 2 threads, inside a training
    step: see the module docstring)."""
    cdef const float *gx = <const float *>a.grad_x_gates
    cdef const float *gh = <const float *>a.grad_h_gates
    cdef Py_ssize_t R = a.rows, I = a.inputs, H = a.hidden, G = a.gates, lo, hi, j
    cdef float *mine = a.partials + t * G * (I + H + 2)
    cdef float *sums = mine + G * (I + H)
    split_range(R, t, nt, &lo, &hi)
    small_gemm(True, G, I, hi - lo, gx + lo * G, G, <const float *>a.x + lo * I, I, False,
               mine, I)
    small_gemm(True, G, H, hi - lo, gh + lo * G, G, <const float *>a.h + lo * H, H, False,
               mine + G * I, H)
    for j in range(G):
        sums[j] = 0
    column_sums(hi - lo, G, gx + lo * G, G, sums)
    if not a.shared:
        for j in range(G):
            sums[G + j] = 0
        column_sums(hi - lo, G, gh + lo * G, G, sums + G)


cdef void _reduce_part(void *args, int t, int nt) noexcept nogil:
    """Gate rows [lo, hi) of the gradients += the parts' sums, in part order
    (so the result depends on the number of parts only)."""
    cdef WeightsCall *a = <WeightsCall *>args
    cdef Py_ssize_t I = a.inputs, H = a.hidden, G = a.gates, lo, hi, g, j
    cdef int p, parts = a.split_rows
    cdef float *w_ih = <float *>a.grad_weight_ih
    cdef float *w_hh = <float *>a.grad_weight_hh
    cdef float *b_ih = <float *>a.grad_bias_ih
    cdef float *b_hh = <float *>a.grad_bias_hh
    cdef const float *mine
    cdef const float *sums
    split_columns(G, t, nt, sizeof(float), &lo, &hi)
    for p in range(parts):
        mine = a.partials + p * G * (I + H + 2)
        sums = mine + G * (I + H)
        for g in range(lo, hi):
            for j in range(I):
                w_ih[g * I + j] += mine[g * I + j]
            for j in range(H):
                w_hh[g * H + j] += mine[G * I + g * H + j]
            b_ih[g] += sums[g]
            b_hh[g] += sums[g] if a.shared else sums[G + g]


cdef void _part(floating *grad_weight_ih, WeightsCall *a, int t, int nt) noexcept nogil:
    cdef const floating *x = <const floating *>a.x
    cdef const floating *h = <const floating *>a.h
    cdef const floating *gx = <const floating *>a.grad_x_gates
    cdef const floating *gh = <const floating *>a.grad_h_gates
    cdef const floating *ones = <const floating *>a.ones
    cdef floating *grad_weight_hh = <floating *>a.grad_weight_hh
    cdef floating *grad_bias_ih = <floating *>a.grad_bias_ih
    cdef floating *grad_bias_hh = <floating *>a.grad_bias_hh
    cdef Py_ssize_t R = a.rows, I = a.inputs, H = a.hidden, G = a.gates, lo, hi
    # gate rows [lo, hi) of the weight gradients; columns of the gate
    # gradients on cache-line edges, so no two threads share a line
    split_columns(G, t, nt, sizeof(floating), &lo, &hi)
    if a.split_rows:
        _small_rows_part(a, t, nt)
    elif hi > lo and a.small:
        _small_part(a, lo, hi)
    elif hi > lo and a.shared:
        _shared_part(grad_weight_ih, a, lo, hi)
    elif hi > lo:
        gemm(True, False, hi - lo, I, R, 1, gx + lo, G, x, I, 1, grad_weight_ih + lo * I, I)
        gemm(True, False, hi - lo, H, R, 1, gh + lo, G, h, H, 1, grad_weight_hh + lo * H, H)
        # bias gradients as ones @ grad: the column sums of a (rows, gates)
        # array as a GEMM (a plain loop over 1600 rows of lstm-seq's 512
        # gates took 6 ms, the GEMM 0.06)
        gemm(False, False, 1, hi - lo, R, 1, ones, R, gx + lo, G, 1, grad_bias_ih + lo, G)
        gemm(False, False, 1, hi - lo, R, 1, ones, R, gh + lo, G, 1, grad_bias_hh + lo, G)
    if a.grad_input == NULL:
        return
    split_range(R, t, nt, &lo, &hi)
    if hi > lo and a.small:
        small_gemm(False, hi - lo, I, G, <const float *>gx + lo * G, G,
                   <const float *>a.weight_ih, I, False, <float *>a.grad_input + lo * I, I)
    elif hi > lo:
        gemm(False, False, hi - lo, I, G, 1, gx + lo * G, G, <const floating *>a.weight_ih, I,
             0, <floating *>a.grad_input + lo * I, I)


cdef void _body(void *args, int t, int nt) noexcept nogil:
    cdef WeightsCall *a = <WeightsCall *>args
    if a.is_double:
        _part(<double *>a.grad_weight_ih, a, t, nt)
    else:
        _part(<float *>a.grad_weight_ih, a, t, nt)


def recurrent_weights_backward(const floating[:, ::1] x, const floating[:, ::1] h,
                               const floating[:, ::1] grad_x_gates,
                               const floating[:, ::1] grad_h_gates,
                               const floating[:, ::1] weight_ih, floating[:, ::1] grad_input,
                               floating[:, ::1] grad_weight_ih, floating[:, ::1] grad_weight_hh,
                               floating[::1] grad_bias_ih, floating[::1] grad_bias_hh):
    """A recurrent layer's gradients from its gate gradients, every step's
    rows at once (rows = n_steps * n_samples): grad_weight_ih +=
    grad_x_gates.T @ x, grad_weight_hh += grad_h_gates.T @ h, grad_bias_ih
    += grad_x_gates.sum(0), grad_bias_hh += grad_h_gates.sum(0), and
    grad_input := grad_x_gates @ weight_ih unless it is None. For LSTM and
    RNN both gate gradients are the same array.

    Parameters
    ----------
    x : ndarray of shape (rows, input_size)                 # IN, the layer's input
    h : ndarray of shape (rows, hidden)                     # IN, the state each step started from
    grad_x_gates : ndarray of shape (rows, gates)           # IN, gradient of x @ weight_ih.T + bias_ih
    grad_h_gates : ndarray of shape (rows, gates)           # IN, gradient of h @ weight_hh.T + bias_hh
    weight_ih : ndarray of shape (gates, input_size)        # IN
    grad_input : ndarray of shape (rows, input_size), or None  # OUT
    grad_weight_ih : ndarray of shape (gates, input_size)   # IN/OUT
    grad_weight_hh : ndarray of shape (gates, hidden)       # IN/OUT
    grad_bias_ih, grad_bias_hh : ndarrays of shape (gates,) # IN/OUT
    """
    cdef WeightsCall a
    cdef Py_ssize_t i
    a.rows, a.inputs, a.hidden, a.gates = x.shape[0], x.shape[1], h.shape[1], \
        grad_x_gates.shape[1]
    if a.rows == 0:
        return
    a.shared = &grad_x_gates[0, 0] == &grad_h_gates[0, 0]
    a.small = floating is float and small_gemm_runs()
    # what each path needs besides the arrays given: the joint BLAS GEMM
    # (LSTM, RNN) [x | h | 1] and its product, the two BLAS GEMMs (GRU) a
    # column of ones for the bias sums; the AVX-512 GEMM nothing
    cdef bint joint_path = a.shared and not a.small
    cdef bint ones_path = not a.shared and not a.small
    cdef Py_ssize_t width = a.inputs + a.hidden + 1
    cdef floating *ones = NULL
    cdef floating *xh = NULL
    cdef floating *joint = NULL
    if ones_path:
        ones = <floating *>malloc(a.rows * sizeof(floating))
    if joint_path:
        xh = <floating *>malloc(a.rows * width * sizeof(floating))
        joint = <floating *>malloc(a.gates * width * sizeof(floating))
    if (ones_path and ones == NULL) or (joint_path and (xh == NULL or joint == NULL)):
        free(ones)
        free(xh)
        free(joint)
        raise MemoryError()
    if ones_path:
        for i in range(a.rows):
            ones[i] = 1
    if joint_path:
        with nogil:
            for i in range(a.rows):
                memcpy(xh + i * width, &x[i, 0], a.inputs * sizeof(floating))
                memcpy(xh + i * width + a.inputs, &h[i, 0], a.hidden * sizeof(floating))
                xh[i * width + width - 1] = 1
    a.xh, a.joint = xh, joint
    a.x, a.h, a.grad_x_gates, a.grad_h_gates = &x[0, 0], &h[0, 0], &grad_x_gates[0, 0], \
        &grad_h_gates[0, 0]
    a.weight_ih, a.ones = &weight_ih[0, 0], ones
    a.grad_input = &grad_input[0, 0] if grad_input is not None else NULL
    a.grad_weight_ih, a.grad_weight_hh = &grad_weight_ih[0, 0], &grad_weight_hh[0, 0]
    a.grad_bias_ih, a.grad_bias_hh = &grad_bias_ih[0], &grad_bias_hh[0]
    a.is_double = floating is double
    cdef double flops = 2.0 * a.rows * a.gates * (2 * a.inputs + a.hidden + 2)
    cdef int nt = team_size(flops, a.gates)
    a.partials = NULL
    a.split_rows = 0
    if a.small and nt > 1:
        a.partials = <float *>malloc(nt * a.gates * (width + 1) * sizeof(float))
        if a.partials == NULL:
            raise MemoryError()
        a.split_rows = nt
    with nogil:
        run_team(_body, &a, nt)
        if a.split_rows:
            run_team(_reduce_part, &a, nt)
        free(a.partials)
        free(ones)
        free(xh)
        free(joint)
