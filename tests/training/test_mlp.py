"""The 784-30-10 sigmoid MLP end to end: it learns, and it matches PyTorch."""
import numpy as np
import pytest

import nnfast as nf


def lab_mlp(dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    return nf.Sequential([
        nf.layers.Flatten(),
        nf.layers.Linear(784, 30, dtype=dtype, rng=rng),
        nf.layers.Sigmoid(),
        nf.layers.Linear(30, 10, dtype=dtype, rng=rng),
    ])


def test_lab_mlp_learns_bundled_mnist():
    (X, y), (Xt, yt) = nf.datasets.load_mnist()
    model = lab_mlp()
    loss = nf.losses.CrossEntropyLoss()
    opt = nf.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    order = np.random.default_rng(1).permutation(len(X))
    for epoch in range(4):
        for i in range(0, len(X), 64):
            idx = order[i:i + 64]
            loss.forward(model.forward(X[idx]), y[idx])
            model.backward(loss.backward())
            opt.step()
            opt.zero_grad()
    accuracy = np.mean(model.forward(Xt).argmax(axis=1) == yt)
    assert accuracy > 0.70, accuracy


@pytest.mark.parametrize("backend", ["fast", "reference"])
def test_lab_mlp_matches_torch_after_two_sgd_momentum_steps(torch, backend):
    """Same weights, same batches: same loss, gradients and updated weights."""
    rng = np.random.default_rng(5)
    x = rng.random((2, 16, 1, 28, 28))
    y = rng.integers(0, 10, size=(2, 16))
    model = lab_mlp(np.float64, seed=3)
    tmodel = torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(784, 30), torch.nn.Sigmoid(), torch.nn.Linear(30, 10)
    ).double()
    with torch.no_grad():
        for p, tp in zip(model.parameters(), tmodel.parameters()):
            tp.copy_(torch.from_numpy(p.value))
    loss = nf.losses.CrossEntropyLoss()
    tloss = torch.nn.CrossEntropyLoss()
    opt = nf.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    topt = torch.optim.SGD(tmodel.parameters(), lr=0.1, momentum=0.9)
    with nf.use_backend(backend):
        for step in range(2):
            value = loss.forward(model.forward(x[step]), y[step])
            model.backward(loss.backward())
            tvalue = tloss(tmodel(torch.from_numpy(x[step])), torch.from_numpy(y[step]))
            tvalue.backward()
            assert value == pytest.approx(tvalue.item(), rel=1e-12)
            for p, tp in zip(model.parameters(), tmodel.parameters()):
                np.testing.assert_allclose(p.grad, tp.grad.numpy(), rtol=1e-10, atol=1e-14)
            opt.step()
            opt.zero_grad()
            topt.step()
            topt.zero_grad()
            for p, tp in zip(model.parameters(), tmodel.parameters()):
                np.testing.assert_allclose(p.value, tp.detach().numpy(), rtol=1e-10, atol=1e-14)
