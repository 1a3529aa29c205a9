"""nf.models.UNet: nested SkipConnections in a Sequential, against its PyTorch
twin (bench/torch_unet.py) with the same weights in train mode (batch
statistics, running statistics after a step) and eval mode, a float64
gradient check, state dicts that load into the twin strictly, save/load,
nf.fit on a small segmentation problem, ONNX export, concurrent predict, and
bad arguments."""
import copy
import threading

import numpy as np
import pytest

import nnfast as nf
from nnfast import layers as L
from nnfast.fuzz.doubles import LayerChain
from conftest import assert_close
from test_graph import segmentation_data
from test_skip_connection import torch_twins


def case(seed, dtype):
    """(UNet, x): random channels (2 or 3 levels), norm and shape, H and W
    multiples of 2 ** (levels - 1)."""
    rng = np.random.default_rng(seed)
    levels = int(rng.integers(2, 4))
    channels = tuple(int(c) for c in rng.integers(2, 6, size=levels))
    norm = ("batch", None)[seed % 2] if seed > 1 else "batch"
    c_in, c_out = (int(v) for v in rng.integers(1, 4, size=2))
    step = 2 ** (levels - 1)
    h, w = (int(step * v) for v in rng.integers(1, 4, size=2))
    n = int(rng.integers(2, 4))
    model = nf.models.UNet(2, c_in, c_out, channels=channels, norm=norm, dtype=dtype, rng=seed)
    x = rng.standard_normal((n, c_in, h, w)).astype(dtype)
    return model, x


def torch_run(torch, twin, x, g):
    tx = torch.from_numpy(x.copy()).requires_grad_(True)
    out = twin(tx)
    out.backward(torch.from_numpy(g))
    return out.detach().numpy(), tx.grad.numpy()


def tolerance(dtype):
    # float32 through up to a dozen convolutions and batch normalisations
    return 1e-3 if dtype == np.float32 else 1e-9


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_train_mode_matches_torch(seed, dtype, torch):
    model, x = case(seed, dtype)
    twin = torch_twins().torch_unet_like(model)
    assert twin.training
    rtol = tolerance(dtype)
    for step in range(2):     # the second step after a parameter gradient step
        out = model.forward(x)
        g = np.random.default_rng([seed, step]).standard_normal(out.shape).astype(dtype)
        grad_x = model.backward(g)
        t_out, t_grad_x = torch_run(torch, twin, x, g)
        assert out.dtype == dtype and out.shape == x.shape[:1] + (model[-1].out_channels,) + \
            x.shape[2:]
        assert_close(out, t_out, dtype, rtol)
        assert_close(grad_x, t_grad_x, dtype, rtol)
        t_params = dict(twin.named_parameters())
        for key, p in model.named_parameters():
            assert_close(p.grad, t_params[key].grad.numpy(), dtype, rtol)
        t_buffers = dict(twin.named_buffers())
        for key, value in model.named_buffers():
            assert_close(value, t_buffers[key].numpy(), dtype, rtol)
        # an SGD step on both sides, from the same gradients
        with torch.no_grad():
            for key, p in model.named_parameters():
                p.value -= 0.1 * p.grad
                t_params[key] -= 0.1 * t_params[key].grad
                p.zero_grad()
                t_params[key].grad = None
        x = np.random.default_rng([seed, step, 1]).standard_normal(x.shape).astype(dtype)


@pytest.mark.parametrize("seed", [0, 3])
def test_eval_mode_matches_torch(seed, dtype, torch):
    model, x = case(seed, dtype)
    for i in range(3):            # running statistics away from (0, 1)
        model.forward(x + i)
    model.eval()
    twin = torch_twins().torch_unet_like(model)
    assert not twin.training
    out = model.forward(x)
    g = np.random.default_rng(seed).standard_normal(out.shape).astype(dtype)
    grad_x = model.backward(g)
    t_out, t_grad_x = torch_run(torch, twin, x, g)
    rtol = tolerance(dtype)
    assert_close(out, t_out, dtype, rtol)
    assert_close(grad_x, t_grad_x, dtype, rtol)
    t_params = dict(twin.named_parameters())
    for key, p in model.named_parameters():
        assert_close(p.grad, t_params[key].grad.numpy(), dtype, rtol)
    model.train()
    np.testing.assert_array_equal(model.predict(x), out)    # predict runs in eval mode


