"""The kernels in plain NumPy: same names, signatures and results as the
compiled ones in ``nnfast._kernels``. Select them with
``nnfast.set_backend("reference")`` to check or to read what a kernel does.
"""
from nnfast.reference.gemm import gemm
from nnfast.reference.linear import linear_backward, linear_forward
from nnfast.reference.conv import (col2im, conv2d_backward_direct, conv2d_backward_im2col,
                                   conv2d_forward_direct, conv2d_forward_im2col,
                                   conv2d_workspace_size, im2col)
from nnfast.reference.pooling import (avgpool2d_backward, avgpool2d_forward,
                                      maxpool2d_backward, maxpool2d_forward)
