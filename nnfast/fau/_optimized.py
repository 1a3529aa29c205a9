"""The ``optimizer`` property of the layers with weights."""
import copy

from nnfast.fau._checks import check_error_tensor


class OptimizedLayer:
    """Mixin: a settable ``optimizer``; when set, ``backward`` updates the
    weights with it. Layers with a separate ``bias`` give it its own deep
    copy (``_bias_optimizer``): momentum and Adam keep state per tensor."""

    _optimizer = None
    _bias_optimizer = None

    @property
    def optimizer(self):
        return self._optimizer

    @optimizer.setter
    def optimizer(self, optimizer):
        if optimizer is not None and not callable(getattr(optimizer, "calculate_update", None)):
            raise TypeError(f"optimizer must have a calculate_update(weight_tensor, gradient_tensor) "
                            f"method, got {type(optimizer).__name__}")
        self._optimizer = optimizer
        self._bias_optimizer = None if optimizer is None else copy.deepcopy(optimizer)

    def _backward_start(self, error_tensor, wrapped, name):
        """(error_tensor checked against the forward's output shape, the
        wrapped nnfast layer holding this layer's weights with its
        gradients zeroed): the start of the backward of a layer that keeps
        one (``wrapped``, None before the first forward) and loads it with
        ``_load_weights(dtype)``."""
        dtype = None if wrapped is None else wrapped.dtype
        e = check_error_tensor(error_tensor, self._error_shape, dtype, name)
        layer = self._load_weights(dtype)
        for p in layer.parameters():
            p.zero_grad()
        return e, layer
