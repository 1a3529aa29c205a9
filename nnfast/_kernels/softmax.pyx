# distutils: sources = csrc/softmax_spatial.c
"""Softmax, log-softmax and cumulative softmax over axis 1, forward and backward.

Arrays are (n_samples, n_classes, size): a classifier's (N, C) logits are
``size == 1``, an (N, C, H, W) map is ``size == H * W`` (layers pass
``reshape(N, C, -1)``). Each of the n_samples * size vectors along axis 1 is
independent; threads split them into one contiguous block each. Stability
for logits of any magnitude: subtract the vector's maximum before exp, so
every exp is of a non-positive number, and the log-sum-exp is
``max + log(sum(exp(x - max)))`` (sums in double). The cumulative softmax
is the running sum of the softmax over axis 1 (a CDF over ordered bins).

The float32 softmax and log-softmax forwards of a map (size > 1) run in C
(csrc/softmax_spatial.h): blocks of consecutive positions of one sample,
the exp and log vectorized polynomials (Cephes's, ~1 ulp) instead of libm's
expf and logf. Every other case walks one vector at a time, with libm's.
"""
from cython cimport floating
from libc.stdint cimport int64_t

from nnfast._kernels._math cimport f_exp, f_log
from nnfast._kernels._threads cimport run_team, split_range, team_size

cdef enum Op:
    SOFTMAX_FORWARD
    SOFTMAX_BACKWARD
    LOG_SOFTMAX_FORWARD
    LOG_SOFTMAX_BACKWARD
    CUMULATIVE_FORWARD
    CUMULATIVE_BACKWARD

# Work per element, in flops for team_size: one exp (~10 adds) and a few
# passes. The float32 map forwards' polynomial exp is as many flops, and
# splitting pays there too: (1, 2, 4096) took 10 us on 2 threads, 12 on 1.
cdef double COST_PER_ELEMENT = 12.0


cdef extern from "softmax_spatial.h" nogil:
    void softmax_spatial_f32(const float *x, float *out, int64_t n_classes, int64_t size,
                             int64_t lo, int64_t hi)
    void log_softmax_spatial_f32(const float *x, float *out, int64_t n_classes,
                                 int64_t size, int64_t lo, int64_t hi)


cdef inline void _softmax_vector(const floating *x, floating *out,
                                 Py_ssize_t n_classes, Py_ssize_t stride) noexcept nogil:
    """out[c*stride] := exp(x[c*stride] - max) / sum(exp(x - max))"""
    cdef Py_ssize_t c
    cdef floating m = x[0], e
    cdef double total = 0
    for c in range(1, n_classes):
        if x[c * stride] > m:
            m = x[c * stride]
    for c in range(n_classes):
        e = f_exp(x[c * stride] - m)
        out[c * stride] = e
        total += e
    e = <floating>(1.0 / total)
    for c in range(n_classes):
        out[c * stride] *= e


cdef inline void _log_softmax_vector(const floating *x, floating *out,
                                     Py_ssize_t n_classes, Py_ssize_t stride) noexcept nogil:
    """out[c*stride] := (x[c*stride] - max) - log(sum(exp(x - max)))"""
    cdef Py_ssize_t c
    cdef floating m = x[0], log_total
    cdef double total = 0
    for c in range(1, n_classes):
        if x[c * stride] > m:
            m = x[c * stride]
    for c in range(n_classes):
        total += f_exp(x[c * stride] - m)
    # (x - max) - log(total), not x - (max + log(total)): for |x| ~ 1e4 in
    # float32 the sum max + log(total) would round away log(total)'s digits.
    log_total = <floating>f_log(<floating>total)
    for c in range(n_classes):
        out[c * stride] = (x[c * stride] - m) - log_total


cdef inline void _softmax_backward_vector(const floating *y, const floating *g,
                                          floating *gx, Py_ssize_t n_classes,
                                          Py_ssize_t stride) noexcept nogil:
    """gx := y * (g - sum(g * y)), y the softmax output"""
    cdef Py_ssize_t c
    cdef double dot = 0
    cdef floating d
    for c in range(n_classes):
        dot += g[c * stride] * y[c * stride]
    d = <floating>dot
    for c in range(n_classes):
        gx[c * stride] = y[c * stride] * (g[c * stride] - d)


cdef inline void _log_softmax_backward_vector(const floating *y, const floating *g,
                                              floating *gx, Py_ssize_t n_classes,
                                              Py_ssize_t stride) noexcept nogil:
    """gx := g - exp(y) * sum(g), y the log-softmax output"""
    cdef Py_ssize_t c
    cdef double total = 0
    cdef floating s
    for c in range(n_classes):
        total += g[c * stride]
    s = <floating>total
    for c in range(n_classes):
        gx[c * stride] = g[c * stride] - f_exp(y[c * stride]) * s


