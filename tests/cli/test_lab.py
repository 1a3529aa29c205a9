"""The MNIST lab through nf.fit: vanishing gradients in a deep sigmoid MLP,
and the lab's default settings against PyTorch's under the same weights,
data and batch order."""
import numpy as np
import pytest

import nnfast as nf
from nnfast.cli import lab

LAB_READY = (all(hasattr(nf.layers, n) for n in ("Flatten", "Sigmoid", "LogSoftmax"))
             and hasattr(getattr(nf, "losses", None), "NLLLoss")
             and hasattr(getattr(nf, "optim", None), "SGD"))
pytestmark = pytest.mark.skipif(not LAB_READY, reason="activations, losses or optimizers not available")


@pytest.fixture(scope="module")
def mnist():
    return nf.datasets.load_mnist()


def test_five_sigmoid_layers_vanishing_gradients(mnist):
    (X, y), _ = mnist
    model = lab.build_mlp(784, 10, hidden_layers=5, hidden_units=30, activation_name="sigmoid",
                          rng=np.random.default_rng(0))
    opt = nf.optim.SGD(model.parameters(), lr=0.003, momentum=0.9)
    h = nf.fit(model, X[:1024], y[:1024], loss=nf.losses.NLLLoss(), optimizer=opt, epochs=2,
               batch_size=64, progress=False, track_grad_norms=True, rng=0)
    keys = list(h.grad_norms)
    assert keys == ["1:Linear", "3:Linear", "5:Linear", "7:Linear", "9:Linear", "11:Linear"]
    first, last = h.grad_norms[keys[0]], h.grad_norms[keys[-1]]
    for epoch in range(2):
        assert first[epoch] / last[epoch] < 1e-2, (first, last)
    # and the norms shrink layer by layer from the output down
    ends = [h.grad_norms[k][-1] for k in keys]
    assert ends[0] < ends[2] < ends[4] < ends[5]


def test_lab_defaults_match_torch_test_accuracy(torch, mnist):
    """784-30-10 sigmoid, LogSoftmax + NLLLoss, SGD lr 0.003 momentum 0.9,
    batch 64, 15 epochs, on the bundled sample: within 3 points of PyTorch."""
    (X, y), (Xt, yt) = mnist
    model = lab.build_mlp(784, 10, 1, 30, "sigmoid", rng=np.random.default_rng(0))
    tmodel = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 30), torch.nn.Sigmoid(),
                                 torch.nn.Linear(30, 10), torch.nn.LogSoftmax(dim=1))
    with torch.no_grad():
        for p, tp in zip(model.parameters(), tmodel.parameters()):
            tp.copy_(torch.from_numpy(p.value))
    opt = nf.optim.SGD(model.parameters(), lr=0.003, momentum=0.9)
    h = nf.fit(model, X, y, loss=nf.losses.NLLLoss(), optimizer=opt, epochs=15, batch_size=64,
               validation_data=(Xt, yt), progress=False, rng=np.random.default_rng(42))

    old_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        topt = torch.optim.SGD(tmodel.parameters(), lr=0.003, momentum=0.9)
        tloss = torch.nn.NLLLoss()
        order = np.random.default_rng(42)   # the same batch order as nf.fit's
        tX, ty = torch.from_numpy(X), torch.from_numpy(y)
        for epoch in range(15):
            perm = torch.from_numpy(order.permutation(len(X)))
            for lo in range(0, len(X), 64):
                idx = perm[lo:lo + 64]
                topt.zero_grad()
                tloss(tmodel(tX[idx]), ty[idx]).backward()
                topt.step()
        with torch.no_grad():
            t_accuracy = (tmodel(torch.from_numpy(Xt)).argmax(dim=1).numpy() == yt).mean()
    finally:
        torch.set_num_threads(old_threads)
    accuracy = h.val_accuracy[-1]
    assert accuracy == pytest.approx(model.evaluate(Xt, yt, loss=nf.losses.NLLLoss())["accuracy"])
    assert abs(accuracy - t_accuracy) <= 0.03, (accuracy, t_accuracy)
    assert accuracy > 0.5  # it learned something: 10 classes, chance is 0.1
