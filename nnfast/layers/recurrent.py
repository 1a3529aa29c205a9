"""Recurrent layers: RNN (Elman), LSTM and GRU, as PyTorch's.

Parameters have PyTorch's names, gate order and layouts (``weight_ih_l0``
(gates*hidden, input), ``weight_hh_l0`` (gates*hidden, hidden), ``bias_ih_l0``,
``bias_hh_l0``, then ``_l1``...), so weights copy from ``torch.nn.LSTM`` and
the others as plain arrays.

How a layer runs: one kernel call runs the whole recurrence
(``lstm_sequence_forward`` and its kin, nnfast._kernels.recurrent): each
thread takes a block of batch rows through every step, one GEMM ``h @
W_hh.T`` and one fused pass over the gates per step. The GRU's and the
RNN's input projection of all time steps is one GEMM with the bias before
it (``linear_forward`` on the (T*N, input) time-major input); the LSTM's is
inside its step (each thread projects its own rows, on AVX-512 in the same
register tiles as the recurrent GEMM). The backward pass is one such call
back through time with the gate activations kept from the forward; the
weight, bias and input gradients of all steps then come from one threaded
call of GEMMs over all T*N rows (``recurrent_weights_backward``).

Where the time goes (``bench/lstm_breakdown.py --threads 1,2``; lstm-seq:
batch 32, 50 steps, input 32, hidden 128; a 2-core Xeon with AVX-512, each
kernel alone, wall time): a training step 5.5 ms on 1 thread, 3.1 on 2, of
which the forward with its input projection 1.8 / 1.0 (step GEMMs 1.5 /
0.75, the gates computed in the GEMM's tiles), the backward 1.4 / 0.7 (step
GEMMs 1.3 / 0.55), the weight and bias gradients 1.8 / 0.8, and 0.4 / 0.55
ms Python, copies, the Linear layer, loss and SGD (on 2 threads this rest
includes what the kernels lose inside a step to caches the other kernels
left). The step GEMMs and the weight gradients run in nnfast's own register-tile
GEMM (``_kernels/_small_gemm``) where the CPU has AVX-512F or AVX2, BLAS elsewhere;
every buffer they read is 64-byte aligned (nnfast._aligned).
"""

import numpy as np

from nnfast import _aligned, _backend
from nnfast._random import get_rng
from nnfast._validation import as_float_array, check_choice, check_int, float_dtype, INT32_MAX
from nnfast.layers.base import Layer
from nnfast.parameter import Parameter


def _check_lengths(lengths, n_samples, n_steps):
    """``lengths`` as an int64 array (n_samples,) of values in [1, n_steps]."""
    if isinstance(lengths, (str, bytes, dict, set)) or lengths is None:
        raise TypeError(f"lengths must be a sequence of ints, got {type(lengths).__name__}")
    try:
        arr = np.asarray(lengths)
    except (TypeError, ValueError) as e:
        raise TypeError(f"lengths must be a sequence of ints, got {type(lengths).__name__} "
                        f"({e})") from None
    if arr.dtype.kind not in "iu":
        raise TypeError(f"lengths must hold ints, got dtype {arr.dtype}")
    if arr.shape != (n_samples,):
        raise ValueError(f"lengths must have shape ({n_samples},) (one length per sequence of "
                         f"x), got shape {arr.shape}")
    if arr.size and (arr.min() < 1 or arr.max() > n_steps):
        raise ValueError(f"lengths must be in [1, {n_steps}] (x's sequence length), got values "
                         f"from {arr.min()} to {arr.max()}")
    return np.ascontiguousarray(arr, dtype=np.int64)


