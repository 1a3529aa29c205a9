"""The kernels in plain NumPy: the names, argument lists and results of the
compiled ones in ``nnfast._kernels`` (nnfast/_contract.py lists them).
Select them with ``nnfast.set_backend("reference")`` to check or to read
what a kernel does. Needs NumPy only: it imports and runs with no compiled
module present.
"""
from nnfast._contract import KERNELS, collect

_MODULES = ("gemm", "linear", "_conv_plan", "conv_im2col", "conv_direct", "pooling",
            "activations", "softmax", "dropout",
            "losses_labels", "losses_elementwise", "losses_dice",
            "optim_sgd", "optim_adaptive", "batchnorm", "recurrent")

globals().update(collect(__name__, _MODULES))
__all__ = sorted(KERNELS)
