"""The recurrent sequence kernels: compiled == NumPy reference over seeded
shapes, sequence lengths (rows ending at every step, some before the first),
dtypes and thread counts, forward and back through time."""
import numpy as np
import pytest

from conftest import assert_close
from nnfast import _kernels, reference
from nnfast._kernels import _small_gemm, recurrent

SEEDS = range(6)


# the AVX2 kernels once more where the best is AVX-512 (elsewhere "small_gemm" is them)
_AVX2_TOO = ["small_gemm_avx2"] if _small_gemm.instruction_sets()[:1] == ("avx512",) else []


@pytest.fixture(autouse=True, params=["fused", "small_gemm", "blas"] + _AVX2_TOO)
def gemm_path(request):
    """Every test here on each float32 path: the LSTM forward's fused GEMM
    and gates and the small GEMM (where the CPU has AVX-512F), the small
    GEMM with the gate loops (AVX-512, or AVX2 with FMA; on an AVX-512 CPU
    in AVX2 too), and BLAS (the path of every other CPU)."""
    if request.param == "fused" and "avx512" not in _small_gemm.instruction_sets():
        pytest.skip("this CPU has no AVX-512F")
    if request.param != "blas" and not _small_gemm.available():
        pytest.skip("this CPU has neither AVX-512F nor AVX2 with FMA")
    old = _small_gemm.set_enabled(request.param != "blas")
    old_isa = _small_gemm.set_instruction_set(
        "avx2" if request.param == "small_gemm_avx2" else None) if _small_gemm.available() else None
    old_fused = recurrent.set_fused(request.param == "fused")
    yield request.param
    _small_gemm.set_enabled(old)
    if _small_gemm.available():
        _small_gemm.set_instruction_set(old_isa)
    recurrent.set_fused(old_fused)


def _case(rng):
    """(n_steps, n_samples, hidden, lengths): lengths from 0 to n_steps."""
    steps = int(rng.choice([1, 2, 5]))
    n = int(rng.choice([1, 2, 3, 7, 33]))
    hidden = int(rng.choice([1, 4, 5, 16, 37]))
    return steps, n, hidden, rng.integers(0, steps + 1, n).astype(np.int64)


def _arrays(rng, dtype, *shapes, scale=1.5):
    return [(rng.standard_normal(s) * scale).astype(dtype) for s in shapes]


def _weight(rng, dtype, rows, hidden):
    """A recurrent weight of PyTorch's initial scale, U(-1/sqrt(h), 1/sqrt(h))."""
    bound = 1 / np.sqrt(hidden)
    return rng.uniform(-bound, bound, (rows, hidden)).astype(dtype)


def _run_both(name, inputs, outputs, **kwargs):
    """Call kernel ``name`` of both sets with the same inputs and copies of
    the same outputs (given starting values, NaN elsewhere); return both."""
    results = []
    for k in (_kernels, reference):
        outs = [o.copy() for o in outputs]
        getattr(k, name)(*inputs(outs), **kwargs)
        results.append(outs)
    return results


def _states(rng, dtype, steps, n, hidden):
    """(n_steps + 1, n, hidden) NaN states with a random initial state."""
    s = np.full((steps + 1, n, hidden), np.nan, dtype)
    s[0] = _arrays(rng, dtype, (n, hidden))[0]
    return s


def _nan(dtype, *shapes):
    return [np.full(s, np.nan, dtype) for s in shapes]


def _check(fast, ref, dtype):
    for f, r in zip(fast, ref):
        assert not np.isnan(f).any()
        assert_close(f, r, dtype)


def _check_kept_past_end(states, lengths):
    """A row's state stays as it was from its own last step on."""
    for t in range(states.shape[0] - 1):
        past = t >= lengths
        np.testing.assert_array_equal(states[t + 1][past], states[t][past])


def _check_gates_zero_past_end(gates, lengths):
    for t in range(gates.shape[0]):
        assert not gates[t][t >= lengths].any()