class _Recurrent(Layer):
    """What RNN, LSTM and GRU share: parameters, checks, the layer stack.

    Subclasses set ``_n_gates`` and implement ``_layer_forward`` and
    ``_layer_backward`` for one layer of the stack. The constructor is LSTM's
    and GRU's (RNN adds ``nonlinearity``).
    """

    _n_gates = 1
    _has_cell = False

    def __init__(self, input_size, hidden_size, batch_first=True, num_layers=1,
                 dtype=np.float32, rng=None):
        super().__init__()
        self.input_size = check_int(input_size, "input_size", 1, INT32_MAX)
        self.hidden_size = check_int(hidden_size, "hidden_size", 1, INT32_MAX)
        self.num_layers = check_int(num_layers, "num_layers", 1, 1024)
        if not isinstance(batch_first, (bool, np.bool_)):
            raise TypeError(f"batch_first must be True or False, got "
                            f"{type(batch_first).__name__} {batch_first!r}")
        if not batch_first:
            raise ValueError("batch_first=False is not supported: x must be (n_samples, "
                             "seq_len, input_size); pass x.transpose(1, 0, 2) of a "
                             "(seq_len, n_samples, input_size) array")
        self.batch_first = True
        self.dtype = float_dtype(dtype)
        # PyTorch's initialization: every parameter U(-1/sqrt(hidden), 1/sqrt(hidden))
        rng = get_rng(rng)
        bound = 1.0 / np.sqrt(self.hidden_size)
        G, H = self._n_gates * self.hidden_size, self.hidden_size
        self._params = []
        for layer in range(self.num_layers):
            size_in = self.input_size if layer == 0 else H
            for name, shape, layout in (
                    ("weight_ih", (G, size_in), "(gates*hidden_size, input_size)"),
                    ("weight_hh", (G, H), "(gates*hidden_size, hidden_size)"),
                    ("bias_ih", (G,), "(gates*hidden_size,)"),
                    ("bias_hh", (G,), "(gates*hidden_size,)")):
                full = f"{name}_l{layer}"
                p = Parameter(rng.uniform(-bound, bound, shape).astype(self.dtype), full, layout)
                setattr(self, full, p)
                self._params.append(p)
        self.last_state = None
        self.grad_h0 = None
        self._cache = None
        self._config = {"input_size": self.input_size, "hidden_size": self.hidden_size,
                        "num_layers": self.num_layers, "dtype": np.dtype(self.dtype).name}

    def parameters(self):
        """Per layer: weight_ih, weight_hh, bias_ih, bias_hh (torch's order)."""
        return list(self._params)

    def _layer_params(self, layer):
        return self._params[4 * layer:4 * layer + 4]

    # -- checks -----------------------------------------------------------
    def _check_x(self, x):
        x = as_float_array(x, "x", self.dtype, ndim=3)
        if x.shape[2] != self.input_size:
            raise ValueError(f"x must have shape (n_samples, seq_len, {self.input_size}) for "
                             f"{self!r}, got {x.shape}")
        return x

    def _check_state(self, h, name, n_samples):
        h = as_float_array(h, name, self.dtype, ndim=3)
        expected = (self.num_layers, n_samples, self.hidden_size)
        if h.shape != expected:
            raise ValueError(f"{name} must have shape (num_layers, n_samples, hidden_size) = "
                             f"{expected}, got {h.shape}")
        return h

    def _initial_state(self, h0, n_samples):
        """(h0, c0) as (num_layers, n, hidden) arrays (c0 None without a cell)."""
        if h0 is None:
            zeros = np.zeros((self.num_layers, n_samples, self.hidden_size), self.dtype)
            return zeros, (zeros.copy() if self._has_cell else None)
        if self._has_cell:
            if isinstance(h0, (tuple, list)):
                if len(h0) != 2:
                    raise ValueError(f"h0 must be an array or a pair (h0, c0), got a "
                                     f"{type(h0).__name__} of {len(h0)}")
                return (self._check_state(h0[0], "h0", n_samples),
                        self._check_state(h0[1], "c0", n_samples))
            return (self._check_state(h0, "h0", n_samples),
                    np.zeros((self.num_layers, n_samples, self.hidden_size), self.dtype))
        return self._check_state(h0, "h0", n_samples), None

    # -- the stack ------------------------------------------------------------
    def forward(self, x, h0=None, lengths=None):
        """Run the sequence ``x`` through the layers.

        Parameters
        ----------
        x : ndarray of shape (n_samples, seq_len, input_size)
        h0 : ndarray of shape (num_layers, n_samples, hidden_size), or None
            (zeros). LSTM: a pair (h0, c0) of such arrays, or h0 alone (c0
            zeros).
        lengths : sequence of n_samples ints in [1, seq_len], or None
            Each sequence's own length (PyTorch's packed sequences): the
            output past a sequence's end is zero, the gradient arriving
            there is ignored, and ``last_state`` holds the state at each
            sequence's own last step.

        Returns
        -------
        out : ndarray of shape (n_samples, seq_len, hidden_size)
            The last layer's hidden state at every step: a read-only,
            batch-first view of the layer's time-major states (copy it to
            change it). The final state is in ``last_state``:
            (num_layers, n_samples, hidden_size), for LSTM a pair (h, c).
        """
        x = self._check_x(x)
        n, steps = x.shape[0], x.shape[1]
        given_lengths = lengths is not None
        lengths = (_check_lengths(lengths, n, steps) if given_lengths
                   else np.full(n, steps, np.int64))
        h0_arr, c0_arr = self._initial_state(h0, n)
        k = _backend.kernels()
        inp = _aligned.copy(x.transpose(1, 0, 2))      # (T, N, I), time-major
        mask = (np.arange(steps)[:, None] < lengths[None, :])[:, :, None] if given_lengths else None
        caches, last_h, last_c = [], [], []
        for layer in range(self.num_layers):
            cache = self._layer_forward(k, layer, inp, h0_arr[layer],
                                        None if c0_arr is None else c0_arr[layer], lengths)
            cache["inp"] = inp
            caches.append(cache)
            seq = cache["h"][1:]
            last_h.append(cache["h"][steps])
            if self._has_cell:
                last_c.append(cache["c"][steps])
            # past a sequence's end the output is zero (the next layer's
            # input there is never read: its rows are past their end too)
            inp = np.where(mask, seq, 0) if given_lengths else seq   # 0, even where h is NaN
        # batch-first as a view of the time-major states, as PyTorch's
        # batch_first output; read-only, since the states are the backward
        # pass's (a copy cost 50 us of lstm-seq's 4 ms step)
        out = inp.transpose(1, 0, 2)
        out.flags.writeable = False
        h_n = np.stack(last_h)
        self.last_state = (h_n, np.stack(last_c)) if self._has_cell else h_n
        self._cache = {"layers": caches, "lengths": lengths, "h0_given": h0 is not None,
                       "x_shape": x.shape}
        self.grad_h0 = None
        self._grad_output_shape = out.shape
        return out

    def backward(self, grad_output):
        """grad_output : (n_samples, seq_len, hidden_size) -> grad_input
        (n_samples, seq_len, input_size), or None when ``requires_input_grad``
        is False. Accumulates every parameter's gradient; sets ``grad_h0``
        ((num_layers, n_samples, hidden_size), LSTM a pair) when the
        forward was given ``h0``."""
        g = self._check_grad_output(grad_output, self.dtype, contiguous=False)
        k = _backend.kernels()
        cache = self._cache
        # (T, N, H); no copy when it came time-major (from LastStep, say)
        grad = np.ascontiguousarray(g.transpose(1, 0, 2))
        grad_h0, grad_c0 = [None] * self.num_layers, [None] * self.num_layers
        for layer in reversed(range(self.num_layers)):
            need_input = layer > 0 or self.requires_input_grad
            grad, grad_h0[layer], grad_c0[layer] = self._layer_backward(
                k, layer, cache["layers"][layer], grad, cache["lengths"], need_input)
        if cache["h0_given"]:
            h = np.stack(grad_h0)
            self.grad_h0 = (h, np.stack(grad_c0)) if self._has_cell else h
        if grad is None:
            return None
        return np.ascontiguousarray(grad.transpose(1, 0, 2))

    # -- shared pieces of one layer -------------------------------------------
    def _input_projection(self, k, inp, weight, bias):
        """(T, N, G) := inp @ weight.T + bias, one GEMM over every step."""
        steps, n = inp.shape[0], inp.shape[1]
        proj = _aligned.empty((steps, n, weight.shape[0]), self.dtype)
        k.linear_forward(inp.reshape(steps * n, -1), weight, bias,
                         proj.reshape(steps * n, -1), False)
        return proj

    def _states_from(self, state0, steps):
        """(steps + 1, n_samples, hidden_size) buffer of a layer's states with
        ``state0`` (n_samples, hidden_size) as step 0."""
        states = _aligned.empty((steps + 1,) + state0.shape, self.dtype)
        states[0] = state0
        return states

    def _grad_buffers(self, grad, n_gate_grads=1):
        """For one layer's backward of ``grad`` (T, N, hidden): the state
        gradient (N, hidden), zeros, and ``n_gate_grads`` gate gradient
        buffers (T, N, gates*hidden)."""
        steps, n = grad.shape[0], grad.shape[1]
        width = self._n_gates * self.hidden_size
        return (_aligned.zeros((n, self.hidden_size), self.dtype),
                *(_aligned.empty((steps, n, width), self.dtype) for _ in range(n_gate_grads)))

    def _weight_grads(self, k, layer, inp, h_prev_all, grad_x_gates, grad_h_gates, need_input):
        """Accumulate the layer's parameter gradients from the gate gradients
        of every step, and return the input gradient (T, N, I) or None: GEMMs
        over all T*N rows at once (``recurrent_weights_backward``)."""
        w_ih, w_hh, b_ih, b_hh = self._layer_params(layer)
        steps, n = inp.shape[0], inp.shape[1]
        rows = steps * n
        grad_input = np.empty(inp.shape, self.dtype) if need_input else None
        k.recurrent_weights_backward(
            inp.reshape(rows, -1), h_prev_all.reshape(rows, -1), grad_x_gates.reshape(rows, -1),
            grad_h_gates.reshape(rows, -1), w_ih.value,
            None if grad_input is None else grad_input.reshape(rows, -1),
            w_ih.grad, w_hh.grad, b_ih.grad, b_hh.grad)
        return grad_input


