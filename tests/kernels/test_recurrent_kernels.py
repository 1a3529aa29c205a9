"""The recurrent gate kernels: compiled == NumPy reference over seeded shapes,
dtypes, thread counts, and rows inside and past their sequence's end."""
import numpy as np
import pytest

from conftest import assert_close
from nnfast import _kernels, reference

SEEDS = range(6)


def _shape(rng):
    return int(rng.choice([1, 2, 3, 7, 33])), int(rng.choice([1, 4, 5, 16, 37]))


def _lengths(rng, n, step):
    """Lengths around ``step``: some rows active at it, some past their end."""
    return rng.integers(max(step - 2, 0), step + 3, n).astype(np.int64)


def _arrays(rng, dtype, *shapes):
    return [(rng.standard_normal(s) * 1.5).astype(dtype) for s in shapes]


def _run_both(name, inputs, outputs, **kwargs):
    """Call kernel ``name`` of both sets with the same inputs and copies of
    the same outputs (NaN or given starting values); return both outputs."""
    results = []
    for k in (_kernels, reference):
        outs = [o.copy() for o in outputs]
        getattr(k, name)(*inputs(outs), **kwargs)
        results.append(outs)
    return results


def _nan(dtype, *shapes):
    return [np.full(s, np.nan, dtype) for s in shapes]


def _check(fast, ref, dtype):
    for f, r in zip(fast, ref):
        assert not np.isnan(f).any()
        assert_close(f, r, dtype)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("relu", [False, True])
def test_rnn_cell(seed, relu, dtype, threads):
    rng = np.random.default_rng([seed, 1, relu])
    n, hidden = _shape(rng)
    step = int(rng.integers(0, 5))
    lengths = _lengths(rng, n, step)
    xp, hp, h_prev = _arrays(rng, dtype, (n, hidden), (n, hidden), (n, hidden))
    fast, ref = _run_both("rnn_cell_forward", lambda o: (xp, hp, h_prev, lengths, step, o[0]),
                          _nan(dtype, (n, hidden)), relu=relu)
    _check(fast, ref, dtype)
    h = ref[0]
    grad_output, grad_h = _arrays(rng, dtype, (n, hidden), (n, hidden))
    fast, ref = _run_both("rnn_cell_backward",
                          lambda o: (h, grad_output, lengths, step, o[0], o[1]),
                          [grad_h] + _nan(dtype, (n, hidden)), relu=relu)
    _check(fast, ref, dtype)
    past = step >= lengths
    np.testing.assert_array_equal(fast[0][past], grad_h[past])  # passed through
    assert not fast[1][past].any()


@pytest.mark.parametrize("seed", SEEDS)
def test_lstm_gates(seed, dtype, threads):
    rng = np.random.default_rng([seed, 2])
    n, hidden = _shape(rng)
    step = int(rng.integers(0, 5))
    lengths = _lengths(rng, n, step)
    xp, hp = _arrays(rng, dtype, (n, 4 * hidden), (n, 4 * hidden))
    h_prev, c_prev = _arrays(rng, dtype, (n, hidden), (n, hidden))
    fast, ref = _run_both(
        "lstm_gates_forward",
        lambda o: (xp, hp, h_prev, c_prev, lengths, step, o[0], o[1], o[2]),
        _nan(dtype, (n, 4 * hidden), (n, hidden), (n, hidden)))
    _check(fast, ref, dtype)
    past = step >= lengths
    np.testing.assert_array_equal(fast[1][past], h_prev[past])
    np.testing.assert_array_equal(fast[2][past], c_prev[past])
    gates, c = ref[0], ref[2]
    grad_output, grad_h, grad_c = _arrays(rng, dtype, (n, hidden), (n, hidden), (n, hidden))
    fast, ref = _run_both(
        "lstm_gates_backward",
        lambda o: (gates, c_prev, c, grad_output, lengths, step, o[0], o[1], o[2]),
        [grad_h, grad_c] + _nan(dtype, (n, 4 * hidden)))
    _check(fast, ref, dtype)
    np.testing.assert_array_equal(fast[0][past], grad_h[past])
    np.testing.assert_array_equal(fast[1][past], grad_c[past])


