"""Activation kernels: ReLU, LeakyReLU, PReLU, Sigmoid and Tanh, forward and
backward.

The element-wise kernels take flat C-contiguous arrays (layers pass
``reshape(-1)`` views). Threads split the flat range into one contiguous block
each, and only when the work pays for waking them (``team_size``). ReLU,
Sigmoid and Tanh differentiate from their saved output (the layer keeps the
array it returned rather than a second one); LeakyReLU and PReLU from their
input, because a slope of 0 or below makes the output's sign lose the
input's.
"""
import numpy as np

from cython cimport floating

from nnfast._kernels._math cimport f_relu, f_sigmoid, f_tanh
from nnfast._kernels._threads cimport (TypedPart, run_part, run_team, split_range,
                                       team_size)

# Work per element, in flops (units of one add), for team_size: exp/tanh cost
# about ten times a compare-and-select.
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


cdef struct ElementwiseCall:
    # One call's arguments, shared read-only by its threads; element
    # pointers are float or double as ``is_double`` says.
    Op op
    const void *a
    const void *b
    void *out
    double alpha
    Py_ssize_t n
    bint is_double


cdef void _elementwise_body(void *args, int t, int nt) noexcept nogil:
    """Thread t's block of range(n)."""
    cdef ElementwiseCall *c = <ElementwiseCall *>args
    cdef Py_ssize_t lo, hi
    split_range(c.n, t, nt, &lo, &hi)
    if c.is_double:
        _elementwise_range(c.op, <const double *>c.a, <const double *>c.b,
                           <double *>c.out, <double>c.alpha, lo, hi)
    else:
        _elementwise_range(c.op, <const float *>c.a, <const float *>c.b,
                           <float *>c.out, <float>c.alpha, lo, hi)


cdef void _elementwise(Op op, const floating *a, const floating *b,
                       floating *out, double alpha, Py_ssize_t n,
                       double cost) noexcept nogil:
    """Run op over range(n), serially or in one block per thread; ``cost``
    is the work per element in flops (CHEAP or TRANSCENDENTAL)."""
    cdef ElementwiseCall c
    c.op, c.a, c.b, c.out, c.alpha, c.n = op, a, b, out, alpha, n
    c.is_double = floating is double
    run_team(_elementwise_body, &c, team_size(cost * n, n))


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
                     negative_slope, x.shape[0], CHEAP)


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
                     negative_slope, x.shape[0], CHEAP)


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

cdef struct PReLUCall:
    # One call's arguments; arrays (n_samples, n_channels, size) seen as
    # n_samples * n_channels rows of ``size``, float or double as
    # ``part.is_double`` says. grad_input is NULL when not wanted; partial holds
    # one row of n_channels double sums per thread.
    TypedPart part
    const void *x
    const void *weight
    const void *grad_output
    void *out
    void *grad_input
    double *partial
    Py_ssize_t n_rows, n_channels, size


cdef void _prelu_forward_part(floating *x, void *args, int t, int nt) noexcept nogil:
    """Thread t's block of the (sample, channel) rows."""
    cdef PReLUCall *a = <PReLUCall *>args
    cdef const floating *weight = <const floating *>a.weight
    cdef floating *out = <floating *>a.out
    cdef Py_ssize_t n_channels = a.n_channels, size = a.size
    cdef Py_ssize_t r, lo, hi, s
    cdef const floating *px
    cdef floating *po
    cdef floating w, v
    split_range(a.n_rows, t, nt, &lo, &hi)
    for r in range(lo, hi):
        w = weight[r % n_channels]
        px = x + r * size
        po = out + r * size
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
    cdef PReLUCall a
    a.n_rows, a.n_channels, a.size = x.shape[0] * x.shape[1], x.shape[1], x.shape[2]
    if a.n_rows * a.size == 0:
        return
    a.x, a.weight, a.out = &x[0, 0, 0], &weight[0], &out[0, 0, 0]
    a.part.is_double = floating is double
    cdef int nt = team_size(CHEAP * a.n_rows * a.size, a.n_rows)
    with nogil:
        run_part(&a.part, _prelu_forward_part[float], _prelu_forward_part[double], a.x, nt)


cdef void _prelu_backward_part(floating *x, void *args, int t, int nt) noexcept nogil:
    """Thread t's block of rows; its share of grad_weight goes to partial[t]."""
    cdef PReLUCall *a = <PReLUCall *>args
    cdef const floating *weight = <const floating *>a.weight
    cdef const floating *grad_output = <const floating *>a.grad_output
    cdef floating *grad_input = <floating *>a.grad_input
    cdef double *partial = a.partial + t * a.n_channels
    cdef Py_ssize_t n_channels = a.n_channels, size = a.size
    cdef Py_ssize_t r, lo, hi, c, s
    cdef const floating *px
    cdef const floating *pg
    cdef floating *pgi
    cdef floating w, v
    cdef double acc
    split_range(a.n_rows, t, nt, &lo, &hi)
    for r in range(lo, hi):
        c = r % n_channels
        w = weight[c]
        px = x + r * size
        pg = grad_output + r * size
        acc = 0
        # d out / d weight[c] = x where x <= 0; summed in double because a
        # channel's gradient adds up n_samples * size terms.
        for s in range(size):
            v = px[s]
            if v <= 0:
                acc += v * pg[s]
        partial[c] += acc
        if grad_input != NULL:
            pgi = grad_input + r * size
            for s in range(size):
                pgi[s] = pg[s] if px[s] > 0 else w * pg[s]


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
    cdef PReLUCall a
    cdef Py_ssize_t c, t
    cdef double s
    a.n_rows, a.n_channels, a.size = x.shape[0] * x.shape[1], x.shape[1], x.shape[2]
    if a.n_rows * a.size == 0:
        return
    cdef int nt = team_size(CHEAP * 2 * a.n_rows * a.size, a.n_rows)
    # One row of partial sums per thread: no two threads add into one number.
    cdef double[:, ::1] partial = np.zeros((nt, a.n_channels))
    a.x, a.weight, a.grad_output = &x[0, 0, 0], &weight[0], &grad_output[0, 0, 0]
    a.grad_input = &grad_input[0, 0, 0] if grad_input is not None else NULL
    a.partial, a.part.is_double = &partial[0, 0], floating is double
    with nogil:
        run_part(&a.part, _prelu_backward_part[float], _prelu_backward_part[double], a.x, nt)
    for c in range(a.n_channels):
        s = 0
        for t in range(nt):
            s += partial[t, c]
        grad_weight[c] += <floating>s
