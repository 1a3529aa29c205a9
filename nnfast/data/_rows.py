"""One shuffled batch out of a data set: the rows a training loop picks.

nf.fit's array batches and the scikit-learn estimators copy each batch out
of the data set by an index of rows from all over it: a memory-bound copy
that ran serially in NumPy while the kernel threads waited. (A DataLoader
already makes its batches in a background thread, beside the training
step; its own OpenMP team there would compete with the step's, so it keeps
NumPy indexing.) ``take_rows`` runs it in the
``gather_rows`` kernel on nnfast's threads where it can (10,000
Fashion-MNIST rows in batches of 200: 2.7 ms an epoch on two threads, 5.7
in NumPy) and is ``array[index]`` everywhere else, with the same result.
"""
import numpy as np

from nnfast import _aligned, _backend

_FLOATS = (np.float32, np.float64)


def take_rows(array, index):
    """``array[index]`` for an int array ``index`` of row numbers, each in
    range (the caller's own order: a permutation or a range of it).

    A C-contiguous float32 or float64 ndarray of two or more axes goes
    through ``gather_rows``; anything else (labels, other dtypes, views,
    subclasses, a slice for ``index``) is plain NumPy indexing.
    """
    if (type(array) is not np.ndarray or array.ndim < 2 or array.dtype not in _FLOATS
            or not array.flags.c_contiguous or isinstance(index, slice)):
        return array[index]
    index = np.ascontiguousarray(index, dtype=np.int64)
    flat = array.reshape(array.shape[0], -1)
    out = _aligned.empty((index.shape[0], flat.shape[1]), array.dtype)   # for the kernels' vector loads
    _backend.kernels().gather_rows(flat, index, out)
    return out.reshape((index.shape[0],) + array.shape[1:])
