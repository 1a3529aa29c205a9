"""BatchNorm1D and BatchNorm2D: PyTorch's semantics (outputs, gradients,
running statistics, eval mode, momentum None, affine and
track_running_stats off), float64 gradient checks, fast == reference, the
fused ReLU, save/load of the running statistics, and bad input."""
import copy

import numpy as np
import pytest

import nnfast as nf
from nnfast import layers as L
from conftest import assert_close

# (class, input shape)
CASES = [(L.BatchNorm1D, (8, 3)), (L.BatchNorm1D, (5, 4, 7)), (L.BatchNorm1D, (1, 2, 3)),
         (L.BatchNorm2D, (4, 3, 5, 6)), (L.BatchNorm2D, (1, 2, 3, 1)),
         (L.BatchNorm2D, (3, 1, 1, 2))]
IDS = [f"{cls.__name__}-{'x'.join(map(str, shape))}" for cls, shape in CASES]
# the largest PyTorch comparison error seen per class, printed by -s
MAX_ERRORS = {}


def _data(shape, dtype, seed=0):
    rng = np.random.default_rng([seed, *shape])
    c = shape[1]
    scale = rng.uniform(0.5, 3, c).reshape((1, c) + (1,) * (len(shape) - 2))
    shift = rng.uniform(-3, 3, c).reshape(scale.shape)
    x = (rng.standard_normal(shape) * scale + shift).astype(dtype)
    return x, rng.standard_normal(shape).astype(dtype)


def _torch_layer(torch, cls, c, **kw):
    t = torch.nn.BatchNorm1d if cls is L.BatchNorm1D else torch.nn.BatchNorm2d
    return t(c, **kw).double()


@pytest.mark.parametrize("momentum", [0.1, None, 0.7])
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("track", [True, False])
@pytest.mark.parametrize("cls,shape", CASES, ids=IDS)
def test_matches_torch(cls, shape, affine, track, momentum, torch):
    kw = dict(eps=1e-5, momentum=momentum, affine=affine, track_running_stats=track)
    layer = cls(shape[1], dtype=np.float64, **kw)
    tlayer = _torch_layer(torch, cls, shape[1], **kw)
    rng = np.random.default_rng(3)
    if affine:
        w, b = rng.uniform(0.5, 2, shape[1]), rng.standard_normal(shape[1])
        layer.weight.value[...] = w
        layer.bias.value[...] = b
        with torch.no_grad():
            tlayer.weight.copy_(torch.from_numpy(w))
            tlayer.bias.copy_(torch.from_numpy(b))
    errors = []
    for step in range(3):
        x, g = _data(shape, np.float64, seed=step)
        if affine:
            for p in layer.parameters():
                p.zero_grad()
            tlayer.zero_grad()
        tx = torch.from_numpy(x.copy()).requires_grad_(True)
        tout = tlayer(tx)
        tout.backward(torch.from_numpy(g))
        out = layer.forward(x)
        grad_input = layer.backward(g)
        pairs = [(out, tout), (grad_input, tx.grad)]
        if affine:
            pairs += [(layer.weight.grad, tlayer.weight.grad), (layer.bias.grad, tlayer.bias.grad)]
        if track:
            pairs += [(layer.running_mean, tlayer.running_mean),
                      (layer.running_var, tlayer.running_var)]
            assert int(layer.num_batches_tracked) == int(tlayer.num_batches_tracked) == step + 1
        else:
            assert layer.running_mean is None and tlayer.running_mean is None
        for ours, theirs in pairs:
            theirs = theirs.detach().numpy()
            errors.append(float(np.max(np.abs(ours - theirs))))
            np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-10)
    layer.eval()
    tlayer.eval()
    x, g = _data(shape, np.float64, seed=9)
    if track or np.prod(shape) // shape[1] > 1:
        out = layer.forward(x)
        tx = torch.from_numpy(x.copy()).requires_grad_(True)
        tout = tlayer(tx)
        tout.backward(torch.from_numpy(g))
        grad_input = layer.backward(g)
        for ours, theirs in ((out, tout), (grad_input, tx.grad)):
            theirs = theirs.detach().numpy()
            errors.append(float(np.max(np.abs(ours - theirs))))
            np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-10)
    MAX_ERRORS[cls.__name__] = max(MAX_ERRORS.get(cls.__name__, 0.0), max(errors))
    print(f"\n{cls.__name__} {shape} vs torch: max abs error {max(errors):.2e}")


@pytest.mark.parametrize("cls,shape", CASES[:2] + CASES[3:4], ids=IDS[:2] + IDS[3:4])
def test_float32_matches_torch(cls, shape, torch):
    layer = cls(shape[1])
    tlayer = torch.nn.BatchNorm1d(shape[1]) if cls is L.BatchNorm1D else torch.nn.BatchNorm2d(shape[1])
    x, g = _data(shape, np.float32)
    tx = torch.from_numpy(x.copy()).requires_grad_(True)
    tout = tlayer(tx)
    tout.backward(torch.from_numpy(g))
    out = layer.forward(x)
    grad_input = layer.backward(g)
    assert out.dtype == grad_input.dtype == np.float32
    for ours, theirs in ((out, tout), (grad_input, tx.grad), (layer.weight.grad, tlayer.weight.grad),
                         (layer.running_var, tlayer.running_var)):
        np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("cls,shape", CASES, ids=IDS)
