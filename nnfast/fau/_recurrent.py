"""What the course's RNN and LSTM share: an Elman/LSTM cell over the time
axis (the course's batch axis) on ``nnfast.layers.RNN``/``LSTM``, then a
fully connected output layer and a sigmoid (``nnfast.layers.Linear``,
``Sigmoid``)."""
import numpy as np

from nnfast._validation import INT32_MAX, check_bool, check_int
from nnfast.fau._checks import as_parameter, as_tensor, check_error_tensor, check_initialized
from nnfast.fau._optimized import OptimizedLayer
from nnfast.fau.Layers.Base import BaseLayer
from nnfast.layers import Linear, Sigmoid


class CourseRecurrent(OptimizedLayer, BaseLayer):
    """Base of ``Layers.RNN.RNN`` and ``Layers.LSTM.LSTM``.

    Subclasses set ``_n_gates`` and ``_cell`` (the nnfast.layers class).

    Attributes
    ----------
    weights : ndarray of shape (input_size + hidden_size + 1, gates * hidden_size)
        The cell's fully connected layer on [x_t, h_{t-1}, 1]: rows for the
        input, then the previous hidden state, then the bias.
    gradient_weights : ndarray of the weights' shape, set by ``backward``
        (summed over the time steps).
    memorize : bool, default False
        True: each forward starts from the state the previous one ended
        with; False: from zeros.
    optimizer : updates ``weights`` and (a deep copy) the output layer's.
    """

    _n_gates = 1
    _cell = None
    _has_cell_state = False

    def __init__(self, input_size, hidden_size, output_size):
        super().__init__()
        self.trainable = True
        self.input_size = check_int(input_size, "input_size", 1, INT32_MAX)
        self.hidden_size = check_int(hidden_size, "hidden_size", 1, INT32_MAX)
        self.output_size = check_int(output_size, "output_size", 1, INT32_MAX)
        G, H = self._n_gates * self.hidden_size, self.hidden_size
        self.weights = np.random.uniform(0.0, 1.0, (self.input_size + H + 1, G))
        self.output_weights = np.random.uniform(0.0, 1.0, (H + 1, self.output_size))
        self.gradient_weights = None
        self.gradient_output_weights = None
        self._memorize = False
        self._state = None          # (h, c) the last forward ended with
        self._layers = None         # (cell, linear, sigmoid) of the last forward
        self._error_shape = None

    @property
    def memorize(self):
        return self._memorize

    @memorize.setter
    def memorize(self, value):
        self._memorize = check_bool(value, "memorize")

    @property
    def hidden_state(self):
        """(hidden_size,): the hidden state the last forward ended with (zeros before)."""
        if self._state is None:
            return np.zeros(self.hidden_size)
        return self._state[0].reshape(-1).copy()

    def initialize(self, weights_initializer, bias_initializer):
        """The cell's weights (fan_in = input_size + hidden_size, fan_out =
        gates * hidden_size) and bias row, then the output layer's (fan_in =
        hidden_size, fan_out = output_size)."""
        n_in, G, H, O = (self.input_size + self.hidden_size, self._n_gates * self.hidden_size,
                         self.hidden_size, self.output_size)
        w = weights_initializer.initialize((n_in, G), n_in, G)
        b = bias_initializer.initialize((1, G), 1, G)
        self.weights = np.concatenate([check_initialized(w, "weights_initializer", (n_in, G)),
                                       check_initialized(b, "bias_initializer", (1, G))])
        w = weights_initializer.initialize((H, O), H, O)
        b = bias_initializer.initialize((1, O), 1, O)
        self.output_weights = np.concatenate([check_initialized(w, "weights_initializer", (H, O)),
                                              check_initialized(b, "bias_initializer", (1, O))])

    def calculate_regularization_loss(self):
        """The optimizer's regularizer's norm of ``weights`` (0 without one)."""
        regularizer = getattr(self._optimizer, "regularizer", None)
        if regularizer is None:
            return 0.0
        return regularizer.norm(self.weights)

    def _load(self, dtype=None):
        """The three nnfast layers with ``weights`` and ``output_weights``
        (checked) copied in, in the weights' dtype (or ``dtype``)."""
        I, H, O = self.input_size, self.hidden_size, self.output_size
        G = self._n_gates * H
        w = as_parameter(self.weights, "weights", (I + H + 1, G), dtype)
        v = as_parameter(self.output_weights, "output_weights", (H + 1, O), w.dtype.type)
        layers = self._layers
        if layers is None or layers[0].dtype != w.dtype.type:
            # initial values are overwritten: rng=0 keeps nf.seed's stream untouched
            layers = (self._cell(I, H, dtype=w.dtype.type, rng=0),
                      Linear(H, O, dtype=w.dtype.type, rng=0), Sigmoid())
        cell, linear, _ = layers
        cell.weight_ih_l0.value[...] = w[:I].T
        cell.weight_hh_l0.value[...] = w[I:I + H].T
        cell.bias_ih_l0.value[...] = w[-1]
        cell.bias_hh_l0.value[...] = 0
        linear.weight.value[...] = v[:-1].T
        linear.bias.value[...] = v[-1]
        return layers

    def forward(self, input_tensor):
        """input_tensor : (time, input_size) -> (time, output_size)"""
        layers = self._load()
        cell, linear, sigmoid = layers
        x = as_tensor(input_tensor, "input_tensor", cell.dtype, ndim=2)
        if x.shape[1] != self.input_size:
            raise ValueError(f"input_tensor must have shape (time, {self.input_size}), got {x.shape}")
        h0 = None
        if self._memorize and self._state is not None:
            h0 = tuple(s.astype(cell.dtype) for s in self._state)
            h0 = h0 if self._has_cell_state else h0[0]
        hidden = cell.forward(x[None], h0=h0)[0]
        last = cell.last_state if self._has_cell_state else (cell.last_state,)
        self._state = tuple(s.copy() for s in last)
        out = sigmoid.forward(linear.forward(hidden))
        self._layers = layers
        self._error_shape = out.shape
        return out

    def backward(self, error_tensor):
        """error_tensor : (time, output_size) -> (time, input_size), back
        through time; the weights are updated after (the error uses the ones
        of the forward)."""
        dtype = None if self._layers is None else self._layers[0].dtype
        e = check_error_tensor(error_tensor, self._error_shape, dtype, type(self).__name__)
        cell, linear, sigmoid = self._layers
        for p in cell.parameters() + linear.parameters():
            p.zero_grad()
        grad_hidden = linear.backward(sigmoid.backward(e))
        error_below = cell.backward(grad_hidden[None])[0]
        self.gradient_weights = np.concatenate([cell.weight_ih_l0.grad.T, cell.weight_hh_l0.grad.T,
                                                cell.bias_ih_l0.grad[None, :]])
        self.gradient_output_weights = np.concatenate([linear.weight.grad.T,
                                                       linear.bias.grad[None, :]])
        if self._optimizer is not None:
            self.weights = self._optimizer.calculate_update(self.weights, self.gradient_weights)
            self.output_weights = self._bias_optimizer.calculate_update(
                self.output_weights, self.gradient_output_weights)
        return error_below

    def __repr__(self):
        return f"{type(self).__name__}({self.input_size}, {self.hidden_size}, {self.output_size})"
