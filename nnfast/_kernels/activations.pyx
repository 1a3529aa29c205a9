"""Activation kernels: ReLU, LeakyReLU, PReLU, Sigmoid and Tanh, forward and
backward.

The element-wise kernels take flat C-contiguous arrays (layers pass
``reshape(-1)`` views). Threads split the flat range into one contiguous block
each, and only when the work pays for waking them (``threads_for``). ReLU,
Sigmoid and Tanh differentiate from their saved output (the layer keeps the
array it returned rather than a second one); LeakyReLU and PReLU from their
input, because a slope of 0 or below makes the output's sign lose the
input's.
"""
import numpy as np

from cython cimport floating
from cython.parallel cimport parallel, threadid

from nnfast._kernels._math cimport f_relu, f_sigmoid, f_tanh
from nnfast._kernels._openmp cimport omp_get_num_threads, nnfast_flush_denormals
from nnfast._kernels._threads cimport threads_for, split_range

# Work per element, in units of one add, for threads_for: exp/tanh cost about
# ten times a compare-and-select.
cdef double CHEAP = 1.0
cdef double TRANSCENDENTAL = 10.0

cdef enum Op:
    RELU_FORWARD
    RELU_BACKWARD
    LEAKY_RELU_FORWARD
    LEAKY_RELU_BACKWARD
    SIGMOID_FORWARD
    SIGMOID_BACKWARD
    TANH_FORWARD
    TANH_BACKWARD


cdef void _elementwise_range(Op op, const floating *a, const floating *b,
                             floating *out, floating alpha, Py_ssize_t lo,
                             Py_ssize_t hi) noexcept nogil:
    """out[lo:hi] := op(a, b)[lo:hi]; one tight loop per op (branch hoisted)."""
    cdef Py_ssize_t i
    cdef floating v
    if op == RELU_FORWARD:
        for i in range(lo, hi):
            out[i] = f_relu(a[i])
    elif op == RELU_BACKWARD:  # a: saved output, b: grad_output
        # b[i] read unconditionally: a conditional load stops GCC from
        # turning the branch into a vector select, and on data where
        # a[i] > 0 is a coin toss the mispredicted branch cost ~30x.
        for i in range(lo, hi):
            v = b[i]
            out[i] = v if a[i] > 0 else 0
    elif op == LEAKY_RELU_FORWARD:
        for i in range(lo, hi):
            v = a[i]
            out[i] = v if v > 0 else alpha * v
    elif op == LEAKY_RELU_BACKWARD:  # a: input, b: grad_output
        for i in range(lo, hi):
            out[i] = b[i] if a[i] > 0 else alpha * b[i]
    elif op == SIGMOID_FORWARD:
        for i in range(lo, hi):
            out[i] = f_sigmoid(a[i])
    elif op == SIGMOID_BACKWARD:  # a: saved output, b: grad_output
        for i in range(lo, hi):
            v = a[i]
            out[i] = b[i] * v * (1 - v)
    elif op == TANH_FORWARD:
        for i in range(lo, hi):
            out[i] = f_tanh(a[i])
    elif op == TANH_BACKWARD:  # a: saved output, b: grad_output
        for i in range(lo, hi):
            v = a[i]
            out[i] = b[i] * (1 - v * v)


cdef void _elementwise_block(Op op, const floating *a, const floating *b,
                             floating *out, floating alpha, Py_ssize_t n,
                             int t, int nt) noexcept nogil:
    """Thread t's block of range(n)."""
    cdef Py_ssize_t lo, hi
    nnfast_flush_denormals()
    split_range(n, t, nt, &lo, &hi)
    _elementwise_range(op, a, b, out, alpha, lo, hi)


cdef void _elementwise(Op op, const floating *a, const floating *b,
                       floating *out, floating alpha, Py_ssize_t n,
                       double cost) noexcept nogil:
    """Run op over range(n), serially or in one block per thread."""
    cdef int nt = threads_for(cost * n)
    if nt <= 1:
        _elementwise_block(op, a, b, out, alpha, n, 0, 1)
        return
    with parallel(num_threads=nt):
        _elementwise_block(op, a, b, out, alpha, n, threadid(), omp_get_num_threads())


def relu_forward(const floating[::1] x, floating[::1] out):
    """out := max(x, 0)

    Parameters
    ----------
    x : ndarray of shape (n,)    # IN
    out : ndarray of shape (n,)  # OUT
    """
    if x.shape[0] == 0:
        return
    with nogil:
        _elementwise(RELU_FORWARD, &x[0], <const floating *>NULL, &out[0],
                     0, x.shape[0], CHEAP)