def test_gradcheck_training(cls, shape):
    layer = cls(shape[1], dtype=np.float64)
    rng = np.random.default_rng(1)
    layer.weight.value[...] = rng.uniform(0.5, 2, shape[1])
    layer.bias.value[...] = rng.standard_normal(shape[1])
    if np.prod(shape) // shape[1] < 2:
        pytest.skip("one value per channel: training needs more")
    nf.gradcheck(layer, _data(shape, np.float64)[0], rtol=1e-6)


def test_gradcheck_eval_and_no_affine():
    layer = L.BatchNorm2D(3, dtype=np.float64)
    layer.running_mean = [0.5, -1.0, 2.0]
    layer.running_var = [2.0, 0.5, 1.5]
    layer.eval()
    nf.gradcheck(layer, _data((2, 3, 4, 3), np.float64)[0])
    nf.gradcheck(L.BatchNorm1D(4, affine=False, dtype=np.float64), _data((6, 4, 3), np.float64)[0])


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("cls,shape", [CASES[1], CASES[3]], ids=[IDS[1], IDS[3]])
def test_fast_matches_reference(cls, shape, training, dtype, threads):
    layer = cls(shape[1], dtype=dtype)
    layer.weight.value[...] = np.linspace(0.5, 2, shape[1])
    layer.running_var = np.linspace(0.5, 3, shape[1])
    layer.train(training)
    twin = copy.deepcopy(layer)
    x, g = _data(shape, dtype)
    out = layer.forward(x).copy()
    grad_input = layer.backward(g).copy()
    with nf.use_backend("reference"):
        ref_out = twin.forward(x)
        ref_grad = twin.backward(g)
    assert_close(out, ref_out, dtype)
    assert_close(grad_input, ref_grad, dtype)
    for a, b in ((layer.weight.grad, twin.weight.grad), (layer.bias.grad, twin.bias.grad),
                 (layer.running_mean, twin.running_mean), (layer.running_var, twin.running_var)):
        assert_close(a, b, dtype)


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("cls,shape", [CASES[0], CASES[3]], ids=[IDS[0], IDS[3]])
def test_relu_fusion_is_bitwise_unfused(cls, shape, training, dtype, threads):
    model = nf.Sequential(cls(shape[1], dtype=dtype), L.ReLU())
    model[0].bias.value[...] = np.linspace(-1, 1, shape[1])
    model.train(training)
    twin = copy.deepcopy(model)
    assert model[0].fuses_relu
    x, g = _data(shape, dtype)
    out = model.forward(x).copy()
    grad_input = model.backward(g).copy()
    y = twin[1].forward(twin[0].forward(x))
    twin_grad = twin[0].backward(twin[1].backward(g))
    np.testing.assert_array_equal(out, y)
    np.testing.assert_array_equal(grad_input, twin_grad)
    np.testing.assert_array_equal(model[0].weight.grad, twin[0].weight.grad)
    np.testing.assert_array_equal(model[0].running_var, twin[0].running_var)


def test_predict_uses_running_stats_and_changes_nothing():
    model = nf.Sequential(L.BatchNorm1D(3, dtype=np.float64))
    x = _data((10, 3), np.float64)[0]
    model.forward(x)
    mean, var = model[0].running_mean.copy(), model[0].running_var.copy()
    out = model.predict(x)
    np.testing.assert_allclose(out, (x - mean) / np.sqrt(var + 1e-5), rtol=1e-12)
    np.testing.assert_array_equal(model[0].running_mean, mean)
    assert int(model[0].num_batches_tracked) == 1 and model[0].training


def test_save_load_round_trip_of_buffers(tmp_path, dtype):
    model = nf.Sequential(L.Linear(4, 3, dtype=dtype), L.BatchNorm1D(3, momentum=None, dtype=dtype),
                          L.ReLU(), L.BatchNorm1D(3, affine=False, track_running_stats=False,
                                                  dtype=dtype))
    for seed in range(3):
        model.forward(_data((6, 4), dtype, seed)[0])
    model.save(tmp_path / "m.npz")
    loaded = nf.load(tmp_path / "m.npz")
    names = [name for name, _ in loaded.named_buffers()]
    assert names == ["1.running_mean", "1.running_var", "1.num_batches_tracked"]
    for (_, a), (_, b) in zip(model.named_buffers(), loaded.named_buffers()):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    assert int(loaded[1].num_batches_tracked) == 3 and loaded[1].momentum is None
    x = _data((5, 4), dtype, 7)[0]
    np.testing.assert_array_equal(model.predict(x), loaded.predict(x))


