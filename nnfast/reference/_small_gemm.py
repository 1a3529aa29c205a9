"""The recurrent kernels' GEMM in NumPy: the twin of ``nnfast._kernels._small_gemm``.

The compiled module is an AVX-512 GEMM inside the recurrent kernels
(whose own twins, ``reference.recurrent`` and ``reference.recurrent_weights``,
compute the same products with ``@``); its test entry ``small_gemm_into``
has this twin, the product it must equal (its switches, ``available``,
``enabled`` and ``set_enabled``, choose a path and have no twin).
"""


def small_gemm_into(a, b, c, trans_a=False, accumulate=False):
    """c := op(a) @ b (+ c if accumulate), op(a) = a.T if trans_a else a;
    op(a) (m, k), b (k, n), c (m, n). Returns True (it always runs).
    """
    product = (a.T if trans_a else a) @ b
    if accumulate:
        c += product
    else:
        c[...] = product
    return True


def dot_gemm_into(a, b, c, accumulate=False):
    """c := a @ b.T (+ c if accumulate); a (m, k), b (n, k), c (m, n).
    Returns True (it always runs)."""
    product = a @ b.T
    if accumulate:
        c += product
    else:
        c[...] = product
    return True
