"""The course's Elman RNN: the batch axis is the time axis."""
from nnfast.fau._recurrent import CourseRecurrent
from nnfast.layers import RNN as _ElmanLayer


class RNN(CourseRecurrent):
    """h_t = tanh([x_t, h_{t-1}, 1] @ weights); y_t = sigmoid([h_t, 1] @
    output_weights).

    Parameters
    ----------
    input_size, hidden_size, output_size : int >= 1

    Attributes
    ----------
    weights : ndarray of shape (input_size + hidden_size + 1, hidden_size)
        The hidden fully connected layer's weights, bias row last.
    gradient_weights : ndarray of the weights' shape (after ``backward``)
    output_weights : ndarray of shape (hidden_size + 1, output_size)
    memorize : bool, default False
        Carry the hidden state over to the next sequence (forward call).
    optimizer, initialize(weights_initializer, bias_initializer),
    calculate_regularization_loss() : as the course's trainable layers.

    Runs on ``nnfast.layers.RNN`` (one sequence of ``time`` steps),
    ``Linear`` and ``Sigmoid``.
    """

    _n_gates = 1
    _cell = _ElmanLayer
