"""The register-tile float32 GEMMs (csrc/small_gemm.c, csrc/dot_gemm.c, and
their AVX2 versions in csrc/gemm_avx2.c) against float64 NumPy: shapes
around their tiles (8 x 32, 6 x 64 and 24 x 16 in AVX-512; 6 x 16 and
12 x 8 in AVX2), transposed and plain A, overwrite and accumulate, rows
strided inside wider arrays; each test once in every instruction set this
CPU has. The recurrent kernel tests (test_recurrent_kernels.py) run with
them on and off."""
import numpy as np
import pytest

from nnfast._kernels import _small_gemm
from nnfast.reference import _small_gemm as twin

pytestmark = pytest.mark.skipif(not _small_gemm.available(),
                                reason="this CPU has neither AVX-512F nor AVX2 with FMA")


@pytest.fixture(autouse=True, params=_small_gemm.instruction_sets() or ["none"])
def instruction_set(request):
    """Each test in each instruction set this CPU runs, the best one
    restored after."""
    old = _small_gemm.set_instruction_set(request.param)
    assert _small_gemm.instruction_set() == request.param
    yield request.param
    _small_gemm.set_instruction_set(old)


def test_set_instruction_set_names_the_choices():
    with pytest.raises(ValueError, match=r"name must be one of .*got 'sse9'"):
        _small_gemm.set_instruction_set("sse9")
    assert _small_gemm.set_instruction_set(None) in _small_gemm.instruction_sets()
    assert _small_gemm.instruction_set() == _small_gemm.instruction_sets()[0]


def _padded(rng, rows, cols, pad):
    """A (rows, cols) float32 view whose rows lie ``pad`` floats apart more
    than their width, NaN in the gaps (a read there would show)."""
    full = np.full((rows, cols + pad), np.nan, np.float32)
    full[:, :cols] = rng.standard_normal((rows, cols))
    return full[:, :cols]


@pytest.mark.parametrize("seed", range(80))
def test_small_gemm_matches_numpy(seed):
    rng = np.random.default_rng([seed, 91])
    m, n, k = (int(rng.choice(v)) for v in ([1, 3, 5, 6, 7, 8, 9, 12, 13, 16, 25, 33, 47, 144],
                                            [1, 5, 15, 16, 17, 31, 32, 33, 63, 64, 65, 70,
                                             80, 96, 112, 127, 128, 160],
                                            [0, 1, 2, 19, 128, 257, 600]))
    trans_a, accumulate = bool(rng.integers(2)), bool(rng.integers(2))
    pad = int(rng.choice([0, 3]))
    a = _padded(rng, k, m, pad) if trans_a else _padded(rng, m, k, pad)
    b = _padded(rng, k, n, pad)
    c_full = np.full((m + 1, n + pad + 1), 7.0, np.float32)   # a border that must stay
    c = c_full[:m, :n]
    c[...] = rng.standard_normal((m, n))
    expected = (a.T if trans_a else a).astype(np.float64) @ b.astype(np.float64)
    if accumulate:
        expected += c
    assert _small_gemm.small_gemm_into(a, b, c, trans_a, accumulate)
    np.testing.assert_allclose(c, expected, rtol=1e-5, atol=1e-5 * max(1.0, np.abs(expected).max()))
    c_full[:m, :n] = 7.0
    np.testing.assert_array_equal(c_full, 7.0)


