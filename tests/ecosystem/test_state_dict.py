"""model.state_dict() / load_state_dict() / named_parameters() under PyTorch's keys."""
import numpy as np
import pytest

import nnfast as nf
from nnfast.layers.base import Layer
from nnfast.parameter import Parameter
from nnfast.state_dict import IncompatibleKeys

L = nf.layers


def lenet(dtype=np.float32):
    return nf.Sequential([
        L.Conv2D(1, 6, 5, padding=2, dtype=dtype), L.ReLU(), L.MaxPool2D(2),
        L.Conv2D(6, 16, 5, dtype=dtype), L.ReLU(), L.AvgPool2D(2),
        L.Flatten(), L.Linear(400, 120, dtype=dtype), L.Tanh(),
        L.Linear(120, 84, dtype=dtype), L.PReLU(84, dtype=dtype), L.Linear(84, 10, dtype=dtype),
    ])


def torch_lenet(torch):
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.AvgPool2d(2),
        nn.Flatten(), nn.Linear(400, 120), nn.Tanh(),
        nn.Linear(120, 84), nn.PReLU(84), nn.Linear(84, 10))


def nested():
    return nf.Sequential([L.Flatten(), nf.Sequential([L.Linear(12, 8), L.Sigmoid()]),
                          L.Dropout(0.2), nf.Sequential([L.Linear(8, 5), nf.Sequential([L.Linear(5, 3)])])])


def torch_nested(torch):
    nn = torch.nn
    return nn.Sequential(nn.Flatten(), nn.Sequential(nn.Linear(12, 8), nn.Sigmoid()),
                         nn.Dropout(0.2), nn.Sequential(nn.Linear(8, 5), nn.Sequential(nn.Linear(5, 3))))


class Normish(Layer):
    """A layer with BatchNorm's parameters and buffers (y = weight * x + bias),
    to test the buffer keys before BatchNorm itself exists."""

    def __init__(self, n):
        super().__init__()
        self.weight = Parameter(np.ones(n, np.float32), "weight")
        self.bias = Parameter(np.zeros(n, np.float32), "bias")
        self.running_mean = np.zeros(n, np.float32)
        self.running_var = np.ones(n, np.float32)
        self.num_batches_tracked = 0

    def parameters(self):
        return [self.weight, self.bias]

    def forward(self, x):
        return x * self.weight.value + self.bias.value


def test_keys_are_torchs(torch):
    for ours, theirs in ((lenet(), torch_lenet(torch)), (nested(), torch_nested(torch))):
        assert list(ours.state_dict()) == list(theirs.state_dict())
        assert [k for k, _ in ours.named_parameters()] == [k for k, _ in theirs.named_parameters()]


def test_named_parameters_are_the_models_parameters():
    model = lenet()
    named = model.named_parameters()
    assert [p for _, p in named] == model.parameters()
    assert [k for k, _ in L.Linear(3, 2).named_parameters()] == ["weight", "bias"]


def test_torch_weights_into_nnfast_give_torchs_outputs(torch):
    for ours, theirs, shape in ((lenet(), torch_lenet(torch), (5, 1, 28, 28)),
                                (nested(), torch_nested(torch), (5, 3, 4))):
        theirs.eval()
        result = ours.load_state_dict(theirs.state_dict())
        assert result == IncompatibleKeys([], [])
        x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
        expected = theirs(torch.from_numpy(x)).detach().numpy()
        np.testing.assert_allclose(ours.predict(x), expected, rtol=1e-5, atol=1e-5)


def test_nnfast_weights_into_torch_give_nnfast_outputs(torch):
    nf.seed(3)
    ours, theirs = lenet(), torch_lenet(torch).eval()
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()}, strict=True)
    x = np.random.default_rng(1).standard_normal((4, 1, 28, 28)).astype(np.float32)
    np.testing.assert_allclose(theirs(torch.from_numpy(x)).detach().numpy(), ours.predict(x),
                               rtol=1e-5, atol=1e-5)


def test_tensors_with_requires_grad_and_other_dtypes_are_accepted(torch):
    theirs = torch.nn.Linear(4, 3)
    ours = L.Linear(4, 3, dtype=np.float64)
    ours.load_state_dict(dict(theirs.named_parameters()))  # tensors that require grad
    np.testing.assert_array_equal(ours.weight.value, theirs.weight.detach().numpy().astype(np.float64))
    assert ours.weight.value.dtype == np.float64
    ours.load_state_dict({"weight": np.ones((3, 4), np.int64), "bias": [1, 2, 3]})
    np.testing.assert_array_equal(ours.bias.value, [1.0, 2.0, 3.0])


def test_state_dict_holds_copies_and_load_writes_in_place():
    model = nested()
    sd = model.state_dict()
    before = sd["1.0.weight"].copy()
    weight = model[1][0].weight
    value = weight.value
    weight.value += 1.0
    np.testing.assert_array_equal(sd["1.0.weight"], before)
    model.load_state_dict(sd)
    assert weight.value is value  # an optimizer holding the array keeps seeing it
    np.testing.assert_array_equal(weight.value, before)