class RNN(_Recurrent):
    """Elman RNN: h_t = act(x_t @ W_ih.T + b_ih + h_{t-1} @ W_hh.T + b_hh).

    Parameters
    ----------
    input_size, hidden_size : int >= 1
    nonlinearity : "tanh" (default) or "relu"
    num_layers : int >= 1
    batch_first : True (x is (n_samples, seq_len, input_size)); False is refused
    dtype : np.float32 (default) or np.float64
    rng : int, numpy.random.Generator or None
        For the initial weights, U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))
        as PyTorch's.

    Attributes
    ----------
    weight_ih_l{k} : Parameter (hidden_size, input_size) (k = 0) or (hidden_size, hidden_size)
    weight_hh_l{k} : Parameter (hidden_size, hidden_size)
    bias_ih_l{k}, bias_hh_l{k} : Parameter (hidden_size,)
    last_state : ndarray (num_layers, n_samples, hidden_size) after forward
    grad_h0 : ndarray (num_layers, n_samples, hidden_size) after backward, if h0 was given
    """

    _n_gates = 1

    def __init__(self, input_size, hidden_size, nonlinearity="tanh", batch_first=True,
                 num_layers=1, dtype=np.float32, rng=None):
        self.nonlinearity = check_choice(nonlinearity, "nonlinearity", ("tanh", "relu"))
        super().__init__(input_size, hidden_size, batch_first, num_layers, dtype, rng)
        self._config["nonlinearity"] = self.nonlinearity

    def _layer_forward(self, k, layer, inp, h0, c0, lengths):
        w_ih, w_hh, b_ih, b_hh = self._layer_params(layer)
        x_proj = self._input_projection(k, inp, w_ih.value, b_ih.value + b_hh.value)
        h = self._states_from(h0, inp.shape[0])
        k.rnn_sequence_forward(x_proj, w_hh.value, lengths, h, self.nonlinearity == "relu")
        return {"h": h}

    def _layer_backward(self, k, layer, cache, grad, lengths, need_input):
        w_hh = self._layer_params(layer)[1]
        h = cache["h"]
        grad_h, grad_gates = self._grad_buffers(grad)
        k.rnn_sequence_backward(h, grad, w_hh.value, lengths, grad_h, grad_gates,
                                self.nonlinearity == "relu")
        grad_input = self._weight_grads(k, layer, cache["inp"], h[:-1], grad_gates, grad_gates,
                                        need_input)
        return grad_input, grad_h, None


