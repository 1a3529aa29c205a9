# A 2-D convolution call's geometry and arguments, how the im2col kernels
# cut it into items and threads, and where each thread's scratch lies in the
# workspace (see _conv_plan.pyx, which also holds the tuning switches).
from cython cimport floating


cdef struct Geometry:
    Py_ssize_t n_samples, channels, height, width
    Py_ssize_t out_channels, kernel_h, kernel_w, height_col, width_col
    Py_ssize_t pad_top, pad_left         # (bottom and right: in height_col, width_col)
    Py_ssize_t stride_h, stride_w, dilation_h, dilation_w
    Py_ssize_t ckk                       # channels * kernel_h * kernel_w: GEMM depth
    Py_ssize_t max_rows                  # output rows one column buffer holds
    Py_ssize_t rows, blocks              # this call's rows per item, items per sample
    bint pointwise                       # 1x1, stride 1, unpadded: no buffer needed
    bint span                            # span columns (stride and dilation 1)
    bint padded                          # span columns of a padded copy of the sample
    Py_ssize_t height_pad, width_pad     # the padded image's size (span columns)
    bint in_place                        # span columns read in place (small_gemm_rows)


# The three passes, which may choose differently between the column layouts.
cdef enum Pass:
    FORWARD, WEIGHT_GRAD, INPUT_GRAD


# What a call's team does, one run_team each: a direct forward or backward
# (all three gradients); an im2col forward, or an im2col backward's weight
# gradient, then its accumulators added in, then its input gradient.
cdef enum Step:
    FORWARD_STEP, BACKWARD_STEP, WEIGHT_GRAD_STEP, ADD_ACCUMULATORS_STEP,
    INPUT_GRAD_STEP


cdef struct ConvCall:
    # One convolution call's arguments, shared read-only by its threads
    # (conv_im2col.pyx, conv_direct.pyx); element pointers are float or
    # double as ``is_double`` says.
    Step step
    Geometry g            # the step's geometry, its rows cut for the team
    const void *x
    const void *weight
    const void *bias
    const void *grad_output
    void *out
    void *grad_input      # or NULL: no input gradient
    void *grad_weight
    void *grad_bias
    void *workspace       # im2col: the threads' scratch and accumulators
    # im2col: the team size the workspace's weight-gradient accumulators are
    # laid out for; run_team passes the real one, which may be smaller
    int nt_planned
    Py_ssize_t groups     # im2col input gradient: channel groups per sample
    bint relu, transpose, is_double
    # im2col weight gradient on small_gemm (float32, AVX-512 or AVX2): every thread,
    # thread 0 too, sums into its own (ckk, out_channels) accumulator
    bint small
    # ... and through dot_gemm (csrc/dot_gemm.h), for few output channels
    bint dot


cdef Geometry conv_geometry(Py_ssize_t *x_shape, Py_ssize_t *w_shape,
                            Py_ssize_t *out_shape, stride, padding, dilation,
                            Py_ssize_t itemsize, Pass kind=*)
cdef int fit_workspace(Geometry *g, int nt, Py_ssize_t workspace_len) noexcept nogil
cdef bint transpose_grad_output(Geometry *g) noexcept nogil


cdef inline Py_ssize_t column_size(Geometry *g) noexcept nogil:
    """Elements of one thread's scratch: its column buffer, and for span
    columns an (out_channels, rows * width_pad) block for the GEMM's output
    or the output gradient, and a padded copy of one sample."""
    if g.pointwise:
        return 0
    if not g.span:
        # the column buffer, then the transposed output gradient's block
        return g.max_rows * g.width_col * (g.ckk + g.out_channels)
    return (g.max_rows * g.width_pad * (g.ckk + g.out_channels)
            + (g.channels * g.height_pad * g.width_pad if g.padded else 0))


cdef inline floating *staging_of(Geometry *g, floating *column) noexcept nogil:
    """Where a thread's scratch holds, after its column buffer, the block of
    the GEMM's output or of the output gradient (see column_size)."""
    return column + g.max_rows * g.ckk * (g.width_pad if g.span else g.width_col)


cdef inline floating *padded_copy_of(Geometry *g, floating *staging) noexcept nogil:
    """Where it holds the padded copy of one sample (span columns)."""
    return staging + g.max_rows * g.out_channels * g.width_pad


cdef inline Py_ssize_t workspace_size(Geometry *g, int nt) noexcept nogil:
    """nt column buffers, then nt weight-gradient accumulators (thread 0
    sums straight into grad_weight on the BLAS path, into its own on the
    small_gemm path)."""
    return nt * column_size(g) + nt * g.out_channels * g.ckk