@pytest.mark.parametrize("n", [3, 8, 16, 20, 24, 48, 80, 113])
@pytest.mark.parametrize("trans_a", [False, True])
def test_small_gemm_narrow_tiles_every_row_count(n, trans_a):
    """The last columns of c go to the narrow tiles (at most 16 left: 24 x 16,
    then 16, 8, 4, 2 and 1 rows, in AVX-512; at most 8 left: 12 x 8, then 8,
    4, 2, 1, in AVX2): every row count to 50 (each mix of those), masked and
    full, into a strided c whose border must stay."""
    rng = np.random.default_rng([n, trans_a, 93])
    k = 37
    for m in range(1, 51):
        a = _padded(rng, k, m, 3) if trans_a else _padded(rng, m, k, 3)
        b = _padded(rng, k, n, 5)
        c_full = np.full((m + 1, n + 2), 7.0, np.float32)
        c = c_full[:m, :n]
        c[...] = rng.standard_normal((m, n))
        expected = (a.T if trans_a else a).astype(np.float64) @ b.astype(np.float64) + c
        assert _small_gemm.small_gemm_into(a, b, c, trans_a, True)
        np.testing.assert_allclose(c, expected, rtol=1e-5, atol=1e-4, err_msg=f"m={m}")
        c_full[:m, :n] = 7.0
        np.testing.assert_array_equal(c_full, 7.0)


def test_small_gemm_off_leaves_c():
    old = _small_gemm.set_enabled(False)
    try:
        assert not _small_gemm.enabled()
        c = np.zeros((2, 2), np.float32)
        assert not _small_gemm.small_gemm_into(np.ones((2, 2), np.float32),
                                               np.ones((2, 2), np.float32), c)
        assert not c.any()
    finally:
        _small_gemm.set_enabled(old)
    assert _small_gemm.enabled()


@pytest.mark.parametrize("seed", range(10))
def test_small_gemm_matches_its_twin(seed):
    """The compiled GEMM and its NumPy twin on the same operands, float32."""
    rng = np.random.default_rng([seed, 92])
    m, n, k = (int(v) for v in rng.integers(1, 70, 3))
    trans_a, accumulate = bool(rng.integers(2)), bool(rng.integers(2))
    a = rng.standard_normal((k, m) if trans_a else (m, k)).astype(np.float32)
    b = rng.standard_normal((k, n)).astype(np.float32)
    start = rng.standard_normal((m, n)).astype(np.float32)
    fast, ref = start.copy(), start.copy()
    assert _small_gemm.small_gemm_into(a, b, fast, trans_a, accumulate)
    assert twin.small_gemm_into(a, b, ref, trans_a, accumulate)
    np.testing.assert_allclose(fast, ref, rtol=1e-5, atol=1e-5 * max(1.0, np.abs(ref).max()))


# -- dot_gemm: c (+)= a @ b.T, both operands' rows along k (csrc/dot_gemm.c) ----

@pytest.mark.parametrize("seed", range(60))
def test_dot_gemm_matches_numpy(seed):
    """Shapes around its tiles (6 x 4 in AVX-512, 3 x 4 in AVX2), k around
    its vectors of 16 (8) and its blocks of at most 1024 (512; masked tails), overwrite and accumulate, strided rows
    with NaN gaps (a read past a row would show), a c border that must stay."""
    rng = np.random.default_rng([seed, 94])
    m, n, k = (int(rng.choice(v)) for v in ([1, 2, 5, 6, 7, 9, 12, 13, 144, 289],
                                            [1, 2, 3, 4, 5, 8, 15, 16, 17, 33],
                                            [0, 1, 7, 8, 9, 15, 16, 17, 198, 396, 513, 1024, 1025,
                                             4224]))
    accumulate = bool(rng.integers(2))
    pad = int(rng.choice([0, 3]))
    a, b = _padded(rng, m, k, pad), _padded(rng, n, k, pad)
    c_full = np.full((m + 1, n + pad + 1), 7.0, np.float32)
    c = c_full[:m, :n]
    c[...] = rng.standard_normal((m, n))
    expected = a.astype(np.float64) @ b.T.astype(np.float64)
    if accumulate:
        expected += c
    assert _small_gemm.dot_gemm_into(a, b, c, accumulate)
    scale = max(1.0, np.abs(expected).max(), np.sqrt(k))
    np.testing.assert_allclose(c, expected, rtol=1e-5, atol=1e-5 * scale,
                               err_msg=f"m={m} n={n} k={k}")
    c_full[:m, :n] = 7.0
    np.testing.assert_array_equal(c_full, 7.0)


