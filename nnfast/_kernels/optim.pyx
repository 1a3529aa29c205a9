# -fno-math-errno: sqrt() need not set errno (never read here). With errno
# semantics GCC calls libm per element and cannot vectorize the Adam,
# Adagrad and RMSprop loops; without, Adam on 1M floats went from ~6.3 ms to
# ~1.1 ms on the 2-core dev machine.
"""Optimizer update kernels: one fused pass per parameter per step.

Each kernel reads a parameter's value, gradient and optimizer state once and
writes the new value and state in place, where torch.optim's reference
implementation makes one pass over memory per arithmetic operation. The
update rules and their order of operations are torch.optim's (single-tensor
path), so that results agree to rounding.

All arrays are flat (1-D, C-contiguous) and of one dtype; hyper-parameters
come in as double and are cast once to that dtype (float32 stays float32, as
in torch). Threads split the array into one contiguous block each, only when
it is large enough to pay for waking them: ``team_size`` gets each kernel's
flops per element times the elements, and the elements as the independent
units.

Each kernel describes its call in a struct of its own (array pointers float
or double as ``is_double`` says; hyper-parameters as double, rounded to the
arrays' dtype as each thread starts).
"""
from cython cimport floating
from libc.math cimport sqrt, pow

from nnfast._kernels._threads cimport run_team, split_range, team_size


cdef inline floating _sign(floating x) noexcept nogil:
    """-1, 0 or 1 (0 for 0 and NaN)."""
    return <floating>((x > 0) - (x < 0))


cdef inline floating _sqrt(floating x) noexcept nogil:
    """sqrt rounded to x's type, so that float32 arithmetic stays float32 (a
    bare sqrt() returns a double, and the expression around it would be
    evaluated in double). The double sqrt of a float, rounded to float, is
    the correctly rounded float sqrt."""
    return <floating>sqrt(x)


cdef inline floating _penalized(floating g, floating w, floating weight_decay,
                                floating l1) noexcept nogil:
    """g + weight_decay * w + l1 * sign(w): the gradient with L2 and L1 terms."""
    if weight_decay != 0:
        g = g + weight_decay * w
    if l1 != 0:
        g = g + l1 * _sign(w)
    return g


cdef inline floating _lerp(floating start, floating end, floating weight,
                           bint weight_small) noexcept nogil:
    """start + weight * (end - start), in the form torch's lerp_ uses (the
    one whose rounding stays smallest for the given side of 0.5)."""
    # one expression (a select, not a branch) keeps loops around it vectorizable
    return (start + weight * (end - start) if weight_small
            else end - (end - start) * (1 - weight))


# -- SGD -----------------------------------------------------------------------

cdef struct SgdCall:
    void *value
    const void *grad
    void *momentum_buf  # NULL when momentum == 0
    Py_ssize_t n
    double lr, momentum, one_minus_dampening, weight_decay, l1
    bint nesterov, first_step, is_double


cdef void _sgd_block(floating *value, const floating *grad, floating *buf,
                     Py_ssize_t n, floating lr, floating momentum,
                     floating one_minus_dampening, bint nesterov,
                     floating weight_decay, floating l1, bint first_step,
                     int t, int nt) noexcept nogil:
    """Thread t's block of sgd_update (buf is NULL when momentum == 0).

    One loop per mode: a store under a condition inside the loop (buf only
    with momentum) keeps GCC from vectorizing it; loop-invariant selects on
    values (nesterov, the penalties) do not.
    """
    cdef Py_ssize_t i, lo, hi
    cdef floating d, b
    split_range(n, t, nt, &lo, &hi)
    if buf == NULL:
        for i in range(lo, hi):
            d = _penalized(grad[i], value[i], weight_decay, l1)
            value[i] = value[i] - lr * d
    elif first_step:
        for i in range(lo, hi):
            d = _penalized(grad[i], value[i], weight_decay, l1)
            buf[i] = d
            d = (d + momentum * d) if nesterov else d
            value[i] = value[i] - lr * d
    else:
        for i in range(lo, hi):
            d = _penalized(grad[i], value[i], weight_decay, l1)
            b = buf[i] * momentum + one_minus_dampening * d
            buf[i] = b
            d = (d + momentum * b) if nesterov else b
            value[i] = value[i] - lr * d


