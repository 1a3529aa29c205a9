"""Running a layer (or a network) through a sequence of calls, and the
cross-checks between runs: the same calls on a C-contiguous copy of the
input must give the same bits, and on the reference kernels the same
values within the design's tolerances."""
import numpy as np

import nnfast as nf
from nnfast.fuzz.inputs import Arr, make
from nnfast.fuzz.outcome import Garbage, check_array, check_equal

# fast == reference (DESIGN.md): float32 rtol 1e-4, float64 rtol 1e-10
RTOL = {np.dtype(np.float32): 1e-4, np.dtype(np.float64): 1e-10}


def native(a):
    """``a`` as a plain C-contiguous ndarray in native byte order: what a
    user would pass after ``np.ascontiguousarray``."""
    a = np.asarray(a)
    dt = a.dtype.newbyteorder("=") if a.dtype.byteorder not in ("=", "|") else a.dtype
    return np.array(a, dtype=dt, order="C", copy=True)


GRAD_SHAPES = ("same", "same", "same", "0d", "drop_last", "add_axis", "grow_first", "empty",
               "reverse")


def grad_shape(transform, shape):
    """The output's ``shape`` changed as ``transform`` says ("same": unchanged)."""
    shape = tuple(shape)
    if transform == "same":
        return shape
    if transform == "0d":
        return ()
    if transform == "drop_last":
        return shape[:-1]
    if transform == "add_axis":
        return shape + (1,)
    if transform == "grow_first":
        return (shape[0] + 1,) + shape[1:] if shape else (2,)
    if transform == "empty":
        return (0,) + shape[1:] if shape else (0,)
    if transform == "reverse":
        return shape[::-1]
    raise ValueError(transform)


def grad_like(grad_spec, out):
    """The gradient a case passes to backward: ("auto", transform, dtype,
    kind, layout, seed) builds one of the output's shape (changed by
    ``transform``) and dtype (None: the output's); anything else is built as is."""
    if isinstance(grad_spec, tuple) and grad_spec and grad_spec[0] == "auto":
        _, transform, dtype, kind, layout, seed = grad_spec
        if dtype is None:
            dtype = out.dtype.name if isinstance(out, np.ndarray) else "float32"
        shape = np.shape(out) if isinstance(out, np.ndarray) else ()
        return Arr(grad_shape(transform, shape), dtype, kind, seed, layout).make()
    return make(grad_spec)


def grad_valid(grad_spec, out_shape):
    """Whether ``grad_spec`` makes a gradient backward must accept for an
    output of ``out_shape``."""
    if not (isinstance(grad_spec, tuple) and grad_spec and grad_spec[0] == "auto"):
        return False
    _, transform, dtype, _, layout, _ = grad_spec
    real = ("float32", "float64", "float16", "int8", "int32", "int64", "uint8", "bool")
    if dtype is not None and dtype not in real and not (dtype == "object" and layout == "list"):
        return False
    return grad_shape(transform, out_shape) == tuple(out_shape)


def run_steps(layer, x, grad_spec, steps, contiguous=False):
    """Call ``layer`` as ``steps`` says ("f" forward, "b" backward); return
    {"out", "grad_x", "grads"} of the last forward and backward.

    ``contiguous``: pass native C-contiguous copies of x and of the gradient.

    Garbage if a call changed an array it was given, or overwrote one it
    returned earlier (the caller still holds it: a layer reuses only
    arrays nobody else holds).
    """
    if contiguous and isinstance(x, (np.ndarray, list)):
        x = native(x)
    given, returned = [], []
    _keep(x, given)
    result = {"out": None, "grad_x": None, "grads": None, "backward": False}
    for step in steps:
        if step == "f":
            result["out"] = layer.forward(x)
            _keep(result["out"], returned)
        else:
            g = grad_like(grad_spec, result["out"])
            if contiguous and isinstance(g, (np.ndarray, list)):
                g = native(g)
            _keep(g, given)
            for p in layer.parameters():
                p.zero_grad()
            result["grad_x"] = layer.backward(g)
            _keep(result["grad_x"], returned)
            result["backward"] = True
            result["grads"] = [p.grad.copy() for p in layer.parameters()]
    for array, then in given:
        if not _same_values(array, then):
            raise Garbage(f"{type(layer).__name__}: a call changed an array it was given")
    for array, then in returned:
        if not _same_values(array, then):
            raise Garbage(f"{type(layer).__name__}: an array returned earlier was overwritten "
                          "by a later call")
    if isinstance(result["out"], np.ndarray):
        result["out"] = result["out"].copy()
    if isinstance(result["grad_x"], np.ndarray):
        result["grad_x"] = result["grad_x"].copy()
    return result


