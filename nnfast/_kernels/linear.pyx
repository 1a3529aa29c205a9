"""Fully connected layer kernels: GEMM and bias in one pass per thread block.

Each thread computes one contiguous block of a product's output, rows or
columns, and runs single-threaded BLAS on it, then the element-wise work on
the same block while it is still in cache (../DESIGN.md, "Threads"). A
block of rows makes every thread pack all of the right operand, a block of
columns all of the left one; the split is along the output's longer side,
so that the operand every thread packs again is the smaller one (``_by_columns``).
In float32 on AVX-512 the forward's block runs on dot_gemm (csrc/dot_gemm.h):
x and the weight both have the input features contiguous, and it packs
neither (2 threads, 20 calls, min of 30 interleaved: (128, 512) -> 512 in
524 us against BLAS's 660, (256, 784) -> 512 1250 against 1511, the
scikit-learn defaults' (200, 784) -> 100 284 against 269). In AVX2 the
tiles lose to OpenBLAS's packed kernels on these shapes (Zen 3 EPYC, 2
threads, median of 40 interleaved, tiles / BLAS: (256, 784) -> 512 forward
3065 / 2271 us, backward 6602 / 4063; (128, 1024) -> 1024 backward 10970 /
5351), so there the layer keeps BLAS (``_tiles``).
"""
from cython cimport floating

from nnfast._kernels._blas cimport gemm
from nnfast._kernels._small_gemm cimport dot_gemm, small_gemm, small_gemm_is_avx512
from nnfast._kernels._math cimport add_bias
from nnfast._kernels._threads cimport (TypedPart, run_part, split_columns, split_range,
                                       team_size)


cdef struct LinearCall:
    # One call's arguments, shared read-only by its threads; element
    # pointers are float or double as ``part.is_double`` says.
    TypedPart part
    const void *x
    const void *weight
    const void *bias
    const void *grad_output
    void *out
    void *grad_input
    void *grad_weight
    void *grad_bias
    Py_ssize_t n_samples, in_features, out_features
    bint relu, accumulate


cdef inline bint _tiles() noexcept nogil:
    """Whether the float32 GEMMs run on nnfast's register tiles: in AVX-512
    only (see the module's docstring)."""
    return small_gemm_is_avx512()


cdef inline bint _by_columns(Py_ssize_t rows, Py_ssize_t cols) noexcept nogil:
    """Whether threads should split a (rows, cols) product by columns."""
    return cols > rows


cdef void _forward_part(floating *out, void *args, int t, int nt) noexcept nogil:
    """Thread t's block of out := x @ weight.T + bias (ReLU'd if relu): rows
    [lo, hi) (samples) or columns [lo, hi) (output features)."""
    cdef LinearCall *a = <LinearCall *>args
    cdef const floating *x = <const floating *>a.x
    cdef const floating *weight = <const floating *>a.weight
    cdef const floating *bias = <const floating *>a.bias
    cdef Py_ssize_t i, lo, hi
    cdef Py_ssize_t n = a.n_samples, n_out = a.out_features, n_in = a.in_features
    if nt > 1 and _by_columns(n, n_out):
        split_columns(n_out, t, nt, sizeof(floating), &lo, &hi)
        if hi <= lo:
            return
        if not (floating is float and _tiles() and dot_gemm(
                n, hi - lo, n_in, <const float *>x, n_in, <const float *>weight + lo * n_in,
                n_in, False, <float *>out + lo, n_out)):
            gemm(False, True, n, hi - lo, n_in, 1, x, n_in, weight + lo * n_in,
                 n_in, 0, out + lo, n_out)
        for i in range(n):
            add_bias(out + i * n_out + lo, bias + lo, 1, hi - lo, a.relu)
        return
    split_range(n, t, nt, &lo, &hi)
    if hi <= lo:
        return
    if not (floating is float and _tiles() and dot_gemm(
            hi - lo, n_out, n_in, <const float *>x + lo * n_in, n_in, <const float *>weight,
            n_in, False, <float *>out + lo * n_out, n_out)):
        gemm(False, True, hi - lo, n_out, n_in, 1, x + lo * n_in, n_in, weight,
             n_in, 0, out + lo * n_out, n_out)
    for i in range(lo, hi):
        add_bias(out + i * n_out, bias, 1, n_out, a.relu)


