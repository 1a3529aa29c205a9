"""Add of a constant: folded into the bias of the Linear or Conv2D before it
(MatMul + Add, or a convolution exported without its bias)."""
import numpy as np

from nnfast.layers import Conv2D, Linear
from nnfast.onnx.registry import imports


@imports("Add")
def import_add(node, ctx):
    const = [ctx.value(n) for n in node.input if n and n != ctx.current]
    if len(const) != 1:
        raise ctx.fail("Add needs one constant input to fold into a bias")
    c = np.asarray(const[0])
    last = ctx.layers[-1] if ctx.layers else None
    if isinstance(last, Linear):
        n, fits = last.out_features, c.ndim <= 2 and (c.ndim < 2 or c.shape[0] == 1)
    elif isinstance(last, Conv2D):
        n = last.out_channels
        trailing = c.shape[-2:] if c.ndim >= 3 else ()
        fits = (c.ndim <= 1 and c.size == 1) or (
            3 <= c.ndim <= 4 and all(d == 1 for d in trailing) and (c.ndim == 3 or c.shape[0] == 1))
    else:
        raise ctx.fail("an Add of a constant that does not follow a Linear or Conv2D has no nnfast "
                       "layer (nnfast folds such an Add into that layer's bias)")
    if not fits or c.size not in (1, n):
        raise ctx.fail(f"its constant of shape {c.shape} is not a bias of the {type(last).__name__} "
                       f"before it ({n} outputs)")
    if last.bias is None:   # a Conv without its bias input: give it one
        biased = Conv2D(**{**last.config(), "bias": True})
        biased.weight.value[...] = last.weight.value
        biased.bias.value[...] = 0
        ctx.layers[-1] = last = biased
    last.bias.value += ctx.weight(c, "constant").reshape(-1)
    return []
