"""The segmentation lab's training, side by side with PyTorch: the same
U-Net, initial weights, batches, loss (MONAI's DiceCE with softmax, written
in torch) and Adam reach the same held-out Dice within 0.01."""
import importlib.util
import pathlib

import numpy as np
import pytest

import nnfast as nf

torch = pytest.importorskip("torch")

BENCH = pathlib.Path(__file__).resolve().parents[2] / "bench" / "torch_unet.py"


def _torch_unet_like():
    spec = importlib.util.spec_from_file_location("torch_unet", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.torch_unet_like


def torch_dice_ce(logits, target):
    """MONAI's DiceCELoss(softmax=True, to_onehot_y=True) with its defaults."""
    probs = torch.softmax(logits, dim=1)
    onehot = torch.nn.functional.one_hot(target, logits.shape[1]).permute(0, 3, 1, 2).to(probs.dtype)
    inter = (probs * onehot).sum((2, 3))
    denom = probs.sum((2, 3)) + onehot.sum((2, 3))
    dice = 1.0 - (2.0 * inter + 1e-5) / (denom + 1e-5)
    return dice.mean() + torch.nn.functional.cross_entropy(logits, target)


def test_torch_dice_ce_is_monais():
    monai = pytest.importorskip("monai")
    from monai.losses import DiceCELoss
    rng = np.random.default_rng(0)
    logits = torch.from_numpy(rng.standard_normal((3, 3, 8, 8)))
    target = torch.from_numpy(rng.integers(0, 3, (3, 8, 8)))
    ours = torch_dice_ce(logits, target)
    theirs = DiceCELoss(softmax=True, to_onehot_y=True)(logits, target[:, None])
    assert ours.item() == pytest.approx(theirs.item(), rel=1e-10)
    assert monai is not None


@pytest.fixture
def one_thread():
    """Both libraries on one thread each: the two trainings alternate step by
    step, and two teams of two on two cores would wait on each other."""
    old, old_torch = nf.get_num_threads(), torch.get_num_threads()
    nf.set_num_threads(1)
    torch.set_num_threads(1)
    yield
    nf.set_num_threads(old)
    torch.set_num_threads(old_torch)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_same_unet_same_batches_same_dice(dtype, one_thread):
    """float64: the two trainings stay together step by step; float32: they
    part by rounding as any two float32 trainings do, and still end at the
    same Dice."""
    torch.manual_seed(0)
    X, y = nf.datasets.make_phantoms(240, size=32, classes=3, seed=3)
    X = X.astype(dtype)
    train, held = slice(0, 200), slice(200, 240)
    model = nf.models.UNet(2, 1, 3, channels=(8, 16, 32), dtype=dtype, rng=1)
    twin = _torch_unet_like()(model)
    loss = nf.losses.DiceCELoss(softmax=True, to_onehot_y=True)
    opt = nf.optim.Adam(model.parameters(), lr=1e-3)
    topt = torch.optim.Adam(twin.parameters(), lr=1e-3)
    model.layers[0].requires_input_grad = False
    order = np.random.default_rng(4)
    losses, tlosses = [], []
    # float32: long enough to reach the Dice of the lab's target (0.9);
    # float64: the trajectories themselves are compared
    for epoch in range(10 if dtype == np.float32 else 4):
        for idx in np.array_split(order.permutation(200), 200 // 16):
            xb, yb = X[train][idx], y[train][idx]
            losses.append(loss.forward(model.forward(xb), yb))
            model.backward(loss.backward())
            opt.step()
            opt.zero_grad()
            value = torch_dice_ce(twin(torch.from_numpy(xb)), torch.from_numpy(yb))
            value.backward()
            topt.step()
            topt.zero_grad()
            tlosses.append(value.item())
    assert losses[0] == pytest.approx(tlosses[0], rel=1e-4)
    if dtype == np.float64:
        np.testing.assert_allclose(losses, tlosses, rtol=1e-6)
    pred = model.predict(X[held]).argmax(1)
    twin.eval()
    with torch.no_grad():
        tpred = twin(torch.from_numpy(X[held])).numpy().argmax(1)
    dice = np.nanmean(nf.metrics.dice(pred, y[held], 3))
    tdice = np.nanmean(nf.metrics.dice(tpred, y[held], 3))
    if dtype == np.float32:
        assert dice > 0.9, (dice, losses[-5:])    # it learned what the lab asks of it
    assert abs(dice - tdice) <= 0.01, (dice, tdice)
