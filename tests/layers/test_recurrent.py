"""RNN, LSTM and GRU: float64 gradient checks (input, weights, biases, h0,
with and without lengths), PyTorch with the same weights (packed sequences
for lengths), save/load, and bad input."""
import numpy as np
import pytest

import nnfast as nf
from conftest import assert_close

N, T, I, H = 4, 5, 3, 4
KINDS = ["rnn-tanh", "rnn-relu", "lstm", "gru"]


def _make(kind, num_layers=1, dtype=np.float64, rng=0):
    if kind.startswith("rnn"):
        return nf.layers.RNN(I, H, nonlinearity=kind[4:], num_layers=num_layers, dtype=dtype,
                             rng=rng)
    cls = nf.layers.LSTM if kind == "lstm" else nf.layers.GRU
    return cls(I, H, num_layers=num_layers, dtype=dtype, rng=rng)


class _WithState(nf.layers.Layer):
    """forward(x) of a recurrent layer from a fixed initial state and lengths,
    for nf.gradcheck: the initial state's arrays are parameters too ("h0",
    LSTM "c0"), with the layer's grad_h0 as their gradient."""

    def __init__(self, inner, state, lengths):
        super().__init__()
        self.inner, self.lengths = inner, lengths
        arrays = state if isinstance(state, tuple) else (state,)
        self.state = [nf.Parameter(a, name) for a, name in zip(arrays, ("h0", "c0"))]

    def parameters(self):
        return self.inner.parameters() + self.state

    def forward(self, x):
        state = tuple(p.value for p in self.state)
        return self.inner.forward(x, h0=state if len(state) == 2 else state[0],
                                  lengths=self.lengths)

    def backward(self, grad_output):
        grad_input = self.inner.backward(grad_output)
        grad_h0 = self.inner.grad_h0
        for p, grad in zip(self.state, grad_h0 if len(self.state) == 2 else (grad_h0,)):
            p.grad += grad
        return grad_input


@pytest.mark.parametrize("with_lengths", [False, True])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("kind", KINDS)
def test_gradcheck(kind, num_layers, with_lengths):
    rng = np.random.default_rng([KINDS.index(kind), num_layers, with_lengths])
    layer = _make(kind, num_layers, rng=rng)
    x = rng.standard_normal((N, T, I))
    h0 = rng.standard_normal((num_layers, N, H))
    state = (h0, rng.standard_normal((num_layers, N, H))) if kind == "lstm" else h0
    lengths = np.array([T, 1, 3, T - 1]) if with_lengths else None
    errors = nf.gradcheck(_WithState(layer, state, lengths), x, rtol=1e-5)
    # the initial state's gradient too: "h0" ("c0")
    assert set(errors) >= {"input", "weight_ih_l0", "bias_hh_l0", "h0"}
    assert ("c0" in errors) == (kind == "lstm")


def _torch_layer(torch, kind, num_layers):
    nn = torch.nn
    if kind.startswith("rnn"):
        return nn.RNN(I, H, num_layers=num_layers, nonlinearity=kind[4:], batch_first=True)
    return (nn.LSTM if kind == "lstm" else nn.GRU)(I, H, num_layers=num_layers, batch_first=True)