def test_file_without_buffers_still_loads(tmp_path):
    """A file from before buffers were saved: no "buffers" header entry."""
    import json
    model = nf.Sequential(L.Linear(3, 2), L.ReLU())
    model.save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz") as z:
        arrays = {k: z[k] for k in z.files}
    header = json.loads(str(arrays["header"]))
    del header["buffers"]
    arrays["header"] = np.array(json.dumps(header))
    np.savez(tmp_path / "old.npz", **arrays)
    loaded = nf.load(tmp_path / "old.npz")
    np.testing.assert_array_equal(loaded[0].weight.value, model[0].weight.value)


def test_load_rejects_wrong_buffers(tmp_path):
    model = nf.Sequential(L.BatchNorm1D(3))
    model.save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz") as z:
        arrays = {k: z[k] for k in z.files}
    arrays["buffer_0"] = np.zeros(4, np.float32)
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match="buffer 0"):
        nf.load(tmp_path / "bad.npz")


def test_defaults_and_parameters():
    layer = L.BatchNorm2D(4)
    assert layer.weight.value.dtype == np.float32
    np.testing.assert_array_equal(layer.weight.value, 1)
    np.testing.assert_array_equal(layer.bias.value, 0)
    np.testing.assert_array_equal(layer.running_var, 1)
    assert layer.parameters() == [layer.weight, layer.bias]
    assert L.BatchNorm1D(2, affine=False).parameters() == []
    assert L.BatchNorm1D(2, affine=False).weight is None
    assert "num_features=4" in repr(layer)


@pytest.mark.parametrize("kwargs,error,name", [
    (dict(num_features=0), ValueError, "num_features"),
    (dict(num_features=True), TypeError, "num_features"),
    (dict(num_features=2.0), TypeError, "num_features"),
    (dict(num_features=2, eps=-1e-5), ValueError, "eps"),
    (dict(num_features=2, eps=0.0), ValueError, "eps"),
    (dict(num_features=2, eps=float("nan")), ValueError, "eps"),
    (dict(num_features=2, momentum=-0.1), ValueError, "momentum"),
    (dict(num_features=2, momentum=1.5), ValueError, "momentum"),
    (dict(num_features=2, momentum=float("nan")), ValueError, "momentum"),
    (dict(num_features=2, momentum="0.1"), TypeError, "momentum"),
    (dict(num_features=2, affine=1), TypeError, "affine"),
    (dict(num_features=2, track_running_stats=None), TypeError, "track_running_stats"),
    (dict(num_features=2, dtype=np.int32), TypeError, "dtype"),
])
def test_bad_arguments(kwargs, error, name):
    with pytest.raises(error, match=name):
        L.BatchNorm1D(**kwargs)


@pytest.mark.parametrize("cls,shape", [
    (L.BatchNorm1D, (4, 3)), (L.BatchNorm1D, (4, 5, 2)), (L.BatchNorm2D, (2, 2, 3, 3)),
])
def test_wrong_channel_count(cls, shape):
    with pytest.raises(ValueError, match="num_features"):
        cls(4).forward(np.zeros(shape, np.float32))


@pytest.mark.parametrize("cls,shape", [
    (L.BatchNorm1D, (4,)), (L.BatchNorm1D, (2, 4, 3, 3)), (L.BatchNorm2D, (2, 4, 3)),
    (L.BatchNorm2D, (2, 4, 3, 3, 1)),
])
def test_wrong_rank(cls, shape):
    with pytest.raises(ValueError, match="dimensions"):
        cls(4).forward(np.zeros(shape, np.float32))


@pytest.mark.parametrize("cls,shape", [(L.BatchNorm1D, (1, 3)), (L.BatchNorm1D, (1, 3, 1)),
                                       (L.BatchNorm2D, (1, 3, 1, 1))])
def test_one_value_per_channel_in_training(cls, shape, torch):
    with pytest.raises(ValueError, match="more than one value per channel"):
        cls(3).forward(np.ones(shape, np.float32))
    with pytest.raises(ValueError):
        _torch_layer(torch, cls, 3)(torch.ones(shape, dtype=torch.float64))
    # in eval mode the running statistics serve, as in torch
    assert cls(3).eval().forward(np.ones(shape, np.float32)).shape == shape
    with pytest.raises(ValueError, match="more than one value per channel"):
        cls(3, track_running_stats=False).eval().forward(np.ones(shape, np.float32))


def test_bad_buffers_and_grad_output():
    layer = L.BatchNorm1D(3)
    with pytest.raises(ValueError, match="running_mean"):
        layer.running_mean = np.zeros(4)
    with pytest.raises(ValueError, match="track_running_stats"):
        L.BatchNorm1D(3, track_running_stats=False).running_var = np.ones(3)
    with pytest.raises(ValueError, match="before forward"):
        layer.backward(np.zeros((2, 3), np.float32))
    layer.forward(np.random.default_rng(0).standard_normal((4, 3)))
    with pytest.raises(ValueError, match="grad_output"):
        layer.backward(np.zeros((4, 2), np.float32))