def relu_backward(const floating[::1] out, const floating[::1] grad_output,
                  floating[::1] grad_input):
    """grad_input := grad_output * (out > 0)

    Parameters
    ----------
    out : ndarray of shape (n,)          # IN, the forward's output
    grad_output : ndarray of shape (n,)  # IN
    grad_input : ndarray of shape (n,)   # OUT
    """
    if out.shape[0] == 0:
        return
    with nogil:
        _elementwise(RELU_BACKWARD, &out[0], &grad_output[0], &grad_input[0],
                     0, out.shape[0], CHEAP)


def leaky_relu_forward(const floating[::1] x, double negative_slope,
                       floating[::1] out):
    """out := x where x > 0, else negative_slope * x

    Parameters
    ----------
    x : ndarray of shape (n,)    # IN
    negative_slope : float
    out : ndarray of shape (n,)  # OUT
    """
    if x.shape[0] == 0:
        return
    with nogil:
        _elementwise(LEAKY_RELU_FORWARD, &x[0], <const floating *>NULL, &out[0],
                     <floating>negative_slope, x.shape[0], CHEAP)


def leaky_relu_backward(const floating[::1] x, const floating[::1] grad_output,
                        double negative_slope, floating[::1] grad_input):
    """grad_input := grad_output where x > 0, else negative_slope * grad_output

    Parameters
    ----------
    x : ndarray of shape (n,)            # IN, the forward's input
    grad_output : ndarray of shape (n,)  # IN
    negative_slope : float
    grad_input : ndarray of shape (n,)   # OUT
    """
    if x.shape[0] == 0:
        return
    with nogil:
        _elementwise(LEAKY_RELU_BACKWARD, &x[0], &grad_output[0], &grad_input[0],
                     <floating>negative_slope, x.shape[0], CHEAP)


def sigmoid_forward(const floating[::1] x, floating[::1] out):
    """out := 1 / (1 + exp(-x)), exactly 0 or 1 far out, never overflowing

    Parameters
    ----------
    x : ndarray of shape (n,)    # IN
    out : ndarray of shape (n,)  # OUT
    """
    if x.shape[0] == 0:
        return
    with nogil:
        _elementwise(SIGMOID_FORWARD, &x[0], <const floating *>NULL, &out[0],
                     0, x.shape[0], TRANSCENDENTAL)


def sigmoid_backward(const floating[::1] out, const floating[::1] grad_output,
                     floating[::1] grad_input):
    """grad_input := grad_output * out * (1 - out)

    Parameters
    ----------
    out : ndarray of shape (n,)          # IN, the forward's output
    grad_output : ndarray of shape (n,)  # IN
    grad_input : ndarray of shape (n,)   # OUT
    """
    if out.shape[0] == 0:
        return
    with nogil:
        _elementwise(SIGMOID_BACKWARD, &out[0], &grad_output[0], &grad_input[0],
                     0, out.shape[0], CHEAP)


def tanh_forward(const floating[::1] x, floating[::1] out):
    """out := tanh(x)

    Parameters
    ----------
    x : ndarray of shape (n,)    # IN
    out : ndarray of shape (n,)  # OUT
    """
    if x.shape[0] == 0:
        return
    with nogil:
        _elementwise(TANH_FORWARD, &x[0], <const floating *>NULL, &out[0],
                     0, x.shape[0], TRANSCENDENTAL)


def tanh_backward(const floating[::1] out, const floating[::1] grad_output,
                  floating[::1] grad_input):
    """grad_input := grad_output * (1 - out ** 2)

    Parameters
    ----------
    out : ndarray of shape (n,)          # IN, the forward's output
    grad_output : ndarray of shape (n,)  # IN
    grad_input : ndarray of shape (n,)   # OUT
    """
    if out.shape[0] == 0:
        return
    with nogil:
        _elementwise(TANH_BACKWARD, &out[0], &grad_output[0], &grad_input[0],
                     0, out.shape[0], CHEAP)


# -- PReLU: a learned slope per channel (axis 1), or one shared --------------

cdef void _prelu_forward_block(const floating[:, :, ::1] x,
                               const floating[::1] weight,
                               floating[:, :, ::1] out, int t, int nt) noexcept nogil:
    """Thread t's block of the (sample, channel) rows."""
    cdef Py_ssize_t n_channels = x.shape[1], size = x.shape[2]
    cdef Py_ssize_t r, lo, hi, i, c, s
    cdef const floating *px
    cdef floating *po
    cdef floating w, v
    nnfast_flush_denormals()
    split_range(x.shape[0] * n_channels, t, nt, &lo, &hi)
    for r in range(lo, hi):
        i = r // n_channels
        c = r % n_channels
        w = weight[c]
        px = &x[i, c, 0]
        po = &out[i, c, 0]
        for s in range(size):
            v = px[s]
            po[s] = v if v > 0 else w * v


