"""The ``optimizer`` property of the layers with weights."""
import copy


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
