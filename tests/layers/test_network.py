"""Sequential: order of layers, parameters, train/eval, where backward stops."""
import numpy as np
import pytest

import nnfast as nf


def small_net(dtype=np.float32):
    L = nf.layers
    return nf.Sequential([L.Flatten(), L.Linear(12, 5, dtype=dtype, rng=0), L.ReLU(),
                          L.Linear(5, 3, dtype=dtype, rng=1)])


def test_backward_stops_at_layer_without_input_gradient():
    net = small_net()
    net[1].requires_input_grad = False
    net.forward(np.ones((4, 3, 4)))
    assert net.backward(np.ones((4, 3))) is None
    assert np.any(net[1].weight.grad != 0)      # the first Linear still learns


def test_backward_returns_input_gradient_of_input_shape():
    net = small_net(np.float64)
    x = np.random.default_rng(0).standard_normal((4, 3, 4))
    net.forward(x)
    assert net.backward(np.ones((4, 3))).shape == x.shape
    nf.gradcheck(net, x)


def test_parameters_in_layer_order_weight_before_bias():
    net = small_net()
    names = [p.name for p in net.parameters()]
    assert names == ["weight", "bias", "weight", "bias"]
    assert net.parameters()[0] is net[1].weight


def test_train_eval_propagate():
    net = nf.Sequential([nf.layers.Linear(2, 2), nf.layers.Dropout(0.5)])
    net.eval()
    assert not net.training and not net[1].training
    net.train()
    assert net[1].training


@pytest.mark.parametrize("layers, exc", [([], ValueError), ([np.ones(3)], TypeError)])
def test_bad_layers(layers, exc):
    with pytest.raises(exc, match="layers"):
        nf.Sequential(layers)