@pytest.mark.parametrize("norm", ["batch", None])
def test_gradcheck(norm):
    model = nf.models.UNet(2, 1, 2, channels=(2, 4), norm=norm, dtype=np.float64, rng=0)
    x = np.random.default_rng(1).standard_normal((2, 1, 8, 8))
    errors = nf.gradcheck(model, x, max_checks=60)
    assert len(errors) == 1 + len(model.parameters())


def test_architecture():
    model = nf.models.UNet(2, 3, 4, channels=(5, 6, 7), rng=0)
    assert isinstance(model, nf.Sequential)
    skips = [layer for layer in model if isinstance(layer, L.SkipConnection)]
    assert len(skips) == 1 and skips[0].mode == "cat" and skips[0].dim == 1
    inner = skips[0].inner
    assert isinstance(inner[0], L.MaxPool2D) and isinstance(inner[-1], L.ConvTranspose2D)
    assert (inner[-1].in_channels, inner[-1].out_channels) == (6, 5)
    assert any(isinstance(layer, L.SkipConnection) for layer in inner)   # the nested level
    convs = [layer for layer in model if isinstance(layer, L.Conv2D)]
    assert convs[0].in_channels == 3 and convs[-1].out_channels == 4
    assert convs[-1].kernel_size in ((1, 1), [1, 1], 1)
    assert convs[2].in_channels == 10                   # [skip, up]: 2 x 5 channels
    assert convs[0].bias is None and convs[-1].bias is not None
    no_norm = nf.models.UNet(channels=(2, 3), norm=None, rng=0)
    assert not any(isinstance(layer, L.BatchNorm2D) for layer in no_norm)
    assert all(c.bias is not None for c in no_norm if isinstance(c, L.Conv2D))
    out = model.forward(np.zeros((2, 3, 12, 8), np.float32))
    assert out.shape == (2, 4, 12, 8) and out.dtype == np.float32


def test_seeded_and_float64():
    a = nf.models.UNet(channels=(2, 3), rng=7)
    b = nf.models.UNet(channels=(2, 3), rng=7)
    c = nf.models.UNet(channels=(2, 3), rng=8)
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p.value, q.value)
    assert any(not np.array_equal(p.value, q.value) for p, q in zip(a.parameters(), c.parameters()))
    double = nf.models.UNet(channels=(2, 3), dtype=np.float64, rng=7)
    assert all(p.value.dtype == np.float64 for p in double.parameters())
    assert all(v.dtype == np.float64 for k, v in double.named_buffers() if "running" in k)


def test_sequential_fusions_give_the_unfused_result(dtype):
    model = nf.models.UNet(2, 1, 2, channels=(3, 4, 5), dtype=dtype, rng=0)
    twin = copy.deepcopy(model)
    x = np.random.default_rng(0).standard_normal((2, 1, 8, 8)).astype(dtype)
    out = model.forward(x).copy()
    g = np.random.default_rng(1).standard_normal(out.shape).astype(dtype)
    grad_x = model.backward(g).copy()
    chain = LayerChain(twin.layers)
    np.testing.assert_array_equal(out, chain.forward(x))
    np.testing.assert_array_equal(grad_x, chain.backward(g))
    for p, q in zip(model.parameters(), twin.parameters()):
        np.testing.assert_array_equal(p.grad, q.grad)


