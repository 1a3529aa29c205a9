# -fno-math-errno: sqrt() need not set errno (never read here). With errno
# semantics GCC calls libm per element and cannot vectorize the Adam,
# Adagrad and RMSprop loops; without, Adam on 1M floats went from ~6.3 ms to
# ~1.1 ms on the 2-core dev machine.
"""The adaptive update kernels (Adam, Adagrad, RMSprop: a step per element
scaled by a running size of its gradients), one fused pass per parameter per
step (_optim_rules.pxd says how the update kernels work)."""
from cython cimport floating
from libc.math cimport sqrt, pow

from nnfast._kernels._optim_rules cimport (UpdateCall, f_sqrt, lerp, penalized, run_update,
                                           update_call)
from nnfast._kernels._threads cimport split_range


# -- Adam ----------------------------------------------------------------------

cdef void _adam_block(floating *value, void *args, int t, int nt) noexcept nogil:
    """Thread t's block of adam_update."""
    cdef UpdateCall *c = <UpdateCall *>args
    cdef const floating *grad = <const floating *>c.grad
    cdef floating *exp_avg = <floating *>c.exp_avg
    cdef floating *exp_avg_sq = <floating *>c.exp_avg_sq
    cdef floating one_minus_beta1 = <floating>c.one_minus_beta1
    cdef floating beta2 = <floating>c.beta2, one_minus_beta2 = <floating>c.one_minus_beta2
    cdef floating step_size = <floating>c.step_size
    cdef floating bias_correction2_sqrt = <floating>c.bias_correction2_sqrt
    cdef floating eps = <floating>c.eps, weight_decay = <floating>c.weight_decay
    cdef floating l1 = <floating>c.l1
    cdef bint beta1_small = c.beta1_small
    cdef Py_ssize_t i, lo, hi
    cdef floating d, m, v, denom
    split_range(c.n, t, nt, &lo, &hi)
    for i in range(lo, hi):
        d = penalized(grad[i], value[i], weight_decay, l1)
        m = lerp(exp_avg[i], d, one_minus_beta1, beta1_small)
        exp_avg[i] = m
        v = exp_avg_sq[i] * beta2 + one_minus_beta2 * d * d
        exp_avg_sq[i] = v
        denom = f_sqrt(v) / bias_correction2_sqrt + eps
        value[i] = value[i] - step_size * (m / denom)


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
    if value.shape[0] == 0:
        return
    cdef UpdateCall c = update_call(value, grad)
    c.exp_avg, c.exp_avg_sq = &exp_avg[0], &exp_avg_sq[0]
    c.step_size = lr / (1.0 - pow(beta1, <double>step))
    c.bias_correction2_sqrt = sqrt(1.0 - pow(beta2, <double>step))
    c.one_minus_beta1, c.beta2, c.one_minus_beta2 = 1.0 - beta1, beta2, 1.0 - beta2
    c.eps, c.weight_decay, c.l1 = eps, weight_decay, l1
    c.beta1_small = (1.0 - beta1) < 0.5
    run_update(&c, _adam_block[float], _adam_block[double], 14.0)


# -- Adagrad -------------------------------------------------------------------

cdef void _adagrad_block(floating *value, void *args, int t, int nt) noexcept nogil:
    """Thread t's block of adagrad_update."""
    cdef UpdateCall *c = <UpdateCall *>args
    cdef const floating *grad = <const floating *>c.grad
    cdef floating *state_sum = <floating *>c.state_sum
    cdef floating clr = <floating>c.lr, eps = <floating>c.eps
    cdef floating weight_decay = <floating>c.weight_decay, l1 = <floating>c.l1
    cdef Py_ssize_t i, lo, hi
    cdef floating d, s
    split_range(c.n, t, nt, &lo, &hi)
    for i in range(lo, hi):
        d = penalized(grad[i], value[i], weight_decay, l1)
        s = state_sum[i] + d * d
        state_sum[i] = s
        value[i] = value[i] - clr * (d / (f_sqrt(s) + eps))


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
    if value.shape[0] == 0:
        return
    cdef UpdateCall c = update_call(value, grad)
    c.state_sum = &state_sum[0]
    c.lr = lr / (1.0 + (step - 1) * lr_decay)  # the decayed rate, clr in the part
    c.eps, c.weight_decay, c.l1 = eps, weight_decay, l1
    run_update(&c, _adagrad_block[float], _adagrad_block[double], 8.0)