def unchanged(arrays, what):
    """Snapshot ``arrays`` (the ndarrays among them); calling the result
    raises Garbage if any changed since (``what`` names the call)."""
    kept = []
    for a in arrays:
        _keep(a, kept)

    def check():
        for array, then in kept:
            if not _same_values(array, then):
                raise Garbage(f"{what} changed an array it was given")
    return check


def _keep(a, where):
    if isinstance(a, np.ndarray) and a.dtype.kind in "biuf":
        where.append((a, a.copy()))


def _same_values(a, b):
    return np.array_equal(a, b, equal_nan=a.dtype.kind == "f")


def check_result(result, layer, x_shape, out_shape, out_dtype, finite, no_nan, what,
                 input_grad=None):
    """Shapes, dtypes and finiteness of a run's results (``input_grad``:
    whether backward returns the input gradient; default the layer's
    ``requires_input_grad``)."""
    if input_grad is None:
        input_grad = layer.requires_input_grad
    out = result["out"]
    if out is not None:
        check_array(out, f"{what}.forward output", out_shape, out_dtype, finite, no_nan)
    if result["backward"]:
        gx = result["grad_x"]
        if gx is not None or input_grad:
            check_array(gx, f"{what}.backward grad_input", x_shape, out_dtype, finite, no_nan)
        for p, g in zip(layer.parameters(), result["grads"]):
            check_array(g, f"{what}.backward {p.name or 'parameter'} grad", p.value.shape,
                        p.value.dtype, finite, no_nan)


def compare(a, b, what, exact=True):
    """Raise Garbage unless two runs' results agree (exactly, or within the
    fast/reference tolerance of their dtype)."""
    for key in ("out", "grad_x"):
        if (a[key] is None) != (b[key] is None):
            raise Garbage(f"{what}: {key} is None in one run only")
        if a[key] is not None:
            _close(a[key], b[key], f"{what} {key}", exact)
    if a["grads"] is not None:
        for i, (ga, gb) in enumerate(zip(a["grads"], b["grads"])):
            _close(ga, gb, f"{what} parameter {i} grad", exact)


def _close(x, y, what, exact):
    if exact:
        check_equal(x, y, what)
        return
    x, y = np.asarray(x), np.asarray(y)
    rtol = RTOL.get(np.dtype(x.dtype), 1e-4)
    scale = max(1.0, float(np.max(np.abs(y[np.isfinite(y)])))) if np.any(np.isfinite(y)) else 1.0
    check_equal(x, y, what, rtol=rtol, atol=rtol * scale)


def replicate(build, seed):
    """A fresh layer from ``build()``, with nnfast's generator seeded first, so
    that every replica draws the same initial weights and dropout masks."""
    nf.seed(seed)
    return build()


def cross_check(build, seed, x, grad_spec, steps, first, reference=True, exact_views=True):
    """The same calls on a C-contiguous copy of x (bit for bit, unless
    ``exact_views`` is False) and on the reference kernels (within tolerance)."""
    twin = run_steps(replicate(build, seed), x, grad_spec, steps, contiguous=True)
    compare(first, twin, "same values, C-contiguous copy", exact=exact_views)
    if reference:
        with nf.use_backend("reference"):
            ref = run_steps(replicate(build, seed), x, grad_spec, steps, contiguous=True)
        compare(first, ref, "fast vs reference kernels", exact=False)
