"""The kernels in plain NumPy: same names, signatures and results as the
compiled ones in ``nnfast._kernels``. Select them with
``nnfast.set_backend("reference")`` to check or to read what a kernel does.
"""
from nnfast.reference.gemm import gemm
from nnfast.reference.linear import linear_backward, linear_forward
from nnfast.reference.optim import adagrad_update, adam_update, rmsprop_update, sgd_update
from nnfast.reference.dropout import dropout_backward, dropout_forward
from nnfast.reference.activations import (
    leaky_relu_backward, leaky_relu_forward, prelu_backward, prelu_forward,
    relu_backward, relu_forward, sigmoid_backward, sigmoid_forward,
    tanh_backward, tanh_forward,
)
from nnfast.reference.softmax import (
    log_softmax_backward, log_softmax_forward, softmax_backward, softmax_forward,
)
from nnfast.reference.losses import (
    bce_backward, bce_forward, bce_with_logits_backward, bce_with_logits_forward,
    cross_entropy_backward, cross_entropy_forward, dice_backward, dice_forward,
    hinge_backward, hinge_forward, mse_backward, mse_forward, nll_backward,
    nll_forward,
)
from nnfast.reference.conv import (col2im, conv2d_direct_backward, conv2d_direct_forward,
                                   conv2d_im2col_backward, conv2d_im2col_forward,
                                   conv2d_workspace_size, im2col)
from nnfast.reference.pooling import (avgpool2d_backward, avgpool2d_forward,
                                      maxpool2d_backward, maxpool2d_forward)
from nnfast.reference.batchnorm import batchnorm_backward, batchnorm_forward, batchnorm_stats
from nnfast.reference.recurrent import (gru_gates_backward, gru_gates_forward,
                                     lstm_gates_backward, lstm_gates_forward,
                                     rnn_cell_backward, rnn_cell_forward)
