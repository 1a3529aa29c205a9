"""Compiled kernels (typed Cython and C, GIL released, OpenMP).

Private: these functions trust their caller (shapes, dtypes, contiguity and
label ranges are checked by the public layers, losses and optimizers before
any kernel runs). The names and argument lists are nnfast/_contract.py's,
the same as ``nnfast.reference``'s; which module defines which kernel is
this package's own affair.
"""
from nnfast._contract import KERNELS, collect

_MODULES = ("gemm", "linear", "_conv_plan", "conv_im2col", "conv_direct", "pooling",
            "activations", "softmax", "dropout",
            "losses_labels", "losses_elementwise", "losses_dice",
            "optim_sgd", "optim_adaptive", "batchnorm", "recurrent")

globals().update(collect(__name__, _MODULES))
__all__ = sorted(KERNELS)
