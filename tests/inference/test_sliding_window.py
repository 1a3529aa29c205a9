"""nf.inference.sliding_window: MONAI's windows and blending (against
monai.inferers.sliding_window_inference on a PyTorch twin with the same
weights, and against a direct NumPy loop over the definition), equality with
``predict`` at full ROI, the model's state left alone, bad input, and peak
memory bounded by one batch of tiles, not by the number of windows."""
import importlib.util
import math
import pathlib
import threading
import tracemalloc

import numpy as np
import pytest

import nnfast as nf
from nnfast import _aligned
from nnfast import layers as L
from nnfast._inference import inference_mode
from nnfast.inference.windows import axis_grid, importance_map, window_starts

sliding_window = nf.inference.sliding_window


# -- models -----------------------------------------------------------------------
def small_net(in_channels=1, out_channels=2, hidden=8, seed=0, dtype=np.float32):
    """Conv 3x3 (padding 1) -> BatchNorm2D -> ReLU -> Conv 1x1, with running
    statistics and BatchNorm weights away from their defaults (so that
    eval-mode normalisation shows in the output)."""
    nf.seed(seed)
    model = nf.Sequential(L.Conv2D(in_channels, hidden, 3, padding=1, dtype=dtype),
                          L.BatchNorm2D(hidden, dtype=dtype), L.ReLU(),
                          L.Conv2D(hidden, out_channels, 1, dtype=dtype))
    rng = np.random.default_rng(seed + 100)
    bn = model.layers[1]
    bn.running_mean[...] = rng.standard_normal(hidden)
    bn.running_var[...] = rng.uniform(0.5, 2.0, hidden)
    bn.weight.value[...] = rng.uniform(0.5, 2.0, hidden)
    bn.bias.value[...] = rng.standard_normal(hidden)
    return model


def torch_twin(torch, model):
    """The PyTorch nn.Sequential of ``small_net``'s layers, its weights and
    buffers copied by state_dict (PyTorch's keys), in eval mode."""
    conv0, bn, _, conv3 = model.layers
    twin = torch.nn.Sequential(
        torch.nn.Conv2d(conv0.weight.value.shape[1], conv0.weight.value.shape[0], 3, padding=1),
        torch.nn.BatchNorm2d(bn.weight.value.shape[0]), torch.nn.ReLU(),
        torch.nn.Conv2d(conv3.weight.value.shape[1], conv3.weight.value.shape[0], 1))
    if model.parameters()[0].value.dtype == np.float64:
        twin = twin.double()
    twin.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in model.state_dict().items()})
    return twin.eval()