_GATES = {"lstm": 4, "gru": 3, "rnn": 1}


def _forward_backward(kind, rng, dtype, steps, n, hidden, lengths, **kwargs):
    """``<kind>_sequence_forward`` then ``_backward`` of both sets on random
    inputs (the backward on the reference's forward outputs), every output
    of both compared (``_check``).

    Returns
    -------
    forward : the compiled forward's outputs: the gates (LSTM, GRU), then
        the (n_steps + 1, n, hidden) states (h; LSTM h, c)
    backward : the compiled backward's outputs: the state gradients
        (n, hidden) (grad_h; LSTM grad_h, grad_c), then the gate gradients
    grad_state : the state gradients backward started from
    """
    width = _GATES[kind] * hidden
    n_states = 2 if kind == "lstm" else 1
    x_proj, = _arrays(rng, dtype, (steps, n, width))
    w = _weight(rng, dtype, width, hidden)
    states = [_states(rng, dtype, steps, n, hidden) for _ in range(n_states)]
    grad_output, = _arrays(rng, dtype, (steps, n, hidden))
    grad_state = _arrays(rng, dtype, *[(n, hidden)] * n_states)
    if kind == "lstm":
        # the LSTM projects its input itself: x (steps, n, inputs), W_ih, bias
        inputs = int(rng.choice([1, 3, 32]))
        x, = _arrays(rng, dtype, (steps, n, inputs), scale=1.0)
        w_ih = _weight(rng, dtype, width, inputs)
        bias, = _arrays(rng, dtype, (width,), scale=0.5)
        forward_inputs = (x, w_ih, bias, w, lengths)
        forward_outputs = _nan(dtype, (steps, n, width)) + states
        from_forward = (0, 2)                 # gates, c
        grad_gates = _nan(dtype, (steps, n, width))
    elif kind == "gru":
        bias_hh, = _arrays(rng, dtype, (width,), scale=0.3)
        forward_inputs = (x_proj, w, bias_hh, lengths)
        # the gates buffer holds 4 * hidden: r, z, n and h_{t-1} @ W_hn.T + b_hn
        forward_outputs = _nan(dtype, (steps, n, 4 * hidden)) + states
        from_forward = (0, 1)                 # gates, h
        grad_gates = _nan(dtype, (steps, n, width), (steps, n, width))
    else:
        forward_inputs = (x_proj, w, lengths)
        forward_outputs = states
        from_forward = (0,)                   # h
        grad_gates = _nan(dtype, (steps, n, hidden))
    fast, ref = _run_both(f"{kind}_sequence_forward", lambda o: (*forward_inputs, *o),
                          forward_outputs, **kwargs)
    _check(fast, ref, dtype)
    fast_back, ref_back = _run_both(
        f"{kind}_sequence_backward",
        lambda o: (*(ref[i] for i in from_forward), grad_output, w, lengths, *o),
        grad_state + grad_gates, **kwargs)
    _check(fast_back, ref_back, dtype)
    return fast, fast_back, grad_state


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("kind, relu", [("lstm", None), ("gru", None), ("rnn", False),
                                        ("rnn", True)])
def test_sequence(seed, kind, relu, dtype, threads):
    """Both directions; states kept and gates (and their gradients) zero
    from a row's own end on; rows with no step pass the state gradient
    through."""
    rng = np.random.default_rng([seed, _GATES[kind], bool(relu)])
    steps, n, hidden, lengths = _case(rng)
    kwargs = {} if relu is None else {"relu": relu}
    forward, backward, grad_state = _forward_backward(kind, rng, dtype, steps, n, hidden,
                                                      lengths, **kwargs)
    n_states = len(grad_state)
    for states in forward[-n_states:]:
        _check_kept_past_end(states, lengths)
    for gates in forward[:-n_states] + backward[n_states:]:
        _check_gates_zero_past_end(gates, lengths)
    never = lengths == 0
    for grad, start in zip(backward[:n_states], grad_state):
        np.testing.assert_array_equal(grad[never], start[never])


