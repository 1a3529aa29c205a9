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
