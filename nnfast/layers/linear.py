"""Fully connected layer."""
import numpy as np

from nnfast import _backend, init
from nnfast._random import get_rng
from nnfast._validation import as_float_array, check_int, float_dtype, INT32_MAX
from nnfast._validation import check_allocation
from nnfast.layers.base import Layer, ReLUFusedForward, check_bias
from nnfast.parameter import Parameter, grads_to_accumulate


class Linear(ReLUFusedForward, Layer):
    """y = x @ weight.T + bias.

    Parameters
    ----------
    in_features, out_features : int >= 1
    bias : bool, default True
        False: no bias (``y = x @ weight.T``; ``bias`` is None and
        ``parameters()`` holds the weight only).
    dtype : np.float32 (default) or np.float64
        Parameters' dtype; input of another dtype is cast to it.
    rng : int, numpy.random.Generator or None
        For the initial weights; None draws from ``nf.seed``'s generator.
    weight_init, bias_init : str, float, callable or None
        How to initialize ``weight`` and ``bias``: a name ("he", "xavier",
        "uniform", "zeros", ... see ``nf.init.initialize``), a constant, or a
        callable ``f(shape, fan_in, fan_out, dtype, rng)``, with
        fan_in = in_features and fan_out = out_features. None (default):
        PyTorch's U(-1/sqrt(in_features), 1/sqrt(in_features)).

    Attributes
    ----------
    weight : Parameter of shape (out_features, in_features)
    bias : Parameter of shape (out_features,), or None when ``bias=False``

    By default weights and bias start as PyTorch's do:
    U(-1/sqrt(in_features), 1/sqrt(in_features)).
    """

    fuses_relu = True  # forward_relu

    def __init__(self, in_features, out_features, bias=True, dtype=np.float32, rng=None,
                 weight_init=None, bias_init=None):
        super().__init__()
        self.in_features = check_int(in_features, "in_features", 1, INT32_MAX)
        self.out_features = check_int(out_features, "out_features", 1, INT32_MAX)
        has_bias = check_bias(bias)
        if not has_bias and bias_init is not None:
            raise ValueError(f"bias_init needs bias=True, got bias=False and bias_init={bias_init!r}")
        self.dtype = float_dtype(dtype)
        check_allocation((self.out_features, self.in_features), self.dtype,
                         "weight (out_features, in_features)", copies=2)
        specs = {"weight_init": weight_init, "bias_init": bias_init}
        for key, spec in specs.items():
            specs[key] = "uniform" if spec is None else init.check_spec(spec, key)
        # One generator for both draws: an int seed turned into a generator per
        # draw would make the bias a copy of the weight's first values.
        rng = get_rng(rng)
        fans = (self.in_features, self.out_features)
        self.weight = Parameter(init.initialize(specs["weight_init"], (self.out_features, self.in_features),
                                                *fans, self.dtype, rng, "weight_init"), "weight")
        self.bias = None
        if has_bias:
            self.bias = Parameter(init.initialize(specs["bias_init"], (self.out_features,), *fans,
                                                  self.dtype, rng, "bias_init"), "bias")
        self._x = None
        self._config = {"in_features": self.in_features,
                        "out_features": self.out_features,
                        "dtype": np.dtype(self.dtype).name}
        if not has_bias:
            self._config["bias"] = False
        # Names and numbers are kept (a callable cannot be saved as JSON; the
        # saved weights restore the values anyway).
        for key, given in (("weight_init", weight_init), ("bias_init", bias_init)):
            if given is not None and isinstance(specs[key], (str, float)):
                self._config[key] = specs[key]

    def parameters(self):
        return [self.weight] if self.bias is None else [self.weight, self.bias]

    def _forward(self, x, relu):
        """forward: x : (n_samples, in_features) -> (n_samples, out_features),
        with a following ReLU applied in the bias pass if relu."""
        x = as_float_array(x, "x", self.dtype, ndim=2)
        if x.shape[1] != self.in_features:
            raise ValueError(f"x must have shape (n_samples, {self.in_features}) for {self!r}, "
                             f"got {x.shape}")
        if x.shape[0] * self.out_features > 1 << 24:    # a big output: refuse what cannot fit
            check_allocation((x.shape[0], self.out_features), self.dtype, f"the output for x of shape {x.shape}")
        out = self._new_array("out", (x.shape[0], self.out_features), self.dtype)
        bias = self.bias.value if self.bias is not None else np.zeros(self.out_features, self.dtype)
        _backend.kernels().linear_forward(x, self.weight.value, bias, out, relu)
        self._x = x
        self._grad_output_shape = out.shape
        return out

    def backward(self, grad_output):
        """grad_output : (n_samples, out_features) -> grad_input (n_samples,
        in_features), or None when ``requires_input_grad`` is False"""
        g = self._check_grad_output(grad_output, self.dtype)
        grad_input = (self._new_array("grad_input", self._x.shape, self.dtype)
                      if self.requires_input_grad else None)
        if self.bias is None:
            grad_weight, accumulate = self.weight._grad_to_accumulate()
            # the kernel's bias gradient, computed and dropped
            grad_bias = np.zeros(self.out_features, self.dtype)
        else:
            grad_weight, grad_bias, accumulate = grads_to_accumulate(self.weight, self.bias)
        _backend.kernels().linear_backward(self._x, self.weight.value, g, grad_input,
                                           grad_weight, grad_bias, accumulate)
        return grad_input
