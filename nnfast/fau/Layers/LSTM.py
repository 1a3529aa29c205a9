"""The course's LSTM: the batch axis is the time axis."""
from nnfast.fau._recurrent import CourseRecurrent
from nnfast.layers import LSTM as _LSTMLayer


class LSTM(CourseRecurrent):
    """Gates [i, f, g, o] = [x_t, h_{t-1}, 1] @ weights (sigmoid, sigmoid,
    tanh, sigmoid); c_t = f*c_{t-1} + i*g; h_t = o*tanh(c_t); y_t =
    sigmoid([h_t, 1] @ output_weights).

    Parameters
    ----------
    input_size, hidden_size, output_size : int >= 1

    Attributes
    ----------
    weights : ndarray of shape (input_size + hidden_size + 1, 4 * hidden_size)
        The gates' fully connected layer, columns in the order i, f, g, o
        (PyTorch's), bias row last.
    gradient_weights, output_weights, memorize (carries h and c),
    optimizer, initialize, calculate_regularization_loss : as ``RNN.RNN``.

    Runs on ``nnfast.layers.LSTM``, ``Linear`` and ``Sigmoid``.
    """

    _n_gates = 4
    _cell = _LSTMLayer
    _has_cell_state = True
