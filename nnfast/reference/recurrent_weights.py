"""The weight, bias and input gradients of a recurrent layer in NumPy: the
twin of ``nnfast._kernels.recurrent_weights``."""


def recurrent_weights_backward(x, h, grad_x_gates, grad_h_gates, weight_ih, grad_input,
                               grad_weight_ih, grad_weight_hh, grad_bias_ih, grad_bias_hh):
    """Every step's rows at once: grad_weight_ih += grad_x_gates.T @ x,
    grad_weight_hh += grad_h_gates.T @ h, the bias gradients += the column
    sums, grad_input := grad_x_gates @ weight_ih (unless None). x (rows,
    input_size), h (rows, hidden), gate gradients (rows, gates)."""
    grad_weight_ih += grad_x_gates.T @ x
    grad_weight_hh += grad_h_gates.T @ h
    grad_bias_ih += grad_x_gates.sum(axis=0)
    grad_bias_hh += grad_h_gates.sum(axis=0)
    if grad_input is not None:
        grad_input[...] = grad_x_gates @ weight_ih