def torch_unet_like(model):
    """bench/torch_unet.py's twin of an nnfast U-Net (loaded by path: bench/ is not a package)."""
    path = pathlib.Path(__file__).resolve().parents[2] / "bench" / "torch_unet.py"
    if not path.is_file():
        pytest.skip("bench/torch_unet.py is not there")
    spec = importlib.util.spec_from_file_location("torch_unet", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.torch_unet_like(model).eval()


def images(shape, seed=0, dtype=np.float32):
    return np.random.default_rng([seed, *shape]).standard_normal(shape).astype(dtype)


# -- the definition, directly --------------------------------------------------------
def reference_sliding_window(model, image, roi, overlap, blend, sigma_scale=0.125):
    """The definition as a plain loop, written apart from the implementation:
    along each axis the windows start at 0, step, 2 step, ... with step =
    max(int(roi * (1 - overlap)), 1) (the whole axis where roi equals it),
    ceil((size - roi) / step) + 1 of them, each start clipped to size - roi;
    each window through ``model.predict`` alone; weights 1 or a float64
    Gaussian clamped below at max(its minimum, 1e-3)."""
    spatial = image.shape[2:]
    starts = []
    for size, r in zip(spatial, roi):
        step = r if r == size else max(int(r * (1 - overlap)), 1)
        count = math.ceil((size - r) / step) + 1
        starts.append(sorted({min(i * step, size - r) for i in range(count)}))
    if blend == "constant":
        weight = np.ones(roi)
    else:
        axes = [np.exp(-(np.arange(r) - (r - 1) / 2) ** 2 / (2 * (sigma_scale * r) ** 2)) for r in roi]
        weight = np.multiply.outer(axes[0], axes[1])
        weight = np.maximum(weight, max(weight.min(), 1e-3))
    acc = None
    weight_sum = np.zeros(spatial)
    for y0 in starts[0]:
        for x0 in starts[1]:
            window = (slice(None), slice(None), slice(y0, y0 + roi[0]), slice(x0, x0 + roi[1]))
            tile = np.asarray(model.predict(image[window]), dtype=np.float64)
            if acc is None:
                acc = np.zeros(image.shape[:1] + tile.shape[1:2] + spatial)
            acc[window] += weight * tile
            weight_sum[window[2:]] += weight
    return acc / weight_sum


# -- geometry and weights -------------------------------------------------------------
@pytest.mark.parametrize("size,roi,overlap", [
    (100, 32, 0.25), (96, 32, 0.25), (64, 64, 0.25), (65, 64, 0.5), (10, 1, 0.0),
    (50, 7, 0.9), (33, 32, 0.99), (512, 96, 0.25), (7, 3, 0.6)])
def test_axis_grid_covers_flush_with_the_border(size, roi, overlap):
    (starts,) = axis_grid((size,), (roi,), overlap)
    step = roi if roi == size else max(int(roi * (1 - overlap)), 1)
    assert starts[0] == 0 and starts[-1] == size - roi
    assert all(b - a == step for a, b in zip(starts[:-2], starts[1:-1]))
    if len(starts) > 1:
        assert 0 < starts[-1] - starts[-2] <= step
    covered = np.zeros(size, bool)
    for s in starts:
        covered[s:s + roi] = True
    assert covered.all()


@pytest.mark.parametrize("image_size,roi,overlap", [
    ((100, 77), (32, 32), 0.25), ((96, 96), (32, 48), 0.5), ((64, 64), (64, 64), 0.25),
    ((40, 50, 30), (16, 16, 16), 0.25), ((9, 12, 5), (9, 4, 2), 0.7), ((512, 512), (96, 96), 0.25)])
def test_windows_are_monais(image_size, roi, overlap):
    pytest.importorskip("torch")
    monai_utils = pytest.importorskip("monai.data.utils")
    from monai.inferers.utils import _get_scan_interval
    steps = _get_scan_interval(image_size, roi, len(roi), (overlap,) * len(roi))
    expected = [tuple(s.start for s in sl) for sl in monai_utils.dense_patch_slices(image_size, roi, steps)]
    assert window_starts(image_size, roi, overlap) == expected


@pytest.mark.parametrize("roi", [(96, 96), (7, 13), (1, 5), (64, 33), (16, 8, 4)])
@pytest.mark.parametrize("sigma_scale", [0.125, 0.5, 0.05])
def test_importance_map_is_monais(roi, sigma_scale):
    pytest.importorskip("torch")
    monai_utils = pytest.importorskip("monai.data.utils")
    for blend in ("constant", "gaussian"):
        expected = monai_utils.compute_importance_map(roi, mode=blend, sigma_scale=sigma_scale).numpy()
        got = importance_map(roi, blend, sigma_scale)
        assert got.dtype == np.float32 and got.shape == roi
        # float32 exp in NumPy and in PyTorch may differ in the last bit
        np.testing.assert_allclose(got, expected, rtol=3e-7, atol=0)
    # the clamp: a narrow Gaussian's tails are raised to 1e-3
    if sigma_scale == 0.05 and min(roi) > 10:
        assert importance_map(roi, "gaussian", sigma_scale).min() == np.float32(1e-3)


# -- against MONAI ---------------------------------------------------------------------
@pytest.mark.parametrize("blend", ["constant", "gaussian"])
@pytest.mark.parametrize("overlap", [0.0, 0.25, 0.5, 0.8])
@pytest.mark.parametrize("shape,roi,batch_size", [
    ((1, 1, 64, 64), (32, 32), 4),        # the ROI divides the image
    ((3, 1, 70, 53), (32, 24), 1),        # it does not; several images, one tile per call
    ((2, 3, 45, 61), (45, 20), 7),        # one axis whole; batches spanning images
    ((2, 2, 40, 40), 16, 3)])             # an int ROI
def test_matches_monai(shape, roi, batch_size, overlap, blend):
    torch = pytest.importorskip("torch")
    inferers = pytest.importorskip("monai.inferers")
    model = small_net(in_channels=shape[1], out_channels=3)
    twin = torch_twin(torch, model)
    x = images(shape)
    got = sliding_window(model, x, roi, overlap=overlap, blend=blend, batch_size=batch_size)
    with torch.no_grad():
        expected = inferers.sliding_window_inference(torch.from_numpy(x), roi, batch_size, twin,
                                                     overlap=overlap, mode=blend).numpy()
    assert got.shape == expected.shape == (shape[0], 3) + shape[2:]
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("blend", ["constant", "gaussian"])
def test_unet_matches_monai(blend):
    """The segmentation lab's U-Net, in training mode (sliding_window runs it
    in inference mode all the same), against MONAI on its PyTorch twin."""
    torch = pytest.importorskip("torch")
    inferers = pytest.importorskip("monai.inferers")
    unet = pytest.importorskip("nnfast.models").UNet
    model = unet(spatial_dims=2, in_channels=1, out_channels=2, channels=(16, 32, 64), norm="batch",
                 rng=0)
    # running statistics away from (0, 1), so that eval-mode BatchNorm shows
    rng = np.random.default_rng(5)
    state = model.state_dict()
    for key, value in state.items():
        if key.endswith("running_var"):
            state[key] = rng.uniform(0.5, 2.0, value.shape).astype(np.float32)
        elif key.endswith("running_mean"):
            state[key] = rng.normal(0, 0.2, value.shape).astype(np.float32)
    model.load_state_dict(state)
    twin = torch_unet_like(model)
    x = images((2, 1, 70, 90))
    got = sliding_window(model, x, 32, overlap=0.25, blend=blend, batch_size=3)
    with torch.no_grad():
        expected = inferers.sliding_window_inference(torch.from_numpy(x), 32, 3, twin, overlap=0.25,
                                                     mode=blend).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5 * np.abs(expected).max())