def prelu_forward(const floating[:, :, ::1] x, const floating[::1] weight,
                  floating[:, :, ::1] out):
    """out := x where x > 0, else weight[c] * x, c the index on axis 1

    Parameters
    ----------
    x : ndarray of shape (n_samples, n_channels, size)    # IN
    weight : ndarray of shape (n_channels,)               # IN
    out : ndarray of shape (n_samples, n_channels, size)  # OUT

    A slope shared by all channels is ``n_channels == 1`` (the layer passes
    ``x.reshape(n_samples, 1, -1)``).
    """
    cdef Py_ssize_t n = x.shape[0] * x.shape[1] * x.shape[2]
    cdef int nt = threads_for(CHEAP * n)
    if n == 0:
        return
    if nt > x.shape[0] * x.shape[1]:
        nt = <int>(x.shape[0] * x.shape[1])
    if nt <= 1:
        with nogil:
            _prelu_forward_block(x, weight, out, 0, 1)
        return
    with nogil, parallel(num_threads=nt):
        _prelu_forward_block(x, weight, out, threadid(), omp_get_num_threads())


cdef void _prelu_backward_block(const floating[:, :, ::1] x,
                                const floating[::1] weight,
                                const floating[:, :, ::1] grad_output,
                                floating[:, :, ::1] grad_input, bint need_grad_input,
                                double[:, ::1] partial, int t, int nt) noexcept nogil:
    """Thread t's block of rows; its share of grad_weight goes to partial[t]."""
    cdef Py_ssize_t n_channels = x.shape[1], size = x.shape[2]
    cdef Py_ssize_t r, lo, hi, i, c, s
    cdef const floating *px
    cdef const floating *pg
    cdef floating *pgx
    cdef floating w, v
    cdef double acc
    nnfast_flush_denormals()
    split_range(x.shape[0] * n_channels, t, nt, &lo, &hi)
    for r in range(lo, hi):
        i = r // n_channels
        c = r % n_channels
        w = weight[c]
        px = &x[i, c, 0]
        pg = &grad_output[i, c, 0]
        acc = 0
        # d out / d weight[c] = x where x <= 0; summed in double because a
        # channel's gradient adds up n_samples * size terms.
        for s in range(size):
            v = px[s]
            if v <= 0:
                acc += v * pg[s]
        partial[t, c] += acc
        if need_grad_input:
            pgx = &grad_input[i, c, 0]
            for s in range(size):
                pgx[s] = pg[s] if px[s] > 0 else w * pg[s]


def prelu_backward(const floating[:, :, ::1] x, const floating[::1] weight,
                   const floating[:, :, ::1] grad_output, floating[:, :, ::1] grad_input,
                   floating[::1] grad_weight):
    """Gradients of out = where(x > 0, x, weight[c] * x).

    grad_weight[c] += sum over samples and positions of grad_output * x where x <= 0;
    grad_input := grad_output where x > 0, else weight[c] * grad_output (skipped when
    ``grad_input`` is None).

    Parameters
    ----------
    x : ndarray of shape (n_samples, n_channels, size)                   # IN
    weight : ndarray of shape (n_channels,)                              # IN
    grad_output : ndarray of shape (n_samples, n_channels, size)         # IN
    grad_input : ndarray of shape (n_samples, n_channels, size) or None  # OUT
    grad_weight : ndarray of shape (n_channels,)                         # IN/OUT, accumulated
    """
    cdef bint need_grad_input = grad_input is not None
    cdef Py_ssize_t n_channels = x.shape[1]
    cdef Py_ssize_t n = x.shape[0] * n_channels * x.shape[2]
    cdef int nt = threads_for(CHEAP * 2 * n)
    cdef Py_ssize_t c, t
    cdef double s
    if n == 0:
        return
    if nt > x.shape[0] * n_channels:
        nt = <int>(x.shape[0] * n_channels)
    # One row of partial sums per thread: no two threads add into one number.
    cdef double[:, ::1] partial = np.zeros((nt, n_channels))
    if nt <= 1:
        with nogil:
            _prelu_backward_block(x, weight, grad_output, grad_input, need_grad_input,
                                  partial, 0, 1)
    else:
        with nogil, parallel(num_threads=nt):
            _prelu_backward_block(x, weight, grad_output, grad_input, need_grad_input,
                                  partial, threadid(), omp_get_num_threads())
    for c in range(n_channels):
        s = 0
        for t in range(nt):
            s += partial[t, c]
        grad_weight[c] += <floating>s