cdef void _sgd_body(void *args, int t, int nt) noexcept nogil:
    cdef SgdCall *c = <SgdCall *>args
    if c.is_double:
        _sgd_block(<double *>c.value, <const double *>c.grad, <double *>c.momentum_buf,
                   c.n, <double>c.lr, <double>c.momentum, <double>c.one_minus_dampening,
                   c.nesterov, <double>c.weight_decay, <double>c.l1, c.first_step, t, nt)
    else:
        _sgd_block(<float *>c.value, <const float *>c.grad, <float *>c.momentum_buf,
                   c.n, <float>c.lr, <float>c.momentum, <float>c.one_minus_dampening,
                   c.nesterov, <float>c.weight_decay, <float>c.l1, c.first_step, t, nt)


def sgd_update(floating[::1] value, const floating[::1] grad,
               floating[::1] momentum_buf, double lr, double momentum=0.0,
               double dampening=0.0, bint nesterov=False,
               double weight_decay=0.0, double l1=0.0, bint first_step=False):
    """One SGD step, in place (torch.optim.SGD's rule, plus an L1 term).

    d := grad + weight_decay * value + l1 * sign(value)
    if momentum != 0:
        buf := d if first_step else momentum * buf + (1 - dampening) * d
        d := d + momentum * buf if nesterov else buf
    value := value - lr * d

    Parameters
    ----------
    value : ndarray of shape (n,)                 # IN/OUT
    grad : ndarray of shape (n,)                  # IN
    momentum_buf : ndarray of shape (n,) or None  # IN/OUT; None when momentum == 0
    first_step : bool
        The buffer is new: it is set to d (no dampening), as torch does.
    """
    cdef SgdCall c
    c.n = value.shape[0]
    if c.n == 0:
        return
    c.value, c.grad = &value[0], &grad[0]
    c.momentum_buf = &momentum_buf[0] if momentum != 0 else NULL
    c.lr, c.momentum, c.one_minus_dampening = lr, momentum, 1.0 - dampening
    c.weight_decay, c.l1 = weight_decay, l1
    c.nesterov, c.first_step, c.is_double = nesterov, first_step, floating is double
    cdef int nt = team_size(6.0 * c.n, c.n)
    with nogil:
        run_team(_sgd_body, &c, nt)


# -- Adam ----------------------------------------------------------------------

cdef struct AdamCall:
    void *value
    const void *grad
    void *exp_avg
    void *exp_avg_sq
    Py_ssize_t n
    double one_minus_beta1, beta2, one_minus_beta2, step_size
    double bias_correction2_sqrt, eps, weight_decay, l1
    bint beta1_small, is_double


cdef void _adam_block(floating *value, const floating *grad, floating *exp_avg,
                      floating *exp_avg_sq, Py_ssize_t n, floating one_minus_beta1,
                      bint beta1_small, floating beta2, floating one_minus_beta2,
                      floating step_size, floating bias_correction2_sqrt,
                      floating eps, floating weight_decay, floating l1,
                      int t, int nt) noexcept nogil:
    """Thread t's block of adam_update."""
    cdef Py_ssize_t i, lo, hi
    cdef floating d, m, v, denom
    split_range(n, t, nt, &lo, &hi)
    for i in range(lo, hi):
        d = _penalized(grad[i], value[i], weight_decay, l1)
        m = _lerp(exp_avg[i], d, one_minus_beta1, beta1_small)
        exp_avg[i] = m
        v = exp_avg_sq[i] * beta2 + one_minus_beta2 * d * d
        exp_avg_sq[i] = v
        denom = _sqrt(v) / bias_correction2_sqrt + eps
        value[i] = value[i] - step_size * (m / denom)


