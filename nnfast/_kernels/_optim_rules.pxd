# The scalar pieces that torch.optim's update rules share, for the update
# kernels (optim_sgd.pyx, optim_adaptive.pyx): inline, so that each loop
# around them stays one vectorizable pass.
from cython cimport floating
from libc.math cimport sqrt


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
