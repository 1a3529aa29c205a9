"""Recurrent cell kernels in NumPy: the twins of ``nnfast._kernels.recurrent``.

One time step's gate nonlinearities; rows with ``step >= lengths[n]`` are
past their sequence's end: they keep their state, get zero gates, and in
the backward pass ignore ``grad_output`` and pass the state gradient on.
"""
import numpy as np


def _sigmoid(v):
    e = np.exp(-np.abs(v))
    return np.where(v >= 0, 1, e) / (1 + e)


def _active(lengths, step):
    """(n_samples, 1) bool: the rows still inside their sequence at ``step``."""
    return (step < np.asarray(lengths))[:, None]


def rnn_cell_forward(x_proj, h_proj, h_prev, lengths, step, h, relu=False):
    """h := tanh(x_proj + h_proj) (relu: max(., 0)); h_prev past the end.
    Shapes (n_samples, hidden); see nnfast._kernels.recurrent."""
    v = x_proj + h_proj
    v = np.where(v < 0, 0, v) if relu else np.tanh(v)
    h[...] = np.where(_active(lengths, step), v, h_prev)


def rnn_cell_backward(h, grad_output, lengths, step, grad_h, grad_gates, relu=False):
    """grad_gates := (grad_output + grad_h) * act'; grad_h := 0 (rows past
    their end: grad_gates 0, grad_h kept)."""
    active = _active(lengths, step)
    d = grad_output + grad_h
    d = np.where(h > 0, d, 0) if relu else d * (1 - h * h)
    grad_gates[...] = np.where(active, d, 0)
    grad_h[...] = np.where(active, 0, grad_h)


def lstm_gates_forward(x_proj, h_proj, h_prev, c_prev, lengths, step, gates, h, c):
    """Gate order i, f, g, o: gates := activations, c := f*c_prev + i*g,
    h := o*tanh(c). Shapes: gates (n_samples, 4*hidden), the rest
    (n_samples, hidden)."""
    active = _active(lengths, step)
    hidden = h.shape[1]
    pre = x_proj + h_proj
    act = np.empty_like(pre)
    act[:, :2 * hidden] = _sigmoid(pre[:, :2 * hidden])
    act[:, 2 * hidden:3 * hidden] = np.tanh(pre[:, 2 * hidden:3 * hidden])
    act[:, 3 * hidden:] = _sigmoid(pre[:, 3 * hidden:])
    i, f, g, o = (act[:, k * hidden:(k + 1) * hidden] for k in range(4))
    c_new = f * c_prev + i * g
    h_new = o * np.tanh(c_new)
    gates[...] = np.where(active, act, 0)
    c[...] = np.where(active, c_new, c_prev)
    h[...] = np.where(active, h_new, h_prev)


def lstm_gates_backward(gates, c_prev, c, grad_output, lengths, step, grad_h, grad_c,
                        grad_gates):
    """grad_gates := pre-activation gradients; grad_c := gradient of c_prev;
    grad_h := 0 (rows past their end: grad_gates 0, grad_h, grad_c kept)."""
    active = _active(lengths, step)
    hidden = c.shape[1]
    i, f, g, o = (gates[:, k * hidden:(k + 1) * hidden] for k in range(4))
    tc = np.tanh(c)
    dh = grad_output + grad_h
    dc = grad_c + dh * o * (1 - tc * tc)
    d = np.concatenate([dc * g * i * (1 - i), dc * c_prev * f * (1 - f),
                        dc * i * (1 - g * g), dh * tc * o * (1 - o)], axis=1)
    grad_gates[...] = np.where(active, d, 0)
    grad_c[...] = np.where(active, dc * f, grad_c)
    grad_h[...] = np.where(active, 0, grad_h)


def gru_gates_forward(x_proj, h_proj, bias_hh, h_prev, lengths, step, gates, h):
    """Gate order r, z, n: gates := (r, z, n, h_proj_n + bias_hh_n),
    h := (1 - z)*n + z*h_prev. x_proj, h_proj (n_samples, 3*hidden)."""
    active = _active(lengths, step)
    hidden = h.shape[1]
    hp = h_proj + bias_hh
    rz = _sigmoid(x_proj[:, :2 * hidden] + hp[:, :2 * hidden])
    r, z = rz[:, :hidden], rz[:, hidden:]
    hn = hp[:, 2 * hidden:]
    n = np.tanh(x_proj[:, 2 * hidden:] + r * hn)
    gates[...] = np.where(active, np.concatenate([r, z, n, hn], axis=1), 0)
    h[...] = np.where(active, (1 - z) * n + z * h_prev, h_prev)


def gru_gates_backward(gates, h_prev, grad_output, lengths, step, grad_h, grad_x_gates,
                       grad_h_gates):
    """grad_x_gates, grad_h_gates := gradients of x_proj and of h_proj +
    bias_hh; grad_h := dh*z (rows past their end: gate gradients 0, grad_h
    kept)."""
    active = _active(lengths, step)
    hidden = h_prev.shape[1]
    r, z, n, hn = (gates[:, k * hidden:(k + 1) * hidden] for k in range(4))
    dh = grad_output + grad_h
    dn = dh * (1 - z) * (1 - n * n)
    dr = dn * hn * r * (1 - r)
    dz = dh * (h_prev - n) * z * (1 - z)
    grad_x_gates[...] = np.where(active, np.concatenate([dr, dz, dn], axis=1), 0)
    grad_h_gates[...] = np.where(active, np.concatenate([dr, dz, dn * r], axis=1), 0)
    grad_h[...] = np.where(active, dh * z, grad_h)