@pytest.mark.parametrize("seed", SEEDS)
def test_gru_gates(seed, dtype, threads):
    rng = np.random.default_rng([seed, 3])
    n, hidden = _shape(rng)
    step = int(rng.integers(0, 5))
    lengths = _lengths(rng, n, step)
    xp, hp = _arrays(rng, dtype, (n, 3 * hidden), (n, 3 * hidden))
    bias_hh, = _arrays(rng, dtype, (3 * hidden,))
    h_prev, = _arrays(rng, dtype, (n, hidden))
    fast, ref = _run_both(
        "gru_gates_forward",
        lambda o: (xp, hp, bias_hh, h_prev, lengths, step, o[0], o[1]),
        _nan(dtype, (n, 4 * hidden), (n, hidden)))
    _check(fast, ref, dtype)
    past = step >= lengths
    np.testing.assert_array_equal(fast[1][past], h_prev[past])
    gates = ref[0]
    grad_output, grad_h = _arrays(rng, dtype, (n, hidden), (n, hidden))
    fast, ref = _run_both(
        "gru_gates_backward",
        lambda o: (gates, h_prev, grad_output, lengths, step, o[0], o[1], o[2]),
        [grad_h] + _nan(dtype, (n, 3 * hidden), (n, 3 * hidden)))
    _check(fast, ref, dtype)
    np.testing.assert_array_equal(fast[0][past], grad_h[past])


def test_lstm_gates_saturate_without_overflow():
    """Pre-activations of +-1000: gates exactly 0/1, no NaN (the sigmoid is
    computed from exp(-|x|))."""
    for k in (_kernels, reference):
        for dtype in (np.float32, np.float64):
            n, hidden = 2, 3
            xp = np.full((n, 4 * hidden), 1000.0, dtype)
            xp[1] = -1000.0
            hp = np.zeros_like(xp)
            h_prev = np.zeros((n, hidden), dtype)
            c_prev = np.ones((n, hidden), dtype)
            gates, h, c = (np.empty((n, 4 * hidden), dtype), np.empty((n, hidden), dtype),
                           np.empty((n, hidden), dtype))
            k.lstm_gates_forward(xp, hp, h_prev, c_prev, np.full(n, 1, np.int64), 0, gates, h, c)
            assert np.isfinite(gates).all() and np.isfinite(h).all()
            np.testing.assert_array_equal(gates[0], 1)
            np.testing.assert_array_equal(c[0], 2)          # f*1 + i*g = 1 + 1
            np.testing.assert_array_equal(gates[1, :hidden], 0)


def test_float32_gate_functions_within_two_ulp():
    """The compiled float32 sigmoid and tanh (fast_gates.h's polynomials)
    against float64 NumPy over -90..90 and tiny magnitudes; inf and NaN kept."""
    x = np.concatenate([np.linspace(-90, 90, 20001), np.geomspace(1e-30, 1, 300),
                        -np.geomspace(1e-30, 1, 300)]).astype(np.float32)
    hidden = x.size
    ones = np.ones(1, np.int64)
    h = np.empty((1, hidden), np.float32)
    zeros = np.zeros((1, hidden), np.float32)
    _kernels.rnn_cell_forward(x[None], zeros, zeros, ones, 0, h, False)
    expected = np.tanh(x.astype(np.float64))
    np.testing.assert_allclose(h[0], expected, rtol=2.5e-7, atol=1e-38)
    pre = np.zeros((1, 4 * hidden), np.float32)
    pre[0, :hidden] = x
    gates = np.empty_like(pre)
    c = np.empty((1, hidden), np.float32)
    _kernels.lstm_gates_forward(pre, np.zeros_like(pre), zeros, zeros, ones, 0, gates, h, c)
    expected = 1 / (1 + np.exp(-x.astype(np.float64)))
    big = expected > 1e-37   # below: flushed to the smallest normal or less
    np.testing.assert_allclose(gates[0, :hidden][big], expected[big], rtol=2.5e-7)
    special = np.array([[np.inf, -np.inf, np.nan]], np.float32)
    out = np.empty_like(special)
    z3 = np.zeros_like(special)
    _kernels.rnn_cell_forward(special, z3, z3, ones, 0, out, False)
    np.testing.assert_array_equal(out[0, :2], [1, -1])
    assert np.isnan(out[0, 2])
