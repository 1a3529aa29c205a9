"""nnfast: fast, transparent CPU neural networks.

Layers with an explicit ``forward`` and ``backward`` on compiled kernels
(Cython and C, OpenMP), with a NumPy twin of every kernel
(``nf.set_backend("reference")``).
"""
from nnfast._backend import get_backend, set_backend, use_backend
from nnfast._random import seed
from nnfast._runtime import (get_deterministic, get_num_threads, limit_blas_threads,
                             openmp_enabled, set_deterministic, set_num_threads)
from nnfast.parameter import Parameter
from nnfast.network import Sequential
from nnfast.graph import Graph
from nnfast.gradcheck import gradcheck
from nnfast import init, layers
from nnfast import optim
from nnfast import losses
from nnfast import metrics
from nnfast import models
from nnfast import datasets
from nnfast import callbacks, data
from nnfast.training import History, fit
from nnfast import inference
from nnfast.io import load, save
from nnfast import onnx  # imports the onnx package only when used

__version__ = "0.1.0"

limit_blas_threads()

__all__ = [
    "Parameter", "Sequential", "Graph", "layers", "init", "gradcheck",
    "get_backend", "set_backend", "use_backend",
    "get_num_threads", "set_num_threads", "openmp_enabled", "seed",
    "set_deterministic", "get_deterministic",
    "optim",
    "losses", "metrics", "models",
    "datasets", "callbacks", "data", "fit", "History", "load", "save",
    "inference",
    "onnx",
]