@pytest.mark.parametrize("with_lengths", [False, True])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("kind", KINDS)
def test_matches_torch(torch, kind, num_layers, with_lengths, dtype):
    """Same weights copied as plain arrays: outputs, last_state and every
    gradient as PyTorch's (lengths through pack_padded_sequence)."""
    rng = np.random.default_rng([KINDS.index(kind), num_layers, with_lengths, 7])
    tl = _torch_layer(torch, kind, num_layers).to(torch.float64 if dtype == np.float64
                                                  else torch.float32)
    layer = _make(kind, num_layers, dtype=dtype)
    named = list(tl.named_parameters())
    assert [p.name for p in layer.parameters()] == [name for name, _ in named]
    for p, (_, tp) in zip(layer.parameters(), named):
        p.value = tp.detach().numpy()
    x = rng.standard_normal((N, T, I)).astype(dtype)
    h0 = rng.standard_normal((num_layers, N, H)).astype(dtype)
    c0 = rng.standard_normal((num_layers, N, H)).astype(dtype)
    grad_output = rng.standard_normal((N, T, H)).astype(dtype)
    lengths = np.array([2, T, 1, 4]) if with_lengths else None

    xt, h0t, c0t = (torch.tensor(a, requires_grad=True) for a in (x, h0, c0))
    state = (h0t, c0t) if kind == "lstm" else h0t
    if with_lengths:
        pack = torch.nn.utils.rnn
        packed = pack.pack_padded_sequence(xt, torch.tensor(lengths), batch_first=True,
                                           enforce_sorted=False)
        out_packed, last = tl(packed, state)
        out_t, _ = pack.pad_packed_sequence(out_packed, batch_first=True, total_length=T)
    else:
        out_t, last = tl(xt, state)
    (out_t * torch.tensor(grad_output)).sum().backward()

    out = layer.forward(x, h0=(h0, c0) if kind == "lstm" else h0, lengths=lengths)
    grad_input = layer.backward(grad_output)
    assert out.dtype == dtype and grad_input.dtype == dtype
    assert_close(out, out_t.detach().numpy(), dtype)
    assert_close(grad_input, xt.grad.numpy(), dtype)
    if kind == "lstm":
        for mine, theirs in zip(layer.last_state, last):
            assert_close(mine, theirs.detach().numpy(), dtype)
        assert_close(layer.grad_h0[0], h0t.grad.numpy(), dtype)
        assert_close(layer.grad_h0[1], c0t.grad.numpy(), dtype)
    else:
        assert_close(layer.last_state, last.detach().numpy(), dtype)
        assert_close(layer.grad_h0, h0t.grad.numpy(), dtype)
    for p, (name, tp) in zip(layer.parameters(), named):
        assert_close(p.grad, tp.grad.numpy(), dtype)


@pytest.mark.parametrize("kind", KINDS)
def test_fast_equals_reference(kind, dtype, threads):
    rng = np.random.default_rng(KINDS.index(kind))
    x = rng.standard_normal((7, 6, I)).astype(dtype)
    lengths = rng.integers(1, 7, 7)
    grad_output = rng.standard_normal((7, 6, H)).astype(dtype)
    results = []
    for backend in ("fast", "reference"):
        with nf.use_backend(backend):
            layer = _make(kind, 2, dtype=dtype, rng=3)
            out = layer.forward(x, lengths=lengths)
            results.append([out, layer.backward(grad_output)] + [p.grad for p in layer.parameters()])
    for f, r in zip(*results):
        assert_close(f, r, dtype)


@pytest.mark.parametrize("kind", KINDS)
def test_lengths_zero_output_past_end_and_ignore_its_gradient(kind):
    rng = np.random.default_rng(1)
    layer = _make(kind)
    x = rng.standard_normal((N, T, I))
    lengths = [1, T, 2, 3]
    out = layer.forward(x, lengths=lengths)
    for n, length in enumerate(lengths):
        assert not out[n, length:].any()
        # the state kept is the one at the sequence's own last step
        h_last = layer.last_state[0] if kind == "lstm" else layer.last_state
        np.testing.assert_array_equal(h_last[0, n], out[n, length - 1])
        # the same sequence alone, cut to its length, gives the same output
        alone = _make(kind).forward(x[n:n + 1, :length])
        np.testing.assert_allclose(alone[0], out[n, :length], rtol=1e-12, atol=1e-14)
    g = rng.standard_normal((N, T, H))
    grad_a = layer.backward(g).copy()
    for n, length in enumerate(lengths):
        g[n, length:] = rng.standard_normal((T - length, H))
    layer.forward(x, lengths=lengths)
    np.testing.assert_array_equal(layer.backward(g), grad_a)
    assert not grad_a[0, 1:].any()


