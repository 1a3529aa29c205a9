"""Compiled kernels (typed Cython and C, GIL released, OpenMP).

Private: these functions trust their caller (shapes, dtypes, contiguity and
label ranges are checked by the public layers, losses and optimizers before
any kernel runs). Every name here has a twin of the same signature in
``nnfast.reference``.
"""
from nnfast._kernels.gemm import gemm
from nnfast._kernels.linear import linear_backward, linear_forward
from nnfast._kernels.conv import (col2im, conv2d_backward_direct, conv2d_backward_im2col,
                                  conv2d_forward_direct, conv2d_forward_im2col,
                                  conv2d_workspace_size, im2col)
from nnfast._kernels.pooling import (avgpool2d_backward, avgpool2d_forward,
                                     maxpool2d_backward, maxpool2d_forward)
