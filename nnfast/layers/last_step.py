"""LastStep: (n_samples, seq_len, features) -> (n_samples, features), the last time step."""
import numpy as np

from nnfast import _aligned
from nnfast._validation import as_float_array
from nnfast.layers.base import Layer


class LastStep(Layer):
    """The last time step of a batch-first sequence: ``x[:, -1]``.

    What follows a recurrent layer in a sequence classifier (``out[:, -1]``
    in PyTorch): RNN/LSTM/GRU return every step's output, the classifier
    reads the last one. It is the last step of the array, seq_len - 1, not
    each sequence's own last step when the recurrent layer was given
    ``lengths`` (for those, read the layer's ``last_state``).
    Float32/float64 keep their dtype; other numeric input is cast to float32.
    """

    def __init__(self):
        super().__init__()
        self._input_shape = None
        self._dtype = None
        self._config = {}

    def forward(self, x):
        """x : (n_samples, seq_len, features), seq_len >= 1 -> (n_samples, features)"""
        # refuses empty x (seq_len 0 has no last step); keeps a recurrent
        # layer's batch-first view of its states as it is (one step is read)
        x = as_float_array(x, "x", ndim=3, contiguous=False)
        self._input_shape = x.shape
        self._dtype = x.dtype.type
        out = x[:, -1].copy()      # never a view: x may be a recurrent layer's read-only output
        self._grad_output_shape = out.shape
        return out

    def backward(self, grad_output):
        """grad_output : (n_samples, features) -> grad_input (n_samples, seq_len,
        features), zero but at the last step. Its memory is time-major (a
        transposed (seq_len, n_samples, features) array), the layout the
        recurrent layers' backward reads, so that one before this layer
        takes it without a copy."""
        g = self._check_grad_output(grad_output, self._dtype)
        if not self.requires_input_grad:
            return None
        n, steps, features = self._input_shape
        grad_input = _aligned.zeros((steps, n, features), self._dtype).transpose(1, 0, 2)
        grad_input[:, -1] = g
        return grad_input