class LSTM(_Recurrent):
    """Long short-term memory, gate order i, f, g, o (PyTorch's).

    i, f, o = sigmoid(.), g = tanh(.) of x_t @ W_ih.T + b_ih + h_{t-1} @ W_hh.T
    + b_hh (their quarters); c_t = f*c_{t-1} + i*g; h_t = o*tanh(c_t).

    Parameters as ``RNN`` without ``nonlinearity``; weights (4*hidden_size, .),
    biases (4*hidden_size,). ``forward``'s ``h0`` may be a pair (h0, c0);
    ``last_state`` and ``grad_h0`` are pairs (h, c).
    """

    _n_gates = 4
    _has_cell = True

    def _layer_forward(self, k, layer, inp, h0, c0, lengths):
        w_ih, w_hh, b_ih, b_hh = self._layer_params(layer)
        steps, n = inp.shape[0], inp.shape[1]
        h, c = self._states_from(h0, steps), self._states_from(c0, steps)
        gates = _aligned.empty((steps, n, 4 * self.hidden_size), self.dtype)   # i, f, g, o
        # the input projection inside the recurrence (the kernel's docstring)
        k.lstm_sequence_forward(inp, w_ih.value, b_ih.value + b_hh.value, w_hh.value, lengths,
                                gates, h, c)
        return {"h": h, "c": c, "gates": gates}

    def _layer_backward(self, k, layer, cache, grad, lengths, need_input):
        w_hh = self._layer_params(layer)[1]
        h, c, gates = cache["h"], cache["c"], cache["gates"]
        grad_h, grad_gates = self._grad_buffers(grad)
        grad_c = _aligned.zeros(grad_h.shape, self.dtype)
        k.lstm_sequence_backward(gates, c, grad, w_hh.value, lengths, grad_h, grad_c,
                                 grad_gates)
        grad_input = self._weight_grads(k, layer, cache["inp"], h[:-1], grad_gates, grad_gates,
                                        need_input)
        return grad_input, grad_h, grad_c


