# What the optimizer update kernels (optim_sgd.pyx, optim_adaptive.pyx)
# share: the call struct, how a call runs, and the scalar pieces of
# torch.optim's rules (inline, so that each loop around them stays one
# vectorizable pass).
#
# Each kernel makes one fused pass per parameter per step: it reads the
# value, gradient and optimizer state once and writes the new value and
# state in place, where torch.optim's reference implementation makes one
# pass over memory per arithmetic operation. The update rules and their
# order of operations are torch.optim's (single-tensor path), so that
# results agree to rounding. All arrays are flat (1-D, C-contiguous) and of
# one dtype; hyper-parameters come in as double and are rounded to that
# dtype as each thread starts (float32 stays float32, as in torch). Threads
# split the array into one contiguous block each, only when it is large
# enough to pay for waking them: ``team_size`` gets each kernel's flops per
# element times the elements, and the elements as the independent units.
from cython cimport floating
from libc.math cimport sqrt

from nnfast._kernels._threads cimport (TypedPart, double_part, float_part, run_part,
                                       team_size)


cdef struct UpdateCall:
    # One call's arguments, shared read-only by its threads: part.first is
    # the value, the arrays float or double as part.is_double says; the
    # state arrays a rule does not keep are NULL, as are the momentum buffer
    # without momentum and grad_avg unless RMSprop is centered.
    TypedPart part
    const void *grad
    void *momentum_buf   # SGD, RMSprop
    void *exp_avg        # Adam
    void *exp_avg_sq     # Adam
    void *state_sum      # Adagrad
    void *square_avg     # RMSprop
    void *grad_avg       # RMSprop, centered
    Py_ssize_t n
    double lr, momentum, one_minus_dampening, weight_decay, l1, eps
    double one_minus_beta1, beta2, one_minus_beta2, step_size, bias_correction2_sqrt
    double alpha, one_minus_alpha
    bint nesterov, first_step, beta1_small, one_minus_alpha_small


cdef inline UpdateCall update_call(floating[::1] value, const floating[::1] grad):
    """An UpdateCall on value (not empty) and its gradient; each kernel sets
    the state and hyper-parameters its rule reads."""
    cdef UpdateCall c
    c.part.first, c.part.is_double = &value[0], floating is double
    c.n, c.grad = value.shape[0], &grad[0]
    return c


cdef inline void run_update(UpdateCall *c, float_part f32, double_part f64,
                            double flops_per_element):
    """The update part f32 or f64 over c's n elements, on as many threads as
    team_size gives for flops_per_element * n flops."""
    cdef int nt = team_size(flops_per_element * c.n, c.n)
    with nogil:
        run_part(&c.part, f32, f64, c.part.first, nt)


cdef inline floating f_sign(floating x) noexcept nogil:
    """-1, 0 or 1 (0 for 0 and NaN)."""
    return <floating>((x > 0) - (x < 0))


cdef inline floating f_sqrt(floating x) noexcept nogil:
    """sqrt rounded to x's type, so that float32 arithmetic stays float32 (a
    bare sqrt() returns a double, and the expression around it would be
    evaluated in double). The double sqrt of a float, rounded to float, is
    the correctly rounded float sqrt."""
    return <floating>sqrt(x)


cdef inline floating penalized(floating g, floating w, floating weight_decay,
                               floating l1) noexcept nogil:
    """g + weight_decay * w + l1 * sign(w): the gradient with L2 and L1 terms."""
    if weight_decay != 0:
        g = g + weight_decay * w
    if l1 != 0:
        g = g + l1 * f_sign(w)
    return g


cdef inline floating lerp(floating start, floating end, floating weight,
                          bint weight_small) noexcept nogil:
    """start + weight * (end - start), in the form torch's lerp_ uses (the
    one whose rounding stays smallest for the given side of 0.5)."""
    # one expression (a select, not a branch) keeps loops around it vectorizable
    return (start + weight * (end - start) if weight_small
            else end - (end - start) * (1 - weight))
