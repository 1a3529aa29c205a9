"""The kernels in plain NumPy: same names, signatures and results as the
compiled ones in ``nnfast._kernels``. Select them with
``nnfast.set_backend("reference")`` to check or to read what a kernel does.
"""
from nnfast.reference.gemm import gemm
from nnfast.reference.linear import linear_backward, linear_forward
from nnfast.reference.optim import adagrad_update, adam_update, rmsprop_update, sgd_update
from nnfast.reference.dropout import dropout_backward, dropout_forward