cdef void _adam_body(void *args, int t, int nt) noexcept nogil:
    cdef AdamCall *c = <AdamCall *>args
    if c.is_double:
        _adam_block(<double *>c.value, <const double *>c.grad, <double *>c.exp_avg,
                    <double *>c.exp_avg_sq, c.n, <double>c.one_minus_beta1,
                    c.beta1_small, <double>c.beta2, <double>c.one_minus_beta2,
                    <double>c.step_size, <double>c.bias_correction2_sqrt,
                    <double>c.eps, <double>c.weight_decay, <double>c.l1, t, nt)
    else:
        _adam_block(<float *>c.value, <const float *>c.grad, <float *>c.exp_avg,
                    <float *>c.exp_avg_sq, c.n, <float>c.one_minus_beta1,
                    c.beta1_small, <float>c.beta2, <float>c.one_minus_beta2,
                    <float>c.step_size, <float>c.bias_correction2_sqrt,
                    <float>c.eps, <float>c.weight_decay, <float>c.l1, t, nt)


def adam_update(floating[::1] value, const floating[::1] grad,
                floating[::1] exp_avg, floating[::1] exp_avg_sq, long long step,
                double lr=1e-3, double beta1=0.9, double beta2=0.999,
                double eps=1e-8, double weight_decay=0.0, double l1=0.0):
    """One Adam step, in place (torch.optim.Adam's rule, plus an L1 term).

    d := grad + weight_decay * value + l1 * sign(value)
    exp_avg := exp_avg + (1 - beta1) * (d - exp_avg)
    exp_avg_sq := beta2 * exp_avg_sq + (1 - beta2) * d * d
    value := value - lr / (1 - beta1**step)
                     * exp_avg / (sqrt(exp_avg_sq) / sqrt(1 - beta2**step) + eps)

    Parameters
    ----------
    value : ndarray of shape (n,)       # IN/OUT
    grad : ndarray of shape (n,)        # IN
    exp_avg : ndarray of shape (n,)     # IN/OUT (zeros before the first step)
    exp_avg_sq : ndarray of shape (n,)  # IN/OUT (zeros before the first step)
    step : int >= 1
        Number of this step, counting from 1 (for the bias corrections).
    """
    cdef AdamCall c
    c.n = value.shape[0]
    if c.n == 0:
        return
    c.value, c.grad, c.exp_avg, c.exp_avg_sq = &value[0], &grad[0], &exp_avg[0], &exp_avg_sq[0]
    c.step_size = lr / (1.0 - pow(beta1, <double>step))
    c.bias_correction2_sqrt = sqrt(1.0 - pow(beta2, <double>step))
    c.one_minus_beta1, c.beta2, c.one_minus_beta2 = 1.0 - beta1, beta2, 1.0 - beta2
    c.eps, c.weight_decay, c.l1 = eps, weight_decay, l1
    c.beta1_small, c.is_double = (1.0 - beta1) < 0.5, floating is double
    cdef int nt = team_size(14.0 * c.n, c.n)
    with nogil:
        run_team(_adam_body, &c, nt)


# -- Adagrad -------------------------------------------------------------------

cdef struct AdagradCall:
    void *value
    const void *grad
    void *state_sum
    Py_ssize_t n
    double clr, eps, weight_decay, l1  # clr: the step's decayed learning rate
    bint is_double


cdef void _adagrad_block(floating *value, const floating *grad, floating *state_sum,
                         Py_ssize_t n, floating clr, floating eps,
                         floating weight_decay, floating l1, int t,
                         int nt) noexcept nogil:
    """Thread t's block of adagrad_update."""
    cdef Py_ssize_t i, lo, hi
    cdef floating d, s
    split_range(n, t, nt, &lo, &hi)
    for i in range(lo, hi):
        d = _penalized(grad[i], value[i], weight_decay, l1)
        s = state_sum[i] + d * d
        state_sum[i] = s
        value[i] = value[i] - clr * (d / (_sqrt(s) + eps))


cdef void _adagrad_body(void *args, int t, int nt) noexcept nogil:
    cdef AdagradCall *c = <AdagradCall *>args
    if c.is_double:
        _adagrad_block(<double *>c.value, <const double *>c.grad, <double *>c.state_sum,
                       c.n, <double>c.clr, <double>c.eps, <double>c.weight_decay,
                       <double>c.l1, t, nt)
    else:
        _adagrad_block(<float *>c.value, <const float *>c.grad, <float *>c.state_sum,
                       c.n, <float>c.clr, <float>c.eps, <float>c.weight_decay,
                       <float>c.l1, t, nt)