@pytest.mark.parametrize("blend", ["constant", "gaussian"])
@pytest.mark.parametrize("shape,roi", [((2, 1, 20, 50), (32, 32)), ((1, 2, 7, 9), (8, 10)),
                                       ((1, 1, 31, 40), (40, 16))])
def test_padding_matches_monai(shape, roi, blend):
    torch = pytest.importorskip("torch")
    inferers = pytest.importorskip("monai.inferers")
    model = small_net(in_channels=shape[1])
    x = images(shape)
    got = sliding_window(model, x, roi, overlap=0.25, blend=blend, batch_size=2, pad=True)
    with torch.no_grad():
        expected = inferers.sliding_window_inference(torch.from_numpy(x), roi, 2, torch_twin(torch, model),
                                                     overlap=0.25, mode=blend).numpy()
    assert got.shape == expected.shape == (shape[0], 2) + shape[2:]
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


# -- against the definition ------------------------------------------------------------
@pytest.mark.parametrize("blend", ["constant", "gaussian"])
@pytest.mark.parametrize("overlap", [0.0, 0.25, 0.6])
@pytest.mark.parametrize("shape,roi,batch_size", [((2, 1, 50, 37), (16, 16), 3),
                                                  ((1, 2, 24, 24), (8, 24), 1),
                                                  ((3, 1, 20, 30), (20, 30), 2)])