# -- RMSprop -------------------------------------------------------------------

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
    return f_sqrt(var) + eps


cdef void _rmsprop_block(floating *value, void *args, int t, int nt) noexcept nogil:
    """Thread t's block of rmsprop_update (buf NULL when momentum == 0,
    grad_avg NULL when not centered). One loop per mode, so that no store is
    conditional and every loop vectorizes (see optim_sgd.pyx's _sgd_block)."""
    cdef UpdateCall *c = <UpdateCall *>args
    cdef const floating *grad = <const floating *>c.grad
    cdef floating *square_avg = <floating *>c.square_avg
    cdef floating *buf = <floating *>c.momentum_buf
    cdef floating *grad_avg = <floating *>c.grad_avg
    cdef floating lr = <floating>c.lr, alpha = <floating>c.alpha
    cdef floating one_minus_alpha = <floating>c.one_minus_alpha, eps = <floating>c.eps
    cdef floating weight_decay = <floating>c.weight_decay
    cdef floating momentum = <floating>c.momentum, l1 = <floating>c.l1
    cdef bint oma_small = c.one_minus_alpha_small
    cdef Py_ssize_t i, lo, hi
    cdef floating d, sa, ga, avg, b
    split_range(c.n, t, nt, &lo, &hi)
    if grad_avg == NULL and buf == NULL:
        for i in range(lo, hi):
            d = penalized(grad[i], value[i], weight_decay, l1)
            sa = square_avg[i] * alpha + one_minus_alpha * d * d
            square_avg[i] = sa
            value[i] = value[i] - lr * (d / (f_sqrt(sa) + eps))
    elif grad_avg == NULL:
        for i in range(lo, hi):
            d = penalized(grad[i], value[i], weight_decay, l1)
            sa = square_avg[i] * alpha + one_minus_alpha * d * d
            square_avg[i] = sa
            b = buf[i] * momentum + d / (f_sqrt(sa) + eps)
            buf[i] = b
            value[i] = value[i] - lr * b
    elif buf == NULL:
        for i in range(lo, hi):
            d = penalized(grad[i], value[i], weight_decay, l1)
            sa = square_avg[i] * alpha + one_minus_alpha * d * d
            square_avg[i] = sa
            ga = lerp(grad_avg[i], d, one_minus_alpha, oma_small)
            grad_avg[i] = ga
            value[i] = value[i] - lr * (d / _centered_avg(sa, ga, eps))
    else:
        for i in range(lo, hi):
            d = penalized(grad[i], value[i], weight_decay, l1)
            sa = square_avg[i] * alpha + one_minus_alpha * d * d
            square_avg[i] = sa
            ga = lerp(grad_avg[i], d, one_minus_alpha, oma_small)
            grad_avg[i] = ga
            b = buf[i] * momentum + d / _centered_avg(sa, ga, eps)
            buf[i] = b
            value[i] = value[i] - lr * b


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
    if value.shape[0] == 0:
        return
    cdef UpdateCall c = update_call(value, grad)
    c.square_avg = &square_avg[0]
    c.momentum_buf = &momentum_buf[0] if momentum > 0 else NULL
    c.grad_avg = &grad_avg[0] if centered else NULL
    c.lr, c.alpha, c.one_minus_alpha, c.eps = lr, alpha, 1.0 - alpha, eps
    c.weight_decay, c.momentum, c.l1 = weight_decay, momentum, l1
    c.one_minus_alpha_small = (1.0 - alpha) < 0.5
    run_update(&c, _rmsprop_block[float], _rmsprop_block[double], 12.0)
