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


@pytest.mark.parametrize("layers, exc", [
    (([],), ValueError), ((), ValueError), (([np.ones(3)],), TypeError),
    ((np.ones(3),), TypeError), ((nf.layers.ReLU(), [nf.layers.ReLU()]), TypeError),
    (("relu",), TypeError), ((3,), TypeError)])
def test_bad_layers(layers, exc):
    with pytest.raises(exc, match="layers"):
        nf.Sequential(*layers)


def test_layers_as_arguments_or_one_list():
    L = nf.layers
    a, b, c = L.Linear(3, 4, rng=0), L.ReLU(), L.Linear(4, 2, rng=1)
    for net in (nf.Sequential(a, b, c), nf.Sequential([a, b, c]), nf.Sequential((a, b, c)),
                nf.Sequential(iter([a, b, c]))):
        assert net.layers == [a, b, c]
    single = nf.Sequential(a)
    assert single.layers == [a]
    x = np.ones((2, 3), np.float32)
    np.testing.assert_array_equal(nf.Sequential(a, b, c).forward(x),
                                  nf.Sequential([a, b, c]).forward(x))


def test_first_trainable_index_and_layers_without_input_grad():
    net = small_net()
    assert net.first_trainable_index() == 1
    assert net.layers_without_input_grad() == net.layers[:2]
    no_params = nf.Sequential([nf.layers.ReLU(), nf.layers.Flatten()])
    assert no_params.first_trainable_index() == 0
    assert no_params.layers_without_input_grad() == no_params.layers[:1]
    relu = nf.layers.ReLU()
    assert relu.layers_without_input_grad() == [relu]


def test_model_declares_where_fit_may_stop_backward():
    """fit asks the model: a container of its own is trained through
    layers_without_input_grad, not through knowledge of Sequential."""
    class Inner(nf.layers.Layer):
        """One Linear, with its input gradient declared unneeded."""

        def __init__(self):
            super().__init__()
            self.linear = nf.layers.Linear(4, 3, rng=0)

        def parameters(self):
            return self.linear.parameters()

        def forward(self, x):
            return self.linear.forward(x)

        def backward(self, grad_output):
            self.seen = self.linear.requires_input_grad
            return self.linear.backward(grad_output)

        def layers_without_input_grad(self):
            return [self.linear]

    model = Inner()
    X = np.random.default_rng(0).standard_normal((16, 4)).astype(np.float32)
    y = np.arange(16) % 3
    nf.fit(model, X, y, loss=nf.losses.CrossEntropyLoss(),
           optimizer=nf.optim.SGD(model.parameters(), lr=0.1), epochs=1, batch_size=8,
           progress=False)
    assert model.seen is False and model.linear.requires_input_grad is True


def test_fit_does_not_import_sequential():
    import ast
    import inspect
    from nnfast.training import fit as fit_module
    tree = ast.parse(inspect.getsource(fit_module))
    names = {alias.name for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
             for alias in node.names}
    modules = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert "Sequential" not in names and "nnfast.network" not in modules
