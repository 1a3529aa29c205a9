"""LeNet-5 trains on the bundled MNIST subset to > 90 % test accuracy.

Conv 1->6 5x5 pad 2, ReLU, maxpool 2, conv 6->16 5x5, ReLU, maxpool 2,
Linear 400-120-84-10 with ReLU; SGD with momentum; a few epochs over 4,000
training images (a few seconds here).
"""
import numpy as np
import pytest

import nnfast as nf

def lenet5():
    L = nf.layers
    return nf.Sequential([
        L.Conv2D(1, 6, 5, padding=2), L.ReLU(), L.MaxPool2D(2),
        L.Conv2D(6, 16, 5), L.ReLU(), L.MaxPool2D(2),
        L.Flatten(),
        L.Linear(400, 120), L.ReLU(),
        L.Linear(120, 84), L.ReLU(),
        L.Linear(84, 10),
    ])


def test_lenet5_trains_on_mnist_subset():
    (x_train, y_train), (x_test, y_test) = nf.datasets.load_mnist()
    nf.seed(0)
    model = lenet5()
    model.layers[0].requires_input_grad = False    # nothing below the first layer
    loss = nf.losses.CrossEntropyLoss()
    opt = nf.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    rng = np.random.default_rng(0)
    batch_size = 64
    for epoch in range(4):
        order = rng.permutation(len(x_train))
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            logits = model.forward(x_train[idx])
            value = loss.forward(logits, y_train[idx])
            assert np.isfinite(value)
            model.backward(loss.backward())
            opt.step()
            opt.zero_grad()
    model.eval()
    predicted = np.concatenate([model.forward(x_test[i:i + 500]).argmax(axis=1)
                                for i in range(0, len(x_test), 500)])
    accuracy = float(np.mean(predicted == y_test))
    assert accuracy > 0.90, f"test accuracy {accuracy:.3f}"