@pytest.mark.parametrize("hidden", [1, 15, 16, 17, 64, 129])
def test_lstm_sequence_at_vector_widths(hidden, dtype, threads):
    """Hidden sizes around the 4-, 8- and 16-lane vector widths (the gate
    loops' vector bodies and their remainders)."""
    rng = np.random.default_rng([hidden, 7])
    lengths = np.array([3, 1, 2, 3, 0], np.int64)
    _forward_backward("lstm", rng, dtype, 3, 5, hidden, lengths)


def test_lstm_gates_saturate_without_overflow():
    """Pre-activations of +-1000: gates exactly 0/1, no NaN (the sigmoid is
    computed from exp(-|x|))."""
    for k in (_kernels, reference):
        for dtype in (np.float32, np.float64):
            n, hidden = 2, 3
            x = np.array([[[1.0], [-1.0]]], dtype)          # pre = +-1000 through W_ih
            w_ih = np.full((4 * hidden, 1), 1000.0, dtype)
            w = np.zeros((4 * hidden, hidden), dtype)
            h = np.zeros((2, n, hidden), dtype)
            c = np.ones((2, n, hidden), dtype)
            gates = np.empty((1, n, 4 * hidden), dtype)
            k.lstm_sequence_forward(x, w_ih, np.zeros(4 * hidden, dtype), w,
                                    np.full(n, 1, np.int64), gates, h, c)
            assert np.isfinite(gates).all() and np.isfinite(h).all()
            np.testing.assert_array_equal(gates[0, 0], 1)
            np.testing.assert_array_equal(c[1, 0], 2)          # f*1 + i*g = 1 + 1
            np.testing.assert_array_equal(gates[0, 1, :hidden], 0)


