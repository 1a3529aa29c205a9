"""Axis arguments of the layers (``dim``, ``start_dim``, ``end_dim``): an int
of any sign at construction, checked against each input's rank when it comes."""
import numbers


def check_dim(dim, name="dim"):
    """``dim`` as an int (any sign: checked against the input's rank in
    ``normalize_dim``); bools and non-ints are a TypeError."""
    if isinstance(dim, bool) or not isinstance(dim, numbers.Integral):
        raise TypeError(f"{name} must be an int (an axis of the input, negative counting from "
                        f"the end), got {type(dim).__name__} {dim!r}")
    return int(dim)


def min_rank(dim):
    """The fewest dimensions an input needs to have axis ``dim``."""
    return dim + 1 if dim >= 0 else -dim


def normalize_dim(dim, shape, name="dim", owner=""):
    """``dim`` of an input of ``shape`` as an axis in [0, ndim)."""
    ndim = len(shape)
    if not -ndim <= dim < ndim:
        raise ValueError(f"{name}={dim} is out of range for {owner}input x of shape {shape} "
                         f"(rank {ndim}): {name} must be in [{-ndim}, {ndim - 1}]")
    return dim % ndim