# -- state dicts, saving --------------------------------------------------------
def test_state_dict_loads_into_the_torch_twin_strictly(torch):
    model, x = case(2, np.float32)
    model.forward(x)
    twins = torch_twins()
    fresh = twins.torch_module_like(model)        # torch's own initial weights
    keys = list(model.state_dict())
    assert list(fresh.state_dict()) == keys
    assert any(".submodule." in k for k in keys)
    result = fresh.load_state_dict({k: torch.from_numpy(v) for k, v in
                                    model.state_dict().items()}, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    fresh.eval()
    with torch.no_grad():
        t_out = fresh(torch.from_numpy(x)).numpy()
    assert_close(model.predict(x), t_out, np.float32, 1e-3)
    # and back: torch's state into a fresh UNet of the same shape
    back = copy.deepcopy(model)
    for p in back.parameters():
        p.value[...] = 0
    back.load_state_dict(fresh.state_dict(), strict=True)
    np.testing.assert_array_equal(back.predict(x), model.predict(x))


def test_save_load_round_trip(tmp_path, dtype):
    model, x = case(2, dtype)
    assert any(isinstance(layer, L.BatchNorm2D) for layer in model)
    for i in range(2):
        model.forward(x * (i + 1))
    model.save(tmp_path / "u.npz")
    back = nf.load(tmp_path / "u.npz")
    assert list(back.state_dict()) == list(model.state_dict())
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(back.state_dict()[key], value, err_msg=key)
    assert float(back.state_dict()["1.num_batches_tracked"]) == 2
    assert back.training == model.training
    np.testing.assert_array_equal(back.predict(x), model.predict(x))
    assert back.predict(x).dtype == dtype


# -- training, evaluating, predicting --------------------------------------------
def test_fit_trains_a_unet_and_evaluate_predict_work():
    X, y = segmentation_data(64, seed=1)
    target = y[:, None].astype(np.float32)
    model = nf.models.UNet(2, 1, 1, channels=(4, 8), rng=0)
    loss = nf.losses.BCEWithLogitsLoss()
    before = model.evaluate(X, target, loss=loss)["loss"]
    history = nf.fit(model, X, target, loss=loss,
                     optimizer=nf.optim.Adam(model.parameters(), lr=0.02), epochs=6,
                     batch_size=16, verbose=0)
    assert history.loss[-1] < 0.7 * history.loss[0]
    result = model.evaluate(X, target, loss=loss)
    assert result["loss"] < 0.8 * before
    pred = model.predict(X, batch_size=24)
    assert pred.shape == (64, 1, 16, 16)
    # a quarter of the pixels are 1: all-0 would score 0.75
    assert np.mean((pred[:, 0] > 0) == (y == 1)) > 0.85
    assert model.training and all(layer.requires_input_grad for layer in model)


def test_fit_trains_a_unet_with_cross_entropy_on_label_maps():
    X, y = segmentation_data(32, seed=1)
    model = nf.models.UNet(2, 1, 2, channels=(4, 8), rng=0)
    history = nf.fit(model, X, y, loss=nf.losses.CrossEntropyLoss(),
                     optimizer=nf.optim.Adam(model.parameters(), lr=0.01), epochs=3,
                     batch_size=16, verbose=0)
    assert history.loss[-1] < history.loss[0]


def test_no_input_gradient_in_training_keeps_parameter_gradients():
    model, x = case(0, np.float64)
    twin = copy.deepcopy(model)
    g = np.ones((x.shape[0], model[-1].out_channels) + x.shape[2:])
    twin.forward(x)
    assert twin.backward(g).shape == x.shape
    off = model.layers_without_input_grad()
    assert off == [model[0]]            # the first convolution: nothing below learns
    for layer in off:
        layer.requires_input_grad = False
    model.forward(x)
    assert model.backward(g) is None
    for p, q in zip(model.parameters(), twin.parameters()):
        np.testing.assert_array_equal(p.grad, q.grad)


# -- ONNX -----------------------------------------------------------------------------
def test_onnx_export_runs_as_predict(tmp_path):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    model = nf.models.UNet(2, 2, 3, channels=(3, 4, 6), rng=0)
    x = np.random.default_rng(0).standard_normal((3, 2, 16, 12)).astype(np.float32)
    model.forward(x)      # running statistics away from (0, 1)
    nf.onnx.export(model, tmp_path / "u.onnx", (2, 16, 12))
    session = ort.InferenceSession(str(tmp_path / "u.onnx"), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(got, model.predict(x), atol=1e-5, rtol=0)


# -- threads ------------------------------------------------------------------------
def test_two_threads_predicting_at_once_get_what_each_would_alone():
    model = nf.models.UNet(2, 1, 2, channels=(4, 8, 8), rng=0)
    rng = np.random.default_rng(0)
    model.forward(rng.standard_normal((4, 1, 16, 16)).astype(np.float32))
    inputs = [rng.standard_normal((5, 1, 16, 16)).astype(np.float32),
              rng.standard_normal((3, 1, 32, 16)).astype(np.float32)]
    expected = [model.predict(x, batch_size=2) for x in inputs]
    wrong, errors, start = [0, 0], [], threading.Barrier(2)

    def work(i):
        try:
            start.wait()
            for _ in range(10):
                wrong[i] += not np.array_equal(model.predict(inputs[i], batch_size=2), expected[i])
        except BaseException as e:  # noqa: BLE001 - re-raised below
            errors.append(e)
    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads)
    if errors:
        raise errors[0]
    assert wrong == [0, 0]
    assert model.training


# -- bad arguments --------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, exc, words", [
    (dict(spatial_dims=3), ValueError, "spatial_dims must be 2 .* got 3"),
    (dict(spatial_dims="2"), TypeError, "spatial_dims must be an int, got str '2'"),
    (dict(spatial_dims=2.0), TypeError, "spatial_dims must be an int, got float"),
    (dict(channels=(16,)), ValueError, r"channels must list at least 2 levels .* got \(16,\)"),
    (dict(channels=()), ValueError, r"channels must list at least 2 levels"),
    (dict(channels=16), TypeError, "channels must be a sequence of ints .* got int 16"),
    (dict(channels="16,32"), TypeError, "channels must be a sequence of ints .* got str"),
    (dict(channels=(16, -32)), ValueError, r"channels\[1\].*-32"),
    (dict(channels=(0, 32)), ValueError, r"channels\[0\].*0"),
    (dict(channels=(16, 2.5)), TypeError, r"channels\[1\]"),
    (dict(kernel_size=2), ValueError, "kernel_size must be odd .* got 2"),
    (dict(kernel_size=0), ValueError, "kernel_size"),
    (dict(kernel_size=3.0), TypeError, "kernel_size"),
    (dict(norm="group"), ValueError, r"norm must be one of \('batch', None\), got 'group'"),
    (dict(norm="instance"), ValueError, "norm must be one of"),
    (dict(in_channels=0), ValueError, "in_channels"),
    (dict(out_channels=-1), ValueError, "out_channels"),
    (dict(in_channels="1"), TypeError, "in_channels"),
    (dict(up_kernel_size=3), ValueError, "up_kernel_size must be 2 .* got 3"),
    (dict(dtype=np.int32), (TypeError, ValueError), "dtype"),
    (dict(rng="seed"), (TypeError, ValueError), "rng"),
])
def test_bad_arguments(kwargs, exc, words):
    with pytest.raises(exc, match=words):
        nf.models.UNet(**kwargs)


def test_an_input_size_that_does_not_halve_evenly_names_the_shapes():
    model = nf.models.UNet(2, 1, 2, channels=(2, 3, 4), rng=0)
    # 30 -> 15 -> 7 down, 7 -> 14 up: the deeper join cannot match 15
    with pytest.raises(ValueError, match=r"SkipConnection\(mode='cat', dim=1\): inner's output "
                                         r"must match x \(1, 3, 15, 15\) on every axis but 1, "
                                         r"got \(1, 3, 14, 14\)"):
        model.forward(np.zeros((1, 1, 30, 30), np.float32))
    with pytest.raises(ValueError, match=r"x must have shape \(n_samples, 1, height, width\)"):
        model.forward(np.zeros((1, 2, 16, 16), np.float32))
