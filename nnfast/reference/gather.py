"""Row gather in NumPy: the twin of ``nnfast._kernels.gather``."""
import numpy as np


def gather_rows(x, index, out):
    """out[i] := x[index[i]] for every i.

    Parameters
    ----------
    x : ndarray of shape (n_samples, n_features)
    index : int64 ndarray of shape (n_rows,), each in [0, n_samples)
    out : ndarray of shape (n_rows, n_features)
    """
    np.take(x, index, axis=0, out=out)