def linear_forward(const floating[:, ::1] x, const floating[:, ::1] weight,
                   const floating[::1] bias, floating[:, ::1] out, bint relu=False):
    """out := x @ weight.T + bias, then max(out, 0) if ``relu`` (a ReLU layer
    after it, fused into the pass that adds the bias)

    Parameters
    ----------
    x : ndarray of shape (n_samples, in_features)          # IN
    weight : ndarray of shape (out_features, in_features)  # IN
    bias : ndarray of shape (out_features,)                # IN
    out : ndarray of shape (n_samples, out_features)       # OUT
    """
    cdef LinearCall a
    a.n_samples, a.in_features, a.out_features = x.shape[0], weight.shape[1], weight.shape[0]
    if a.n_samples == 0 or a.out_features == 0:
        return
    a.x, a.weight, a.bias, a.out = &x[0, 0], &weight[0, 0], &bias[0], &out[0, 0]
    a.relu, a.part.is_double = relu, floating is double
    cdef int nt = team_size(2.0 * a.n_samples * a.out_features * a.in_features,
                            max(a.n_samples, a.out_features))
    with nogil:
        run_part(&a.part, _forward_part[float], _forward_part[double], a.out, nt)


cdef void _weight_grad_part(floating *grad_weight, LinearCall *a, int t,
                            int nt) noexcept nogil:
    """Thread t of nt's share of grad_weight and grad_bias (added to, or
    written if not accumulate)."""
    cdef const floating *x = <const floating *>a.x
    cdef const floating *grad_output = <const floating *>a.grad_output
    cdef floating *grad_bias = <floating *>a.grad_bias
    cdef Py_ssize_t n = a.n_samples, n_out = a.out_features, n_in = a.in_features
    cdef Py_ssize_t lo, hi, i, j
    cdef floating s
    # A block of rows or of columns of grad_weight, so that no two threads
    # write the same element and no reduction is needed. Rows, unless there
    # are few: mlp-wide's 784->512 weight gradient on 2 threads took 372 us
    # by rows and 435 us by columns; mlp-lab's 784->30 took 17.9 and 16.3 us
    # (python bench/profile_layers.py).
    # Float32 on AVX-512 in nnfast's own GEMM (_small_gemm), which reads the
    # transposed grad_output as it lies; OpenBLAS packs it on every call: the
    # scikit-learn defaults' fit (784-100-10, batch 200, 2 threads, 5
    # alternated fits) 0.694 s against 0.781 (python bench/sklearn_race.py's
    # data); the bench workloads within 2 % either way.
    if n_out >= 64:
        # grad_weight[lo:hi] += grad_output[:, lo:hi].T @ x
        split_range(n_out, t, nt, &lo, &hi)
        if hi > lo and not (floating is float and _tiles() and small_gemm(
                True, hi - lo, n_in, n, <const float *>grad_output + lo, n_out,
                <const float *>x, n_in, a.accumulate, <float *>grad_weight + lo * n_in, n_in)):
            gemm(True, False, hi - lo, n_in, n, 1, grad_output + lo, n_out,
                 x, n_in, 1 if a.accumulate else 0, grad_weight + lo * n_in, n_in)
    else:
        # grad_weight[:, lo:hi] += grad_output.T @ x[:, lo:hi]
        split_columns(n_in, t, nt, sizeof(floating), &lo, &hi)
        if hi > lo and not (floating is float and _tiles() and small_gemm(
                True, n_out, hi - lo, n, <const float *>grad_output, n_out,
                <const float *>x + lo, n_in, a.accumulate, <float *>grad_weight + lo, n_in)):
            gemm(True, False, n_out, hi - lo, n, 1, grad_output, n_out,
                 x + lo, n_in, 1 if a.accumulate else 0, grad_weight + lo, n_in)
    # grad_bias[lo:hi] += grad_output[:, lo:hi].sum(axis=0)
    split_range(n_out, t, nt, &lo, &hi)
    for j in range(lo, hi):
        s = 0
        for i in range(n):
            s = s + grad_output[i * n_out + j]
        grad_bias[j] = grad_bias[j] + s if a.accumulate else s