cdef inline void _cumulative_vector(const floating *x, floating *probs, floating *out,
                                    Py_ssize_t n_classes, Py_ssize_t stride) noexcept nogil:
    """probs := softmax(x); out[c] := sum(probs[:c + 1]), each as the running
    sum of exp(x - max) (in double) over their total: the same sum in the
    same order, so the last entry is exactly 1 and out never decreases."""
    cdef Py_ssize_t c
    cdef floating m = x[0], e
    cdef double total = 0, run = 0, inv
    for c in range(1, n_classes):
        if x[c * stride] > m:
            m = x[c * stride]
    for c in range(n_classes):
        e = f_exp(x[c * stride] - m)
        probs[c * stride] = e
        total += e
    inv = 1.0 / total
    for c in range(n_classes):
        run += probs[c * stride]
        out[c * stride] = <floating>(run / total)
        probs[c * stride] = <floating>(probs[c * stride] * inv)


cdef inline void _cumulative_backward_vector(const floating *probs, const floating *g,
                                             floating *gx, Py_ssize_t n_classes,
                                             Py_ssize_t stride) noexcept nogil:
    """gx := probs * (h - sum(h * probs)), h[c] = sum(g[c:]) (each bin's
    probability feeds every running sum from it on); two passes from the
    last bin, h kept in a register, not stored."""
    cdef Py_ssize_t c
    cdef double h = 0, dot = 0
    for c in range(n_classes - 1, -1, -1):
        h += g[c * stride]
        dot += h * probs[c * stride]
    h = 0
    for c in range(n_classes - 1, -1, -1):
        h += g[c * stride]
        gx[c * stride] = <floating>(probs[c * stride] * (h - dot))


cdef struct SoftmaxCall:
    # One call's arguments, shared read-only by its threads: a is x (the
    # forwards) or the forward's out (the backwards), b grad_output or NULL,
    # out the result, probs the cumulative forward's softmax (else NULL);
    # float or double as ``is_double`` says.
    Op op
    const void *a
    const void *b
    void *out
    void *probs
    Py_ssize_t n_samples, n_classes, size
    bint is_double


cdef inline bint _blocked(const SoftmaxCall *c) noexcept nogil:
    """Whether the call runs on csrc/softmax_spatial.h's block loops: a
    float32 map's (size > 1) softmax or log-softmax forward."""
    return (not c.is_double and c.size > 1
            and (c.op == SOFTMAX_FORWARD or c.op == LOG_SOFTMAX_FORWARD))