def test_dot_gemm_every_tile_shape():
    """Every (rows, columns) left at an edge: m to 13 (tiles of 6, then 1-5
    rows) by n to 9 (tiles of 4, then 1-3)."""
    rng = np.random.default_rng(95)
    k = 37
    for m in range(1, 14):
        for n in range(1, 10):
            a, b = _padded(rng, m, k, 2), _padded(rng, n, k, 1)
            c = np.full((m, n), np.nan, np.float32)
            assert _small_gemm.dot_gemm_into(a, b, c, False)
            np.testing.assert_allclose(c, a.astype(np.float64) @ b.T.astype(np.float64),
                                       rtol=1e-5, atol=1e-4, err_msg=f"m={m} n={n}")


def test_dot_gemm_empty_sum_and_off_switch():
    c = np.full((3, 2), 5.0, np.float32)
    empty = np.zeros((3, 0), np.float32), np.zeros((2, 0), np.float32)
    assert _small_gemm.dot_gemm_into(*empty, c, True)
    np.testing.assert_array_equal(c, 5.0)            # c + nothing
    assert _small_gemm.dot_gemm_into(*empty, c, False)
    np.testing.assert_array_equal(c, 0.0)            # an empty sum
    old = _small_gemm.set_enabled(False)
    try:
        c[...] = 1.0
        assert not _small_gemm.dot_gemm_into(np.ones((3, 4), np.float32),
                                             np.ones((2, 4), np.float32), c)
        np.testing.assert_array_equal(c, 1.0)
    finally:
        _small_gemm.set_enabled(old)
    with pytest.raises(ValueError, match="shapes do not match"):
        _small_gemm.dot_gemm_into(np.ones((3, 4), np.float32), np.ones((2, 5), np.float32), c)


@pytest.mark.parametrize("seed", range(10))
def test_dot_gemm_matches_its_twin(seed):
    rng = np.random.default_rng([seed, 96])
    m, n, k = (int(v) for v in rng.integers(1, 70, 3))
    accumulate = bool(rng.integers(2))
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = rng.standard_normal((n, k)).astype(np.float32)
    start = rng.standard_normal((m, n)).astype(np.float32)
    fast, ref = start.copy(), start.copy()
    assert _small_gemm.dot_gemm_into(a, b, fast, accumulate)
    assert twin.dot_gemm_into(a, b, ref, accumulate)
    np.testing.assert_allclose(fast, ref, rtol=1e-5, atol=1e-5 * max(1.0, np.abs(ref).max()))


# -- small_gemm_rows: B given by its rows (csrc/gemm_avx2.c) --------------------

@pytest.mark.parametrize("seed", range(40))
def test_small_gemm_rows_matches_numpy_and_twin(seed):
    """Rows of B at arbitrary offsets into one source (overlapping, as a
    convolution's kernel taps are), shapes around the 6 x 16 and 12 x 8
    tiles and the blocks of 256 steps of k, NaN around every row's span in
    the source (a read outside it would show), a c border that must stay."""
    rng = np.random.default_rng([seed, 97])
    m, n, k = (int(rng.choice(v)) for v in ([1, 4, 6, 7, 12, 16, 32, 33],
                                            [1, 7, 8, 9, 16, 17, 24, 66, 200, 461],
                                            [0, 1, 9, 144, 257, 576]))
    accumulate = bool(rng.integers(2))
    source = np.full(n + 5 * k + 40, np.nan, np.float32)
    offsets = rng.integers(8, source.size - n - 8 + 1, k)
    for o in offsets:
        source[o:o + n] = rng.standard_normal(n)
    a = _padded(rng, m, k, 3)
    c_full = np.full((m + 1, n + 3), 7.0, np.float32)
    c = c_full[:m, :n]
    c[...] = rng.standard_normal((m, n))
    start = c.copy()
    rows = (np.stack([source[o:o + n] for o in offsets]) if k
            else np.zeros((0, n), np.float32))
    expected = a.astype(np.float64) @ rows.astype(np.float64)
    if accumulate:
        expected += start
    if not _small_gemm.small_gemm_rows_into(a, source, offsets, n, c, accumulate):
        pytest.skip("small_gemm_rows runs in AVX2, off here")
    scale = max(1.0, np.abs(expected).max())
    np.testing.assert_allclose(c, expected, rtol=1e-5, atol=1e-5 * scale)
    ref = start.copy()
    assert twin.small_gemm_rows_into(a, source, offsets, n, ref, accumulate)
    np.testing.assert_allclose(c, ref, rtol=1e-5, atol=1e-5 * scale)
    c_full[:m, :n] = 7.0
    np.testing.assert_array_equal(c_full, 7.0)