def test_matches_the_definition(shape, roi, batch_size, overlap, blend):
    model = small_net(in_channels=shape[1], dtype=np.float64)
    x = images(shape, dtype=np.float64)
    got = sliding_window(model, x, roi, overlap=overlap, blend=blend, batch_size=batch_size)
    expected = reference_sliding_window(model, x, roi, overlap, blend)
    assert got.dtype == np.float64
    assert_blend_close(got, expected, blend)


def assert_blend_close(got, expected, blend):
    """Constant: float64 rounding only. Gaussian: the map's values are
    float32's (MONAI computes it in float32), the reference's float64's: a
    weighted mean with weights off by a relative 6e-8 moves by about that
    much of the spread of the values averaged, an absolute error (hence
    atol scaled to the output's magnitude)."""
    if blend == "constant":
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    else:
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6 * np.abs(expected).max())


def test_padding_matches_the_definition_on_the_padded_image():
    model = small_net(dtype=np.float64)
    x = images((2, 1, 21, 40), dtype=np.float64)
    got = sliding_window(model, x, (32, 16), overlap=0.5, blend="gaussian", batch_size=3, pad=True)
    # MONAI's padding: (32 - 21) = 11 rows, 5 before and 6 after, zeros
    padded = np.pad(x, ((0, 0), (0, 0), (5, 6), (0, 0)))
    expected = reference_sliding_window(model, padded, (32, 16), 0.5, "gaussian")[:, :, 5:26]
    assert_blend_close(got, expected, "gaussian")


# -- predict at full ROI, and the model left as it was -------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_full_roi_equals_predict(dtype):
    """One window per image. Constant blend: (0 + 1 * y) / 1 is y, so the
    result is predict's bit for bit (the model's output for a sample does
    not depend on the batch it runs in). Gaussian: (w * y) / w, two
    roundings, within one ulp of y; checked at 1 ulp."""
    model = small_net(dtype=dtype)
    model.train()   # left in training mode: sliding_window must run it as predict does
    bn = model.layers[1]
    saved = [a.copy() for _, a in bn.named_buffers()]
    x = images((5, 1, 37, 29), dtype=dtype)
    expected = model.predict(x)
    constant = sliding_window(model, x, (37, 29), blend="constant", batch_size=2)
    np.testing.assert_array_equal(constant, expected)
    gaussian = sliding_window(model, x, (37, 29), blend="gaussian", batch_size=3)
    np.testing.assert_array_max_ulp(gaussian, expected, maxulp=1)
    assert model.training and bn.training
    for (_, after), before in zip(bn.named_buffers(), saved):
        np.testing.assert_array_equal(after, before)


def test_casts_the_image_as_predict_does():
    model = small_net()
    x64 = images((2, 1, 30, 30), dtype=np.float64)
    got = sliding_window(model, x64, 16, blend="gaussian")
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, sliding_window(model, x64.astype(np.float32), 16, blend="gaussian"))
    ints = (x64 * 10).astype(np.int16)
    np.testing.assert_array_equal(sliding_window(model, ints, 16),
                                  sliding_window(model, ints.astype(np.float32), 16))
    # not C-contiguous, and a list
    fortran = np.asfortranarray(x64.astype(np.float32))
    np.testing.assert_array_equal(sliding_window(model, fortran, 16),
                                  sliding_window(model, np.ascontiguousarray(fortran), 16))
    np.testing.assert_array_equal(sliding_window(model, x64[:1].tolist(), 16, blend="gaussian"), got[:1])


def test_batch_size_does_not_change_the_result():
    model = small_net()
    x = images((3, 1, 50, 41))
    results = [sliding_window(model, x, 16, overlap=0.4, blend="gaussian", batch_size=b)
               for b in (1, 2, 5, 1000)]
    for r in results[1:]:
        np.testing.assert_array_equal(r, results[0])


