"""Compiled kernels (typed Cython and C, GIL released, OpenMP).

Private: these functions trust their caller (shapes, dtypes, contiguity and
label ranges are checked by the public layers, losses and optimizers before
any kernel runs). Every name here has a twin of the same signature in
``nnfast.reference``.
"""
from nnfast._kernels.gemm import gemm
from nnfast._kernels.linear import linear_backward, linear_forward
from nnfast._kernels.optim import adagrad_update, adam_update, rmsprop_update, sgd_update
from nnfast._kernels.dropout import dropout_backward, dropout_forward
from nnfast._kernels.activations import (
    leaky_relu_backward, leaky_relu_forward, prelu_backward, prelu_forward,
    relu_backward, relu_forward, sigmoid_backward, sigmoid_forward,
    tanh_backward, tanh_forward,
)
from nnfast._kernels.softmax import (
    log_softmax_backward, log_softmax_forward, softmax_backward, softmax_forward,
)
from nnfast._kernels.losses import (
    bce_backward, bce_forward, bce_with_logits_backward, bce_with_logits_forward,
    cross_entropy_backward, cross_entropy_forward, dice_backward, dice_forward,
    hinge_backward, hinge_forward, mse_backward, mse_forward, nll_backward,
    nll_forward,
)
from nnfast._kernels._conv_plan import conv2d_workspace_size
from nnfast._kernels.conv_im2col import (col2im, conv2d_im2col_backward,
                                         conv2d_im2col_forward, im2col)
from nnfast._kernels.conv_direct import conv2d_direct_backward, conv2d_direct_forward
from nnfast._kernels.pooling import (avgpool2d_backward, avgpool2d_forward,
                                     maxpool2d_backward, maxpool2d_forward)
from nnfast._kernels.batchnorm import batchnorm_backward, batchnorm_forward, batchnorm_stats
from nnfast._kernels.recurrent import (gru_gates_backward, gru_gates_forward,
                                     lstm_gates_backward, lstm_gates_forward,
                                     rnn_cell_backward, rnn_cell_forward)