def test_small_gemm_rows_refuses_rows_outside_the_source():
    a, c = np.ones((2, 2), np.float32), np.zeros((2, 4), np.float32)
    with pytest.raises(ValueError, match="row 1 at 7 leaves the source"):
        _small_gemm.small_gemm_rows_into(a, np.zeros(10, np.float32), [0, 7], 4, c)
    with pytest.raises(ValueError, match="shapes do not match"):
        _small_gemm.small_gemm_rows_into(a, np.zeros(10, np.float32), [0, 1, 2], 4, c)


@pytest.mark.parametrize("seed", range(40))
def test_dot_gemm_rows_matches_numpy_and_twin(seed):
    """dot_gemm with the rows of A at arbitrary (overlapping) offsets into one
    source, NaN around them; k around the vectors of 8 and the blocks of
    512, every edge tile."""
    rng = np.random.default_rng([seed, 98])
    m, n, k = (int(rng.choice(v)) for v in ([1, 2, 3, 4, 5, 9, 144, 145],
                                            [1, 3, 4, 5, 16, 33],
                                            [0, 1, 7, 8, 9, 66, 513, 1030]))
    accumulate = bool(rng.integers(2))
    source = np.full(k + 5 * m + 40, np.nan, np.float32)
    offsets = rng.integers(8, source.size - k - 8 + 1, m)
    for o in offsets:
        source[o:o + k] = rng.standard_normal(k)
    rows = np.stack([source[o:o + k] for o in offsets])
    b = _padded(rng, n, k, 3)
    c_full = np.full((m + 1, n + 3), 7.0, np.float32)
    c = c_full[:m, :n]
    c[...] = rng.standard_normal((m, n))
    start = c.copy()
    expected = rows.astype(np.float64) @ b.T.astype(np.float64)
    if accumulate:
        expected += start
    if not _small_gemm.dot_gemm_rows_into(source, offsets, k, b, c, accumulate):
        pytest.skip("dot_gemm_rows runs in AVX2, off here")
    scale = max(1.0, np.abs(expected).max(), np.sqrt(k))
    np.testing.assert_allclose(c, expected, rtol=1e-5, atol=1e-5 * scale,
                               err_msg=f"m={m} n={n} k={k}")
    ref = start.copy()
    assert twin.dot_gemm_rows_into(source, offsets, k, b, ref, accumulate)
    np.testing.assert_allclose(c, ref, rtol=1e-5, atol=1e-5 * scale)
    c_full[:m, :n] = 7.0
    np.testing.assert_array_equal(c_full, 7.0)


def test_dot_gemm_rows_refuses_rows_outside_the_source():
    b, c = np.ones((2, 4), np.float32), np.zeros((2, 2), np.float32)
    with pytest.raises(ValueError, match="row 1 at 7 leaves the source"):
        _small_gemm.dot_gemm_rows_into(np.zeros(10, np.float32), [0, 7], 4, b, c)