class GRU(_Recurrent):
    """Gated recurrent unit, gate order r, z, n (PyTorch's).

    r, z = sigmoid(x_t @ W_i.T + b_i + h_{t-1} @ W_h.T + b_h) (their thirds);
    n = tanh(x_t @ W_in.T + b_in + r*(h_{t-1} @ W_hn.T + b_hn));
    h_t = (1 - z)*n + z*h_{t-1}.

    Parameters as ``RNN`` without ``nonlinearity``; weights (3*hidden_size, .),
    biases (3*hidden_size,).
    """

    _n_gates = 3

    def _layer_forward(self, k, layer, inp, h0, c0, lengths):
        w_ih, w_hh, b_ih, b_hh = self._layer_params(layer)
        steps, n, H = inp.shape[0], inp.shape[1], self.hidden_size
        x_proj = self._input_projection(k, inp, w_ih.value, b_ih.value)
        h = self._states_from(h0, steps)
        gates = _aligned.empty((steps, n, 4 * H), self.dtype)   # r, z, n, h_{t-1} @ W_hn.T + b_hn
        k.gru_sequence_forward(x_proj, w_hh.value, b_hh.value, lengths, gates, h)
        return {"h": h, "gates": gates}

    def _layer_backward(self, k, layer, cache, grad, lengths, need_input):
        w_hh = self._layer_params(layer)[1]
        h, gates = cache["h"], cache["gates"]
        grad_h, grad_x_gates, grad_h_gates = self._grad_buffers(grad, 2)
        k.gru_sequence_backward(gates, h, grad, w_hh.value, lengths, grad_h, grad_x_gates,
                                grad_h_gates)
        grad_input = self._weight_grads(k, layer, cache["inp"], h[:-1], grad_x_gates,
                                        grad_h_gates, need_input)
        return grad_input, grad_h, None