def adagrad_update(floating[::1] value, const floating[::1] grad,
                   floating[::1] state_sum, long long step, double lr=1e-2,
                   double lr_decay=0.0, double weight_decay=0.0,
                   double eps=1e-10, double l1=0.0):
    """One Adagrad step, in place (torch.optim.Adagrad's rule, plus an L1 term).

    d := grad + weight_decay * value + l1 * sign(value)
    state_sum := state_sum + d * d
    value := value - lr / (1 + (step - 1) * lr_decay) * d / (sqrt(state_sum) + eps)

    Parameters
    ----------
    value : ndarray of shape (n,)      # IN/OUT
    grad : ndarray of shape (n,)       # IN
    state_sum : ndarray of shape (n,)  # IN/OUT (initial_accumulator_value
                                       # before the first step)
    step : int >= 1
        Number of this step, counting from 1 (for the learning-rate decay).
    """
    cdef AdagradCall c
    c.n = value.shape[0]
    if c.n == 0:
        return
    c.value, c.grad, c.state_sum = &value[0], &grad[0], &state_sum[0]
    c.clr = lr / (1.0 + (step - 1) * lr_decay)
    c.eps, c.weight_decay, c.l1, c.is_double = eps, weight_decay, l1, floating is double
    cdef int nt = team_size(8.0 * c.n, c.n)
    with nogil:
        run_team(_adagrad_body, &c, nt)


# -- RMSprop -------------------------------------------------------------------

cdef struct RmspropCall:
    void *value
    const void *grad
    void *square_avg
    void *momentum_buf  # NULL when momentum == 0
    void *grad_avg      # NULL unless centered
    Py_ssize_t n
    double lr, alpha, one_minus_alpha, eps, weight_decay, momentum, l1
    bint one_minus_alpha_small, is_double


cdef inline floating _centered_avg(floating square_avg, floating grad_avg,
                                  floating eps) noexcept nogil:
    """sqrt(square_avg - grad_avg**2) + eps, the variance clamped at 0.

    square_avg - grad_avg**2 >= 0 in exact arithmetic (Jensen), but rounding
    can take it just below 0 once the gradient is nearly constant: clamped,
    instead of sqrt(negative) = NaN.
    """
    cdef floating var = square_avg - grad_avg * grad_avg
    # multiply by the comparison, not a branch: the loop stays vectorizable
    # (a negative var becomes -0.0, whose sqrt is -0.0: the same avg = eps)
    var = var * <floating>(var > 0)
    return _sqrt(var) + eps


cdef void _rmsprop_block(floating *value, const floating *grad,
                         floating *square_avg, floating *buf, floating *grad_avg,
                         Py_ssize_t n, floating lr, floating alpha,
                         floating one_minus_alpha, bint oma_small, floating eps,
                         floating weight_decay, floating momentum, floating l1,
                         int t, int nt) noexcept nogil:
    """Thread t's block of rmsprop_update (buf NULL when momentum == 0,
    grad_avg NULL when not centered). One loop per mode, so that no store is
    conditional and every loop vectorizes (see _sgd_block)."""
    cdef Py_ssize_t i, lo, hi
    cdef floating d, sa, ga, avg, b
    split_range(n, t, nt, &lo, &hi)
    if grad_avg == NULL and buf == NULL:
        for i in range(lo, hi):
            d = _penalized(grad[i], value[i], weight_decay, l1)
            sa = square_avg[i] * alpha + one_minus_alpha * d * d
            square_avg[i] = sa
            value[i] = value[i] - lr * (d / (_sqrt(sa) + eps))
    elif grad_avg == NULL:
        for i in range(lo, hi):
            d = _penalized(grad[i], value[i], weight_decay, l1)
            sa = square_avg[i] * alpha + one_minus_alpha * d * d
            square_avg[i] = sa
            b = buf[i] * momentum + d / (_sqrt(sa) + eps)
            buf[i] = b
            value[i] = value[i] - lr * b
    elif buf == NULL:
        for i in range(lo, hi):
            d = _penalized(grad[i], value[i], weight_decay, l1)
            sa = square_avg[i] * alpha + one_minus_alpha * d * d
            square_avg[i] = sa
            ga = _lerp(grad_avg[i], d, one_minus_alpha, oma_small)
            grad_avg[i] = ga
            value[i] = value[i] - lr * (d / _centered_avg(sa, ga, eps))
    else:
        for i in range(lo, hi):
            d = _penalized(grad[i], value[i], weight_decay, l1)
            sa = square_avg[i] * alpha + one_minus_alpha * d * d
            square_avg[i] = sa
            ga = _lerp(grad_avg[i], d, one_minus_alpha, oma_small)
            grad_avg[i] = ga
            b = buf[i] * momentum + d / _centered_avg(sa, ga, eps)
            buf[i] = b
            value[i] = value[i] - lr * b