cdef void _part(const floating *a, const floating *b, floating *out, floating *probs,
                SoftmaxCall *c, int t, int nt) noexcept nogil:
    """Thread t's block of the n_samples * size vectors along axis 1."""
    cdef Op op = c.op
    cdef Py_ssize_t n_classes = c.n_classes, size = c.size
    cdef Py_ssize_t r, lo, hi, base
    split_range(c.n_samples * size, t, nt, &lo, &hi)
    if floating is float:
        if _blocked(c):
            if op == SOFTMAX_FORWARD:
                softmax_spatial_f32(a, out, n_classes, size, lo, hi)
            else:
                log_softmax_spatial_f32(a, out, n_classes, size, lo, hi)
            return
    for r in range(lo, hi):
        # vector r: sample r // size, position r % size; classes `size` apart
        base = (r // size) * n_classes * size + r % size
        if op == CUMULATIVE_FORWARD:
            _cumulative_vector(a + base, probs + base, out + base, n_classes, size)
            continue
        if op == CUMULATIVE_BACKWARD:
            _cumulative_backward_vector(a + base, b + base, out + base, n_classes, size)
            continue
        if size == 1:  # contiguous rows: the stride is a constant the compiler sees
            if op == SOFTMAX_FORWARD:
                _softmax_vector(a + base, out + base, n_classes, 1)
            elif op == LOG_SOFTMAX_FORWARD:
                _log_softmax_vector(a + base, out + base, n_classes, 1)
            elif op == SOFTMAX_BACKWARD:
                _softmax_backward_vector(a + base, b + base, out + base, n_classes, 1)
            else:
                _log_softmax_backward_vector(a + base, b + base, out + base, n_classes, 1)
        else:
            if op == SOFTMAX_FORWARD:
                _softmax_vector(a + base, out + base, n_classes, size)
            elif op == LOG_SOFTMAX_FORWARD:
                _log_softmax_vector(a + base, out + base, n_classes, size)
            elif op == SOFTMAX_BACKWARD:
                _softmax_backward_vector(a + base, b + base, out + base, n_classes, size)
            else:
                _log_softmax_backward_vector(a + base, b + base, out + base, n_classes, size)


cdef void _body(void *args, int t, int nt) noexcept nogil:
    cdef SoftmaxCall *c = <SoftmaxCall *>args
    if c.is_double:
        _part(<const double *>c.a, <const double *>c.b, <double *>c.out,
              <double *>c.probs, c, t, nt)
    else:
        _part(<const float *>c.a, <const float *>c.b, <float *>c.out,
              <float *>c.probs, c, t, nt)


cdef void _run(Op op, const floating[:, :, ::1] a, const floating *b,
               floating[:, :, ::1] out, floating *probs=NULL) noexcept nogil:
    cdef SoftmaxCall c
    c.n_samples, c.n_classes, c.size = a.shape[0], a.shape[1], a.shape[2]
    if c.n_samples == 0 or c.n_classes == 0 or c.size == 0:
        return
    c.op, c.a, c.b, c.out, c.probs = op, &a[0, 0, 0], b, &out[0, 0, 0], probs
    c.is_double = floating is double
    run_team(_body, &c, team_size(COST_PER_ELEMENT * c.n_samples * c.n_classes * c.size,
                                  c.n_samples * c.size))


def softmax_forward(const floating[:, :, ::1] x, floating[:, :, ::1] out):
    """out := exp(x - max) / sum(exp(x - max)), over axis 1

    Parameters
    ----------
    x : ndarray of shape (n_samples, n_classes, size)    # IN
    out : ndarray of shape (n_samples, n_classes, size)  # OUT
    """
    with nogil:
        _run(SOFTMAX_FORWARD, x, <const floating *>NULL, out)


def softmax_backward(const floating[:, :, ::1] out, const floating[:, :, ::1] grad_output,
                     floating[:, :, ::1] grad_input):
    """grad_input := out * (grad_output - sum(grad_output * out, axis=1))

    Parameters
    ----------
    out : ndarray of shape (n_samples, n_classes, size)          # IN, the forward's output
    grad_output : ndarray of shape (n_samples, n_classes, size)  # IN
    grad_input : ndarray of shape (n_samples, n_classes, size)   # OUT
    """
    if grad_output.shape[0] * grad_output.shape[1] * grad_output.shape[2] == 0:
        return
    with nogil:
        _run(SOFTMAX_BACKWARD, out, &grad_output[0, 0, 0], grad_input)


def log_softmax_forward(const floating[:, :, ::1] x, floating[:, :, ::1] out):
    """out := (x - max) - log(sum(exp(x - max))), over axis 1

    Parameters
    ----------
    x : ndarray of shape (n_samples, n_classes, size)    # IN
    out : ndarray of shape (n_samples, n_classes, size)  # OUT
    """
    with nogil:
        _run(LOG_SOFTMAX_FORWARD, x, <const floating *>NULL, out)


def log_softmax_backward(const floating[:, :, ::1] out, const floating[:, :, ::1] grad_output,
                         floating[:, :, ::1] grad_input):
    """grad_input := grad_output - exp(out) * sum(grad_output, axis=1)

    Parameters
    ----------
    out : ndarray of shape (n_samples, n_classes, size)          # IN, the forward's output
    grad_output : ndarray of shape (n_samples, n_classes, size)  # IN
    grad_input : ndarray of shape (n_samples, n_classes, size)   # OUT
    """
    if grad_output.shape[0] * grad_output.shape[1] * grad_output.shape[2] == 0:
        return
    with nogil:
        _run(LOG_SOFTMAX_BACKWARD, out, &grad_output[0, 0, 0], grad_input)


def cumulative_softmax_forward(const floating[:, :, ::1] x, floating[:, :, ::1] probs,
                               floating[:, :, ::1] out):
    """probs := softmax(x) over axis 1; out := its running sum over axis 1
    (out[:, c] = probs[:, :c + 1].sum(1)), monotone, its last entry 1.

    Parameters
    ----------
    x : ndarray of shape (n_samples, n_bins, size)      # IN
    probs : ndarray of shape (n_samples, n_bins, size)  # OUT, for the backward
    out : ndarray of shape (n_samples, n_bins, size)    # OUT
    """
    if x.shape[0] * x.shape[1] * x.shape[2] == 0:
        return
    with nogil:
        _run(CUMULATIVE_FORWARD, x, <const floating *>NULL, out, &probs[0, 0, 0])


def cumulative_softmax_backward(const floating[:, :, ::1] probs,
                                const floating[:, :, ::1] grad_output,
                                floating[:, :, ::1] grad_input):
    """grad_input := probs * (h - sum(h * probs, axis=1)), h the reversed
    running sum of grad_output over axis 1 (h[:, c] = grad_output[:, c:].sum(1))

    Parameters
    ----------
    probs : ndarray of shape (n_samples, n_bins, size)        # IN, the forward's probs
    grad_output : ndarray of shape (n_samples, n_bins, size)  # IN
    grad_input : ndarray of shape (n_samples, n_bins, size)   # OUT
    """
    if grad_output.shape[0] * grad_output.shape[1] * grad_output.shape[2] == 0:
        return
    with nogil:
        _run(CUMULATIVE_BACKWARD, probs, &grad_output[0, 0, 0], grad_input)