def test_float32_gate_functions_within_two_ulp():
    """The compiled float32 sigmoid and tanh (fast_gates.h's polynomials, in
    whichever vector width the CPU runs them) against float64 NumPy over
    -90..90 and tiny magnitudes; inf and NaN kept. The values go in as
    rows of 128 (zero recurrent weights), the last row padded."""
    x = np.concatenate([np.linspace(-90, 90, 20001), np.geomspace(1e-30, 1, 300),
                        -np.geomspace(1e-30, 1, 300)]).astype(np.float32)
    hidden = 128
    n = -(-x.size // hidden)
    rows = np.zeros(n * hidden, np.float32)
    rows[:x.size] = x
    rows = rows.reshape(n, hidden)
    ones = np.ones(n, np.int64)
    h = np.zeros((2, n, hidden), np.float32)
    _kernels.rnn_sequence_forward(rows[None], np.zeros((hidden, hidden), np.float32), ones,
                                  h, False)
    expected = np.tanh(x.astype(np.float64))
    np.testing.assert_allclose(h[1].ravel()[:x.size], expected, rtol=2.5e-7, atol=1e-38)
    # the input gate's pre-activations are the values exactly: x @ [1; 0; 0; 0].T
    w_ih = np.zeros((4 * hidden, hidden), np.float32)
    w_ih[:hidden] = np.eye(hidden, dtype=np.float32)
    gates = np.empty((1, n, 4 * hidden), np.float32)
    c = np.zeros((2, n, hidden), np.float32)
    _kernels.lstm_sequence_forward(rows[None], w_ih, np.zeros(4 * hidden, np.float32),
                                   np.zeros((4 * hidden, hidden), np.float32), ones,
                                   gates, np.zeros_like(c), c)
    expected = 1 / (1 + np.exp(-x.astype(np.float64)))
    big = expected > 1e-37   # below: flushed to the smallest normal or less
    sigmoid = gates[0, :, :hidden].ravel()[:x.size]
    np.testing.assert_allclose(sigmoid[big], expected[big], rtol=2.5e-7)
    special = np.array([[[np.inf, -np.inf, np.nan]]], np.float32)
    out = np.zeros((2, 1, 3), np.float32)
    _kernels.rnn_sequence_forward(special, np.zeros((3, 3), np.float32), ones[:1], out, False)
    np.testing.assert_array_equal(out[1, 0, :2], [1, -1])
    assert np.isnan(out[1, 0, 2])


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shared", [True, False], ids=["lstm_rnn", "gru"])
@pytest.mark.parametrize("with_input", [True, False])
def test_recurrent_weights_backward(seed, shared, with_input, dtype, threads):
    """Parameter gradients accumulate onto what they held, the input
    gradient is written (or skipped with None); gate counts around the
    threads' cache-line split."""
    rng = np.random.default_rng([seed, 4, shared, with_input])
    rows = int(rng.choice([1, 3, 40, 157]))
    inputs, hidden = int(rng.choice([1, 3, 32])), int(rng.choice([1, 5, 16]))
    gates = hidden * (3 if not shared else int(rng.choice([1, 4])))
    x, h, gx, w_ih = _arrays(rng, dtype, (rows, inputs), (rows, hidden), (rows, gates),
                             (gates, inputs))
    gh = gx if shared else _arrays(rng, dtype, (rows, gates))[0]
    start = _arrays(rng, dtype, (gates, inputs), (gates, hidden), (gates,), (gates,))
    grad_input = _nan(dtype, (rows, inputs)) if with_input else []
    fast, ref = _run_both(
        "recurrent_weights_backward",
        lambda o: (x, h, gx, gh, w_ih, o[4] if with_input else None, o[0], o[1], o[2], o[3]),
        start + grad_input)
    _check(fast, ref, dtype)
    assert_close(ref[2], start[2] + gx.sum(axis=0), dtype)


@pytest.mark.parametrize("shared", [True, False], ids=["lstm_rnn", "gru"])
@pytest.mark.parametrize("n_threads", [1, 2, 3])
def test_recurrent_weights_backward_split_by_rows_or_gates(shared, n_threads, dtype):
    """lstm-seq's shapes (1600 rows, 32 inputs, 128 hidden): one thread
    splits nothing, two and three split the float32 AVX-512 path by rows,
    each part's sums added in part order; all agree with the reference."""
    from conftest import threads_and_cutoff
    rng = np.random.default_rng([7, shared, n_threads])
    rows, inputs, hidden = 1600, 32, 128
    gates = hidden * (4 if shared else 3)
    x, h, gx, w_ih = _arrays(rng, dtype, (rows, inputs), (rows, hidden), (rows, gates),
                             (gates, inputs), scale=0.5)
    gh = gx if shared else _arrays(rng, dtype, (rows, gates), scale=0.5)[0]
    start = _arrays(rng, dtype, (gates, inputs), (gates, hidden), (gates,), (gates,))
    with threads_and_cutoff(n_threads, 1.0e5):
        fast, ref = _run_both(
            "recurrent_weights_backward",
            lambda o: (x, h, gx, gh, w_ih, o[4], o[0], o[1], o[2], o[3]),
            start + _nan(dtype, (rows, inputs)))
    _check(fast, ref, dtype)


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn"])
def test_sequences_with_step_gemms_in_row_chunks(kind, dtype, threads):
    """41 rows of 128 hidden units: the step GEMMs go in several BLAS calls
    of a few rows each (_recurrent_steps.pxd's BLAS_CHUNK; the "blas" path), uneven last
    chunk included, on 1 and 2 threads."""
    rng = np.random.default_rng([7, len(kind)])
    steps, n = 3, 41
    lengths = rng.integers(0, steps + 1, n).astype(np.int64)
    _forward_backward(kind, rng, dtype, steps, n, 128, lengths)