def test_buffers_are_listed_after_parameters_and_loaded(torch):
    model = nf.Sequential([L.Linear(3, 4), Normish(4)])
    keys = list(model.state_dict())
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    assert keys == list(theirs.state_dict())
    theirs.train()
    theirs(torch.randn(8, 3))  # moves the running statistics
    model.load_state_dict(theirs.state_dict())
    np.testing.assert_allclose(model[1].running_mean, theirs[1].running_mean.numpy())
    np.testing.assert_allclose(model[1].running_var, theirs[1].running_var.numpy())
    assert model[1].num_batches_tracked == 1 and type(model[1].num_batches_tracked) is int
    assert model.state_dict()["1.num_batches_tracked"] == 1


def test_strict_names_missing_and_unexpected_keys():
    model = nested()
    sd = model.state_dict()
    del sd["3.0.bias"]
    sd["extra.weight"] = np.zeros(2)
    with pytest.raises(ValueError, match=r"missing keys \['3.0.bias'\] and unexpected keys \['extra.weight'\]"):
        model.load_state_dict(sd)
    result = model.load_state_dict(sd, strict=False)
    assert result.missing_keys == ["3.0.bias"] and result.unexpected_keys == ["extra.weight"]


def test_prefixed_keys_get_a_hint():
    model = nested()
    sd = {"module." + k: v for k, v in model.state_dict().items()}
    with pytest.raises(ValueError, match="prefix 'module.'"):
        model.load_state_dict(sd)


def test_keras_dense_kernel_names_the_layout_and_the_transpose():
    model = nf.Sequential([L.Linear(784, 30), L.ReLU(), L.Linear(30, 10)])
    sd = model.state_dict()
    sd["0.weight"] = sd["0.weight"].T.copy()
    with pytest.raises(ValueError) as info:
        model.load_state_dict(sd)
    msg = str(info.value)
    assert "state_dict['0.weight'] has shape (784, 30)" in msg
    assert "(out_features, in_features) = (30, 784)" in msg
    assert "Keras/TensorFlow Dense kernel" in msg and "w.T" in msg


@pytest.mark.parametrize("axes, layout, fix", [
    ((2, 3, 1, 0), "HWIO", "np.transpose(w, (3, 2, 0, 1))"),
    ((0, 2, 3, 1), "OHWI", "np.transpose(w, (0, 3, 1, 2))"),
])
def test_channels_last_conv_kernels_name_the_layout_and_the_transpose(axes, layout, fix):
    model = lenet()
    sd = model.state_dict()
    foreign = np.transpose(sd["3.weight"], axes)
    np.testing.assert_array_equal(eval(fix, {"np": np, "w": foreign}), sd["3.weight"])  # the fix is right
    sd["3.weight"] = foreign
    with pytest.raises(ValueError) as info:
        model.load_state_dict(sd)
    msg = str(info.value)
    assert "(out_channels, in_channels, kernel_h, kernel_w) = (16, 6, 5, 5)" in msg
    assert layout in msg and fix in msg


def test_other_wrong_shapes_and_values_change_nothing():
    model = lenet()
    good = model.state_dict()
    bad = dict(good, **{"0.bias": np.zeros(7)})
    bad["11.weight"] = np.full((10, 84), 5.0)  # valid, but listed after a bad entry
    with pytest.raises(ValueError, match=r"state_dict\['0.bias'\] must have shape \(6,\) for Conv2D.bias, got \(7,\)"):
        model.load_state_dict(bad)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, good[key])
    with pytest.raises(TypeError, match=r"state_dict\['0.bias'\] must be numeric"):
        model.load_state_dict(dict(good, **{"0.bias": np.array(["a"] * 6)}))
    with pytest.raises(TypeError, match="must be a mapping"):
        model.load_state_dict([("0.bias", good["0.bias"])])
    with pytest.raises(TypeError, match="strict must be True or False"):
        model.load_state_dict(good, strict="yes")


def test_models_pickle_with_their_weights_and_state():
    import pickle
    model = nf.Sequential([L.Conv2D(1, 2, 3), L.ReLU(), L.Flatten(), L.Dropout(0.5, rng=4),
                           L.Linear(2 * 4 * 4, 3)])
    x = np.random.default_rng(0).random((2, 1, 6, 6), dtype=np.float32)
    model.forward(x)  # layers now hold a forward's state and scratch
    copy = pickle.loads(pickle.dumps(model))
    assert "_rings" not in copy[0].__dict__  # scratch arrays are not pickled
    np.testing.assert_array_equal(copy.predict(x), model.predict(x))
    np.testing.assert_array_equal(copy.forward(x), model.forward(x))  # the Dropout stream too
