"""Fully connected layer kernels: GEMM and bias in one pass per thread block.

Each thread computes one contiguous block of a product's output, rows or
columns, and runs single-threaded BLAS on it, then the element-wise work on
the same block while it is still in cache (../DESIGN.md, "Threads"). A
block of rows makes every thread pack all of the right operand, a block of
columns all of the left one; the split is along the output's longer side,
so that the operand every thread packs again is the smaller one (``_by_columns``).
"""
from cython cimport floating
from cython.parallel cimport parallel, threadid

from nnfast._kernels._blas cimport gemm, blas_int
from nnfast._kernels._math cimport f_relu
from nnfast._kernels._openmp cimport omp_get_num_threads, nnfast_flush_denormals
from nnfast._kernels._threads cimport threads_for, split_range, split_columns


cdef inline bint _by_columns(Py_ssize_t rows, Py_ssize_t cols) noexcept nogil:
    """Whether threads should split a (rows, cols) product by columns."""
    return cols > rows


cdef inline void _add_bias(floating *row, const floating *bias, Py_ssize_t n,
                           bint relu) noexcept nogil:
    """row[:n] += bias[:n], then ReLU'd if relu."""
    cdef Py_ssize_t j
    if relu:
        for j in range(n):
            row[j] = f_relu(row[j] + bias[j])
    else:
        for j in range(n):
            row[j] += bias[j]


cdef void _forward_block(const floating[:, ::1] x, const floating[:, ::1] weight,
                         const floating[::1] bias, floating[:, ::1] out,
                         bint relu, int t, int nt) noexcept nogil:
    """Thread t's block of out := x @ weight.T + bias (ReLU'd if relu): rows
    [lo, hi) (samples) or columns [lo, hi) (output features)."""
    cdef Py_ssize_t i, lo, hi
    cdef Py_ssize_t n = x.shape[0], n_out = weight.shape[0], n_in = weight.shape[1]
    if nt > 1 and _by_columns(n, n_out):
        split_columns(n_out, t, nt, sizeof(floating), &lo, &hi)
        if hi <= lo:
            return
        gemm(False, True, n, hi - lo, n_in, 1, &x[0, 0], n_in,
             &weight[lo, 0], n_in, 0, &out[0, lo], n_out)
        for i in range(n):
            _add_bias(&out[i, lo], &bias[lo], hi - lo, relu)
        return
    split_range(n, t, nt, &lo, &hi)
    if hi <= lo:
        return
    gemm(False, True, hi - lo, n_out, n_in, 1, &x[lo, 0], n_in,
         &weight[0, 0], n_in, 0, &out[lo, 0], n_out)
    for i in range(lo, hi):
        _add_bias(&out[i, 0], &bias[0], n_out, relu)


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
    cdef Py_ssize_t n = x.shape[0]
    cdef int nt = threads_for(2.0 * n * weight.shape[0] * weight.shape[1])
    if nt > max(n, weight.shape[0]):
        nt = <int>max(n, weight.shape[0])
    if nt <= 1:
        with nogil:
            nnfast_flush_denormals()
            _forward_block(x, weight, bias, out, relu, 0, 1)
        return
    with nogil, parallel(num_threads=nt):
        nnfast_flush_denormals()
        _forward_block(x, weight, bias, out, relu, threadid(), omp_get_num_threads())


cdef void _weight_grad_part(const floating[:, ::1] x,
                            const floating[:, ::1] grad_out,
                            floating[:, ::1] grad_weight, floating[::1] grad_bias,
                            bint accumulate, int t, int nt) noexcept nogil:
    """Thread t of nt's share of grad_weight and grad_bias (added to, or
    written if not accumulate)."""
    cdef Py_ssize_t n = x.shape[0]
    cdef Py_ssize_t n_out = grad_weight.shape[0], n_in = grad_weight.shape[1]
    cdef Py_ssize_t lo, hi, i, j
    cdef floating s
    # A block of rows or of columns of grad_weight, so that no two threads
    # write the same element and no reduction is needed. Rows, unless there
    # are few: mlp-wide's 784->512 weight gradient on 2 threads took 372 us
    # by rows and 435 us by columns; mlp-lab's 784->30 took 17.9 and 16.3 us
    # (python bench/profile_layers.py).
    if n_out >= 64:
        # grad_weight[lo:hi] += grad_out[:, lo:hi].T @ x
        split_range(n_out, t, nt, &lo, &hi)
        if hi > lo:
            gemm(True, False, hi - lo, n_in, n, 1, &grad_out[0, lo], n_out,
                 &x[0, 0], n_in, 1 if accumulate else 0, &grad_weight[lo, 0], n_in)
    else:
        # grad_weight[:, lo:hi] += grad_out.T @ x[:, lo:hi]
        split_columns(n_in, t, nt, sizeof(floating), &lo, &hi)
        if hi > lo:
            gemm(True, False, n_out, hi - lo, n, 1, &grad_out[0, 0], n_out,
                 &x[0, lo], n_in, 1 if accumulate else 0, &grad_weight[0, lo], n_in)
    # grad_bias[lo:hi] += grad_out[:, lo:hi].sum(axis=0)
    split_range(n_out, t, nt, &lo, &hi)
    for j in range(lo, hi):
        s = 0
        for i in range(n):
            s = s + grad_out[i, j]
        grad_bias[j] = grad_bias[j] + s if accumulate else s