# -- bad input ------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs,error,match", [
    (dict(model=object()), TypeError, "model must be an nnfast"),
    (dict(image=np.zeros((1, 32, 32))), ValueError, r"image must have shape \(N, C, H, W\).*\(1, 32, 32\)"),
    (dict(image=np.zeros((1, 1, 8, 32, 32))), ValueError, r"image must have shape \(N, C, H, W\).*5 dim"),
    (dict(image=np.zeros((0, 1, 32, 32))), ValueError, r"image must not be empty.*\(0, 1, 32, 32\)"),
    (dict(image=np.full((1, 1, 32, 32), "a")), TypeError, "image must be a numeric"),
    (dict(roi_size=0), ValueError, "roi_size must be >= 1, got 0"),
    (dict(roi_size=(16, -1)), ValueError, r"roi_size\[1\] must be >= 1, got -1"),
    (dict(roi_size=(16,)), ValueError, r"roi_size must be an int or 2 ints.*\(16,\)"),
    (dict(roi_size=(16, 16, 16)), ValueError, r"roi_size must be an int or 2 ints"),
    (dict(roi_size=16.0), TypeError, "roi_size must be an int, got float"),
    (dict(roi_size="16"), TypeError, "roi_size must be an int, got str"),
    (dict(roi_size=(40, 16)), ValueError,
     r"roi_size \(40, 16\) is larger than the image of shape \(1, 1, 32, 32\) in spatial dimension 0"),
    (dict(roi_size=(16, 33)), ValueError, r"in spatial dimension 1 \(axis 3: 33 > 32\).*pad=True"),
    (dict(overlap=1.0), ValueError, "overlap must be < 1.0, got 1.0"),
    (dict(overlap=-0.1), ValueError, "overlap must be >= 0.0, got -0.1"),
    (dict(overlap=float("nan")), ValueError, "overlap must be finite"),
    (dict(overlap="0.25"), TypeError, "overlap must be a real number"),
    (dict(blend="linear"), ValueError, r"blend must be one of \('constant', 'gaussian'\), got 'linear'"),
    (dict(blend=None), ValueError, "blend must be one of"),
    (dict(batch_size=0), ValueError, "batch_size must be >= 1, got 0"),
    (dict(batch_size=2.0), TypeError, "batch_size must be an int, got float"),
    (dict(sigma_scale=0.0), ValueError, "sigma_scale must be > 0.0, got 0.0"),
    (dict(pad="yes"), TypeError, "pad must be True or False"),
])
def test_bad_input(kwargs, error, match):
    args = dict(model=small_net(), image=np.zeros((1, 1, 32, 32), np.float32), roi_size=16)
    args.update(kwargs)
    with pytest.raises(error, match=match):
        sliding_window(**args)


def test_model_output_of_another_spatial_size_is_refused():
    model = nf.Sequential(L.Conv2D(1, 2, 3, padding=1), L.MaxPool2D(2))
    with pytest.raises(ValueError, match=r"model must map a batch of tiles of shape \(4, 1, 16, 16\) "
                                         r"to \(4, C_out, 16, 16\).*got shape \(4, 2, 8, 8\)"):
        sliding_window(model, np.zeros((1, 1, 32, 32)), 16)
    flat = nf.Sequential(L.Conv2D(1, 2, 3, padding=1), L.Flatten())
    with pytest.raises(ValueError, match=r"model must map .*got shape \(2, 512\)"):
        sliding_window(flat, np.zeros((1, 1, 32, 32)), 16, batch_size=2)

    class TwoOutputs(L.ReLU):
        def forward(self, x):
            return x, x
    with pytest.raises(TypeError, match=r"model must return one array .*got a tuple of 2 outputs"):
        sliding_window(TwoOutputs(), np.zeros((1, 1, 32, 32)), 16)


