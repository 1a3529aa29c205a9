"""Recurrent sequence kernels in NumPy: the twins of ``nnfast._kernels.recurrent``.

A whole sequence's recurrence per call, one step at a time: the recurrent
product ``h[t] @ weight_hh.T`` (backward ``grad_gates @ weight_hh``) and the
gate nonlinearities. Rows with ``t >= lengths[n]`` are past their sequence's
end: they keep their state, get zero gates, and in the backward pass ignore
``grad_output`` and pass the state gradient on. States are (n_steps + 1,
n_samples, hidden) with the initial state at index 0.
"""
import numpy as np


def _sigmoid(v):
    e = np.exp(-np.abs(v))
    return np.where(v >= 0, 1, e) / (1 + e)


def _active(lengths, step):
    """(n_samples, 1) bool: the rows still inside their sequence at ``step``."""
    return (step < np.asarray(lengths))[:, None]


def lstm_sequence_forward(x, weight_ih, bias, weight_hh, lengths, gates, h, c):
    """Gate order i, f, g, o: per step t, gates[t] := activations of
    x[t] @ weight_ih.T + bias + h[t] @ weight_hh.T, c[t+1] := f*c[t] + i*g,
    h[t+1] := o*tanh(c[t+1]). Shapes: x (n_steps, n_samples, input_size);
    weight_ih (4*hidden, input_size); bias (4*hidden,); gates (n_steps,
    n_samples, 4*hidden); h, c (n_steps + 1, n_samples, hidden)."""
    hidden = h.shape[2]
    x_proj = x @ weight_ih.T + bias
    for t in range(x_proj.shape[0]):
        active = _active(lengths, t)
        pre = x_proj[t] + h[t] @ weight_hh.T
        act = np.empty_like(pre)
        act[:, :2 * hidden] = _sigmoid(pre[:, :2 * hidden])
        act[:, 2 * hidden:3 * hidden] = np.tanh(pre[:, 2 * hidden:3 * hidden])
        act[:, 3 * hidden:] = _sigmoid(pre[:, 3 * hidden:])
        i, f, g, o = (act[:, k * hidden:(k + 1) * hidden] for k in range(4))
        c_new = f * c[t] + i * g
        h_new = o * np.tanh(c_new)
        gates[t] = np.where(active, act, 0)
        c[t + 1] = np.where(active, c_new, c[t])
        h[t + 1] = np.where(active, h_new, h[t])


def lstm_sequence_backward(gates, c, grad_output, weight_hh, lengths, grad_h, grad_c,
                           grad_gates):
    """Back through time: grad_gates[t] := pre-activation gradients; grad_c,
    grad_h := the gradients of c[t], h[t] (in: those of the final state).
    Rows past their end at t: grad_gates[t] 0, grad_h, grad_c kept."""
    hidden = grad_h.shape[1]
    for t in reversed(range(gates.shape[0])):
        active = _active(lengths, t)
        i, f, g, o = (gates[t][:, k * hidden:(k + 1) * hidden] for k in range(4))
        tc = np.tanh(c[t + 1])
        dh = grad_output[t] + grad_h
        dc = grad_c + dh * o * (1 - tc * tc)
        d = np.concatenate([dc * g * i * (1 - i), dc * c[t] * f * (1 - f),
                            dc * i * (1 - g * g), dh * tc * o * (1 - o)], axis=1)
        grad_gates[t] = np.where(active, d, 0)
        grad_c[...] = np.where(active, dc * f, grad_c)
        grad_h[...] = np.where(active, 0, grad_h) + grad_gates[t] @ weight_hh


def gru_sequence_forward(x_proj, weight_hh, bias_hh, lengths, gates, h):
    """Gate order r, z, n: per step, hp = h[t] @ weight_hh.T + bias_hh,
    gates[t] := (r, z, n, hp_n), h[t+1] := (1 - z)*n + z*h[t]. x_proj
    (n_steps, n_samples, 3*hidden), gates (n_steps, n_samples, 4*hidden)."""
    hidden = h.shape[2]
    for t in range(x_proj.shape[0]):
        active = _active(lengths, t)
        hp = h[t] @ weight_hh.T + bias_hh
        rz = _sigmoid(x_proj[t][:, :2 * hidden] + hp[:, :2 * hidden])
        r, z = rz[:, :hidden], rz[:, hidden:]
        hn = hp[:, 2 * hidden:]
        n = np.tanh(x_proj[t][:, 2 * hidden:] + r * hn)
        gates[t] = np.where(active, np.concatenate([r, z, n, hn], axis=1), 0)
        h[t + 1] = np.where(active, (1 - z) * n + z * h[t], h[t])


def gru_sequence_backward(gates, h, grad_output, weight_hh, lengths, grad_h, grad_x_gates,
                          grad_h_gates):
    """Back through time: grad_x_gates[t], grad_h_gates[t] := gradients of
    x_proj[t] and of h[t] @ weight_hh.T + bias_hh; grad_h := the gradient of
    h[t] (rows past their end: gate gradients 0, grad_h kept)."""
    hidden = grad_h.shape[1]
    for t in reversed(range(gates.shape[0])):
        active = _active(lengths, t)
        r, z, n, hn = (gates[t][:, k * hidden:(k + 1) * hidden] for k in range(4))
        dh = grad_output[t] + grad_h
        dn = dh * (1 - z) * (1 - n * n)
        dr = dn * hn * r * (1 - r)
        dz = dh * (h[t] - n) * z * (1 - z)
        grad_x_gates[t] = np.where(active, np.concatenate([dr, dz, dn], axis=1), 0)
        grad_h_gates[t] = np.where(active, np.concatenate([dr, dz, dn * r], axis=1), 0)
        grad_h[...] = np.where(active, dh * z, grad_h) + grad_h_gates[t] @ weight_hh


def rnn_sequence_forward(x_proj, weight_hh, lengths, h, relu=False):
    """Per step, h[t+1] := tanh(x_proj[t] + h[t] @ weight_hh.T) (relu:
    max(., 0)); h[t] past the end. x_proj (n_steps, n_samples, hidden)."""
    for t in range(x_proj.shape[0]):
        v = x_proj[t] + h[t] @ weight_hh.T
        v = np.where(v < 0, 0, v) if relu else np.tanh(v)
        h[t + 1] = np.where(_active(lengths, t), v, h[t])


def rnn_sequence_backward(h, grad_output, weight_hh, lengths, grad_h, grad_gates, relu=False):
    """Back through time: grad_gates[t] := (grad_output[t] + grad_h) * act';
    grad_h := the gradient of h[t] (rows past their end: grad_gates[t] 0,
    grad_h kept)."""
    for t in reversed(range(grad_output.shape[0])):
        active = _active(lengths, t)
        d = grad_output[t] + grad_h
        d = np.where(h[t + 1] > 0, d, 0) if relu else d * (1 - h[t + 1] * h[t + 1])
        grad_gates[t] = np.where(active, d, 0)
        grad_h[...] = np.where(active, 0, grad_h) + grad_gates[t] @ weight_hh