cdef void _input_grad_part(floating *grad_input, LinearCall *a, int t,
                           int nt) noexcept nogil:
    """Thread t of nt's block of grad_input := grad_output @ weight, by rows
    (samples) or columns (features)."""
    cdef const floating *weight = <const floating *>a.weight
    cdef const floating *grad_output = <const floating *>a.grad_output
    cdef Py_ssize_t n = a.n_samples, n_out = a.out_features, n_in = a.in_features
    cdef Py_ssize_t lo, hi
    if nt > 1 and _by_columns(n, n_in):
        split_columns(n_in, t, nt, sizeof(floating), &lo, &hi)
        if hi > lo:
            gemm(False, False, n, hi - lo, n_out, 1, grad_output, n_out,
                 weight + lo, n_in, 0, grad_input + lo, n_in)
        return
    split_range(n, t, nt, &lo, &hi)
    if hi > lo:
        gemm(False, False, hi - lo, n_in, n_out, 1, grad_output + lo * n_out,
             n_out, weight, n_in, 0, grad_input + lo * n_in, n_in)


cdef void _backward_part(floating *grad_weight, void *args, int t, int nt) noexcept nogil:
    """Thread t's share of the three gradients (see linear_backward).

    With the input gradient, the two products are independent and cost the
    same, so the threads split into two teams, one per product, rather than
    all splitting both: a whole product on one thread packs each operand
    once. mlp-wide's 512-512 backward at 2 threads went from 563 to 485 us
    (python bench/profile_layers.py --workload mlp-wide --threads 2)."""
    cdef LinearCall *a = <LinearCall *>args
    cdef floating *grad_input = <floating *>a.grad_input
    cdef int team
    if grad_input == NULL:
        _weight_grad_part(grad_weight, a, t, nt)
        return
    if nt == 1:
        _weight_grad_part(grad_weight, a, 0, 1)
        _input_grad_part(grad_input, a, 0, 1)
        return
    team = nt // 2
    if t < team:
        _weight_grad_part(grad_weight, a, t, team)
    else:
        _input_grad_part(grad_input, a, t - team, nt - team)


def linear_backward(const floating[:, ::1] x, const floating[:, ::1] weight,
                    const floating[:, ::1] grad_output, floating[:, ::1] grad_input,
                    floating[:, ::1] grad_weight, floating[::1] grad_bias,
                    bint accumulate=True):
    """Gradients of out = x @ weight.T + bias.

    grad_weight += grad_output.T @ x;  grad_bias += grad_output.sum(0) (``=``
    instead of ``+=`` when ``accumulate`` is False: the GEMM then writes
    grad_weight without reading it);
    grad_input := grad_output @ weight (skipped when ``grad_input`` is None).

    Parameters
    ----------
    x : ndarray of shape (n_samples, in_features)                  # IN
    weight : ndarray of shape (out_features, in_features)          # IN
    grad_output : ndarray of shape (n_samples, out_features)       # IN
    grad_input : ndarray of shape (n_samples, in_features) or None # OUT
    grad_weight : ndarray of shape (out_features, in_features)     # IN/OUT, accumulated
    grad_bias : ndarray of shape (out_features,)                   # IN/OUT, accumulated
    accumulate : bool, default True
    """
    cdef LinearCall a
    a.n_samples, a.in_features, a.out_features = x.shape[0], weight.shape[1], weight.shape[0]
    if a.out_features == 0 or a.in_features == 0:
        return
    a.x, a.weight = &x[0, 0] if a.n_samples else NULL, &weight[0, 0]
    a.grad_output = &grad_output[0, 0] if a.n_samples else NULL
    a.grad_input = &grad_input[0, 0] if grad_input is not None and a.n_samples else NULL
    a.grad_weight, a.grad_bias = &grad_weight[0, 0], &grad_bias[0]
    a.accumulate, a.part.is_double = accumulate, floating is double
    cdef double flops = 2.0 * a.n_samples * a.out_features * a.in_features
    cdef int nt = team_size(flops * (1 if a.grad_input == NULL else 2),
                            max(a.n_samples, a.out_features, a.in_features))
    with nogil:
        run_part(&a.part, _backward_part[float], _backward_part[double], a.grad_weight, nt)