cdef void _rmsprop_body(void *args, int t, int nt) noexcept nogil:
    cdef RmspropCall *c = <RmspropCall *>args
    if c.is_double:
        _rmsprop_block(<double *>c.value, <const double *>c.grad, <double *>c.square_avg,
                       <double *>c.momentum_buf, <double *>c.grad_avg, c.n,
                       <double>c.lr, <double>c.alpha, <double>c.one_minus_alpha,
                       c.one_minus_alpha_small, <double>c.eps, <double>c.weight_decay,
                       <double>c.momentum, <double>c.l1, t, nt)
    else:
        _rmsprop_block(<float *>c.value, <const float *>c.grad, <float *>c.square_avg,
                       <float *>c.momentum_buf, <float *>c.grad_avg, c.n,
                       <float>c.lr, <float>c.alpha, <float>c.one_minus_alpha,
                       c.one_minus_alpha_small, <float>c.eps, <float>c.weight_decay,
                       <float>c.momentum, <float>c.l1, t, nt)


def rmsprop_update(floating[::1] value, const floating[::1] grad,
                   floating[::1] square_avg, floating[::1] momentum_buf,
                   floating[::1] grad_avg, double lr=1e-2, double alpha=0.99,
                   double eps=1e-8, double weight_decay=0.0, double momentum=0.0,
                   bint centered=False, double l1=0.0):
    """One RMSprop step, in place (torch.optim.RMSprop's rule, plus an L1 term).

    d := grad + weight_decay * value + l1 * sign(value)
    square_avg := alpha * square_avg + (1 - alpha) * d * d
    if centered:
        grad_avg := grad_avg + (1 - alpha) * (d - grad_avg)
        avg := sqrt(max(square_avg - grad_avg**2, 0)) + eps
    else:
        avg := sqrt(square_avg) + eps
    if momentum > 0:
        buf := momentum * buf + d / avg;  value := value - lr * buf
    else:
        value := value - lr * d / avg

    Parameters
    ----------
    value : ndarray of shape (n,)                 # IN/OUT
    grad : ndarray of shape (n,)                  # IN
    square_avg : ndarray of shape (n,)            # IN/OUT (zeros at first)
    momentum_buf : ndarray of shape (n,) or None  # IN/OUT; None when momentum == 0
    grad_avg : ndarray of shape (n,) or None      # IN/OUT; None unless centered
    """
    cdef RmspropCall c
    c.n = value.shape[0]
    if c.n == 0:
        return
    c.value, c.grad, c.square_avg = &value[0], &grad[0], &square_avg[0]
    c.momentum_buf = &momentum_buf[0] if momentum > 0 else NULL
    c.grad_avg = &grad_avg[0] if centered else NULL
    c.lr, c.alpha, c.one_minus_alpha, c.eps = lr, alpha, 1.0 - alpha, eps
    c.weight_decay, c.momentum, c.l1 = weight_decay, momentum, l1
    c.one_minus_alpha_small, c.is_double = (1.0 - alpha) < 0.5, floating is double
    cdef int nt = team_size(12.0 * c.n, c.n)
    with nogil:
        run_team(_rmsprop_body, &c, nt)