# -- memory ----------------------------------------------------------------------------------
def test_tracemalloc_sees_nnfast_arrays():
    """The memory test below relies on it: the arrays nnfast's layers return
    and their scratch come from NumPy (nnfast._aligned), and NumPy reports
    its data allocations to tracemalloc."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        a = _aligned.empty((1 << 20,), np.float32)
        assert tracemalloc.get_traced_memory()[0] - before >= a.nbytes
    finally:
        tracemalloc.stop()


def memory_model():
    """The segmentation lab's U-Net (nf.models.UNet); the small net where it is not built."""
    try:
        from nnfast.models import UNet
    except ImportError:
        return small_net(hidden=16)
    return UNet(spatial_dims=2, in_channels=1, out_channels=2, channels=(16, 32, 64), norm="batch",
                rng=0)


def traced_peak(fn):
    """The peak bytes tracemalloc sees while ``fn()`` runs on a new thread:
    the kernels' per-thread workspace (nnfast._scratch) starts empty there,
    so its allocation counts whichever test ran before."""
    errors = []

    def target():
        try:
            fn()
        except BaseException as e:  # re-raised on the caller's thread
            errors.append(e)
    tracemalloc.start()
    try:
        thread = threading.Thread(target=target)
        thread.start()
        thread.join()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    if errors:
        raise errors[0]
    return peak


def test_peak_memory_is_bounded_by_the_tile_batch():
    """A 2048x2048 image: the peak memory sliding_window allocates is at most

        output + weight sum + model(tile batch) + 2 * tiles in + tiles out
        + importance map + 1 MiB

    bytes, where output = N * C_out * H * W * 4 (float32), weight sum =
    H * W * 4, tiles in / out = batch_size * C (C_out) * roi * 4 (two input
    batches alive at once: the model's first layer may hold the last one
    while the next is gathered), importance map = roi * 4, and model(tile
    batch) the peak the model itself allocates over two forwards of
    batch_size tiles, run from a fresh copy on a fresh thread (its layers'
    output arrays and the kernels' workspace included: the second forward
    allocates new outputs while layers still hold the first's); 1 MiB for
    Python objects. Holding every tile's output instead would add
    n_windows * C_out * roi * 4 bytes (484 windows: 34 MiB); the excess over
    output + weight sum is checked to be the same for a 512x512 image, which
    has 36 windows against 484. (Overlap 0, the fewest windows, for the
    time the test takes: the bound does not depend on it.)"""
    roi, batch_size, overlap = (96, 96), 4, 0.0
    tile_in = batch_size * 1 * roi[0] * roi[1] * 4
    tile_out = batch_size * 2 * roi[0] * roi[1] * 4
    weight_map = roi[0] * roi[1] * 4

    def model_peak():
        model = memory_model()
        tiles = images((batch_size, 1) + roi)

        def run():
            with inference_mode():
                model.forward(tiles)
                model.forward(tiles)
        return traced_peak(run)

    excess = {}
    for size in (512, 2048):
        x = images((1, 1, size, size))
        model = memory_model()
        result = {}

        def run():
            result["y"] = sliding_window(model, x, roi, overlap=overlap, blend="gaussian",
                                         batch_size=batch_size)
        peak = traced_peak(run)
        y = result.pop("y")
        assert y.shape == (1, 2, size, size) and np.isfinite(y).all()
        output, weight_sum, in_model = y.nbytes, size * size * 4, model_peak()
        bound = output + weight_sum + in_model + 2 * tile_in + tile_out + weight_map + (1 << 20)
        print(f"{size}x{size}: peak {peak / 2**20:.2f} MiB <= bound {bound / 2**20:.2f} MiB "
              f"(output {output / 2**20:.2f} + weight sum {weight_sum / 2**20:.2f} + model "
              f"{in_model / 2**20:.2f} + tiles {(2 * tile_in + tile_out) / 2**20:.2f} + 1)")
        assert peak <= bound
        excess[size] = peak - output - weight_sum
    assert excess[2048] <= excess[512] + (1 << 20)