@pytest.mark.parametrize("kind", KINDS)
def test_output_is_a_read_only_view_and_gradient_layouts_agree(kind):
    """forward returns a read-only batch-first view of the states (the
    backward pass's); backward gives the same gradients from a C-contiguous
    (n, T, H) gradient and from a time-major one (LastStep's)."""
    rng = np.random.default_rng(5)
    layer = _make(kind)
    layer.requires_input_grad = True
    x = rng.standard_normal((2, 5, I))
    out = layer.forward(x)
    assert out.shape == (2, 5, H) and not out.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        out[0, 0, 0] = 1.0
    g = rng.standard_normal(out.shape)
    grads = []
    for grad_output in (np.ascontiguousarray(g), np.ascontiguousarray(g.transpose(1, 0, 2))
                        .transpose(1, 0, 2)):
        for p in layer.parameters():
            p.zero_grad()
        layer.forward(x)
        grads.append([layer.backward(grad_output)] + [p.grad.copy() for p in layer.parameters()])
    for a, b in zip(*grads):
        np.testing.assert_array_equal(a, b)


def test_float32_stays_float32_and_grad_h0_only_with_h0():
    layer = nf.layers.LSTM(I, H)
    out = layer.forward(np.ones((2, 3, I)))
    assert out.dtype == np.float32 and layer.last_state[1].dtype == np.float32
    layer.backward(np.ones_like(out))
    assert layer.grad_h0 is None


@pytest.mark.parametrize("kind", KINDS)
def test_save_load_round_trip(kind, tmp_path):
    model = nf.Sequential([_make(kind, 2, dtype=np.float32, rng=5)])
    path = tmp_path / "rnn.npz"
    nf.save(model, path)
    loaded = nf.load(path)
    x = np.random.default_rng(0).standard_normal((2, 3, I)).astype(np.float32)
    np.testing.assert_array_equal(loaded.forward(x), model.forward(x))
    assert loaded.layers[0].config() == model.layers[0].config()


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="batch_first=False"):
        nf.layers.LSTM(I, H, batch_first=False)
    with pytest.raises(ValueError, match="nonlinearity"):
        nf.layers.RNN(I, H, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="hidden_size"):
        nf.layers.GRU(I, 0)
    with pytest.raises(TypeError, match="num_layers"):
        nf.layers.GRU(I, H, num_layers=1.5)


@pytest.mark.parametrize("kind", KINDS)
def test_bad_input(kind):
    layer = _make(kind, 2)
    x = np.zeros((N, T, I))
    with pytest.raises(ValueError, match="x must have 3 dimensions"):
        layer.forward(np.zeros((N, I)))
    with pytest.raises(ValueError, match=r"x must have shape \(n_samples, seq_len, 3\)"):
        layer.forward(np.zeros((N, T, I + 1)))
    with pytest.raises(ValueError, match=r"lengths must be in \[1, 5\]"):
        layer.forward(x, lengths=[1, 2, 0, 3])
    with pytest.raises(ValueError, match=r"lengths must be in \[1, 5\]"):
        layer.forward(x, lengths=[1, 2, 6, 3])
    with pytest.raises(ValueError, match=r"lengths must have shape \(4,\)"):
        layer.forward(x, lengths=[1, 2, 3])
    with pytest.raises(TypeError, match="lengths must hold ints"):
        layer.forward(x, lengths=[1.0, 2.0, 3.0, 4.0])
    with pytest.raises(TypeError, match="lengths must hold ints"):
        layer.forward(x, lengths=[True, True, True, True])
    with pytest.raises(ValueError, match=r"h0 must have shape \(num_layers, n_samples, hidden_size\)"):
        layer.forward(x, h0=np.zeros((1, N, H)))
    with pytest.raises(ValueError, match="h0 must have 3 dimensions"):
        layer.forward(x, h0=np.zeros((N, H)))
    if kind == "lstm":
        with pytest.raises(ValueError, match="c0 must have shape"):
            layer.forward(x, h0=(np.zeros((2, N, H)), np.zeros((2, N, H + 1))))
        with pytest.raises(ValueError, match="pair"):
            layer.forward(x, h0=(np.zeros((2, N, H)),))
    with pytest.raises(ValueError, match="before forward"):
        _make(kind).backward(np.zeros((N, T, H)))
    layer.forward(x)
    with pytest.raises(ValueError, match="grad_output must have shape"):
        layer.backward(np.zeros((N, T, H + 1)))