cdef void _input_grad_part(const floating[:, ::1] weight,
                           const floating[:, ::1] grad_out,
                           floating[:, ::1] grad_x, int t, int nt) noexcept nogil:
    """Thread t of nt's block of grad_x := grad_out @ weight, by rows
    (samples) or columns (features)."""
    cdef Py_ssize_t n = grad_out.shape[0]
    cdef Py_ssize_t n_out = weight.shape[0], n_in = weight.shape[1]
    cdef Py_ssize_t lo, hi
    if nt > 1 and _by_columns(n, n_in):
        split_columns(n_in, t, nt, sizeof(floating), &lo, &hi)
        if hi > lo:
            gemm(False, False, n, hi - lo, n_out, 1, &grad_out[0, 0], n_out,
                 &weight[0, lo], n_in, 0, &grad_x[0, lo], n_in)
        return
    split_range(n, t, nt, &lo, &hi)
    if hi > lo:
        gemm(False, False, hi - lo, n_in, n_out, 1, &grad_out[lo, 0], n_out,
             &weight[0, 0], n_in, 0, &grad_x[lo, 0], n_in)


cdef void _backward_block(const floating[:, ::1] x, const floating[:, ::1] weight,
                          const floating[:, ::1] grad_out, floating[:, ::1] grad_x,
                          floating[:, ::1] grad_weight, floating[::1] grad_bias,
                          bint need_grad_x, bint accumulate, int t,
                          int nt) noexcept nogil:
    """Thread t's share of the three gradients (see linear_backward).

    With the input gradient, the two products are independent and cost the
    same, so the threads split into two teams, one per product, rather than
    all splitting both: a whole product on one thread packs each operand
    once. mlp-wide's 512-512 backward at 2 threads went from 563 to 485 us
    (python bench/profile_layers.py --workload mlp-wide --threads 2)."""
    cdef int team
    if not need_grad_x:
        _weight_grad_part(x, grad_out, grad_weight, grad_bias, accumulate, t, nt)
        return
    if nt == 1:
        _weight_grad_part(x, grad_out, grad_weight, grad_bias, accumulate, 0, 1)
        _input_grad_part(weight, grad_out, grad_x, 0, 1)
        return
    team = nt // 2
    if t < team:
        _weight_grad_part(x, grad_out, grad_weight, grad_bias, accumulate, t, team)
    else:
        _input_grad_part(weight, grad_out, grad_x, t - team, nt - team)


def linear_backward(const floating[:, ::1] x, const floating[:, ::1] weight,
                    const floating[:, ::1] grad_out, floating[:, ::1] grad_x,
                    floating[:, ::1] grad_weight, floating[::1] grad_bias,
                    bint accumulate=True):
    """Gradients of out = x @ weight.T + bias.

    grad_weight += grad_out.T @ x;  grad_bias += grad_out.sum(0) (``=``
    instead of ``+=`` when ``accumulate`` is False: the GEMM then writes
    grad_weight without reading it);
    grad_x := grad_out @ weight (skipped when ``grad_x`` is None).

    Parameters
    ----------
    x : ndarray of shape (n_samples, in_features)                 # IN
    weight : ndarray of shape (out_features, in_features)         # IN
    grad_out : ndarray of shape (n_samples, out_features)         # IN
    grad_x : ndarray of shape (n_samples, in_features) or None    # OUT
    grad_weight : ndarray of shape (out_features, in_features)    # IN/OUT, accumulated
    grad_bias : ndarray of shape (out_features,)                  # IN/OUT, accumulated
    accumulate : bool, default True
    """
    cdef bint need_grad_x = grad_x is not None
    cdef double flops = 2.0 * x.shape[0] * weight.shape[0] * weight.shape[1]
    cdef int nt = threads_for(flops * (2 if need_grad_x else 1))
    if nt <= 1:
        with nogil:
            nnfast_flush_denormals()
            _backward_block(x, weight, grad_out, grad_x, grad_weight, grad_bias,
                            need_grad_x, accumulate, 0, 1)
        return
    with nogil, parallel(num_threads=nt):
        nnfast_flush_denormals()
        _backward_block(x, weight, grad_out, grad_x, grad_weight, grad_bias,
                        need_grad_x, accumulate, threadid(), omp_get_num_threads())
