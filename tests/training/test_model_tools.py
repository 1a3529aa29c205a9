"""model.summary / count_params, model.astype, and gradcheck on float32 models."""
import io
import warnings

import numpy as np
import pytest

import nnfast as nf
from nnfast.convert import astype
from nnfast.summary import summarize


def lenet(dtype=np.float32):
    rng = np.random.default_rng(0)
    L = nf.layers
    return nf.Sequential([
        L.Conv2D(1, 6, kernel_size=5, padding=2, dtype=dtype, rng=rng), L.ReLU(),
        L.MaxPool2D(kernel_size=2, stride=2),
        L.Conv2D(6, 16, kernel_size=5, dtype=dtype, rng=rng), L.ReLU(),
        L.MaxPool2D(kernel_size=2, stride=2), L.Flatten(),
        L.Linear(400, 120, dtype=dtype, rng=rng), L.ReLU(),
        L.Linear(120, 84, dtype=dtype, rng=rng), L.ReLU(),
        L.Linear(84, 10, dtype=dtype, rng=rng), L.LogSoftmax(),
    ])


def test_count_params_is_lenets():
    # conv 6*25+6, conv 16*6*25+16, 400*120+120, 120*84+84, 84*10+10
    expected = 156 + 2416 + 48120 + 10164 + 850
    model = lenet()
    assert model.count_params() == expected == sum(p.value.size for p in model.parameters())
    assert nf.layers.ReLU().count_params() == 0


def test_summary_rows_shapes_and_total():
    model = lenet()
    model.train()
    s = summarize(model, (1, 28, 28))
    assert [r[0] for r in s.rows[:3]] == ["0 Conv2D", "1 ReLU", "2 MaxPool2D"]
    assert s.rows[0][1:] == ((6, 28, 28), 156)
    assert s.rows[5][1] == (16, 5, 5) and s.rows[6][1] == (400,)
    assert s.rows[-1] == ("12 LogSoftmax", (10,), 0)
    assert s.total == model.count_params() and model.training is True
    text = str(s)
    assert "(N, 6, 28, 28)" in text and "Total parameters: 61,706 (float32, 241.0 KiB)" in text
    out = io.StringIO()
    model.summary((1, 28, 28), file=out)
    assert out.getvalue().strip() == text


def test_summary_of_nested_and_single_layers(capsys):
    inner = nf.Sequential([nf.layers.Linear(4, 3, rng=0), nf.layers.Tanh()])
    model = nf.Sequential([nf.layers.Flatten(), inner, nf.layers.Linear(3, 2, rng=1)])
    s = summarize(model, (2, 2))
    assert [r[0] for r in s.rows] == ["0 Flatten", "1.0 Linear", "1.1 Tanh", "2 Linear"]
    assert summarize(nf.layers.Linear(5, 2, rng=0), 5).rows == [("Linear", (2,), 12)]
    nf.layers.Linear(5, 2, rng=0).summary((5,))
    assert "Total parameters: 12" in capsys.readouterr().out


@pytest.mark.parametrize("shape, exc, words", [
    ((1, 27, 27), ValueError, "does not fit layer 7 Linear"),
    ((0, 28, 28), ValueError, "input_shape must be >= 1"),
    ("1x28x28", TypeError, "input_shape must be a tuple"),
    ((), TypeError, "input_shape must be a tuple"),
    ((1.0, 28, 28), TypeError, "input_shape must be an int"),
])
def test_summary_bad_input_shape(shape, exc, words):
    with pytest.raises(exc, match=words):
        summarize(lenet(), shape)


def test_astype_is_an_independent_converted_copy():
    model = lenet()
    x = np.random.default_rng(1).random((3, 1, 28, 28), dtype=np.float32)
    out32 = model.forward(x)
    copy = model.astype(np.float64)
    assert type(copy) is nf.Sequential and len(copy) == len(model)
    assert all(p.value.dtype == np.float64 and p.grad.dtype == np.float64
               for p in copy.parameters())
    assert all(p.value.dtype == np.float32 for p in model.parameters())
    assert copy[0].dtype == np.float64 and copy[0].config()["dtype"] == "float64"
    for p, q in zip(model.parameters(), copy.parameters()):
        assert not np.shares_memory(p.value, q.value)
        np.testing.assert_array_equal(p.value.astype(np.float64), q.value)
    out64 = copy.forward(x)
    assert out64.dtype == np.float64
    np.testing.assert_allclose(out64, out32, rtol=1e-4, atol=1e-5)
    # training the copy leaves the original alone
    before = [p.value.copy() for p in model.parameters()]
    opt = nf.optim.SGD(copy.parameters(), lr=0.1)
    loss = nf.losses.NLLLoss()
    loss.forward(copy.forward(x), [1, 2, 3])
    copy.backward(loss.backward())
    opt.step()
    for p, b in zip(model.parameters(), before):
        np.testing.assert_array_equal(p.value, b)
    # back to float32, and through save/load
    again = copy.astype(np.float32)
    assert all(p.value.dtype == np.float32 for p in again.parameters())


def test_astype_copy_needs_its_own_forward_before_backward():
    layer = nf.layers.Linear(3, 2, rng=0)
    layer.forward(np.ones((4, 3), np.float32))
    copy = layer.astype(np.float64)
    with pytest.raises(ValueError, match="backward called before forward"):
        copy.backward(np.ones((4, 2)))


def test_astype_rejects_bad_dtype():
    with pytest.raises(TypeError, match="dtype must be np.float32 or np.float64"):
        lenet().astype(np.int32)
    with pytest.raises(TypeError, match="model must be"):
        astype("model", np.float64)


def test_gradcheck_on_a_float32_model_checks_a_float64_copy():
    rng = np.random.default_rng(0)
    model = nf.Sequential([nf.layers.Linear(4, 5, rng=rng), nf.layers.Tanh(),
                           nf.layers.Linear(5, 3, rng=rng)])
    before = [p.value.copy() for p in model.parameters()]
    with pytest.warns(UserWarning, match=r"checking a float64 copy \(module.astype\(np.float64\)\)"):
        errors = nf.gradcheck(model, rng.standard_normal((6, 4)))
    assert set(errors) == {"input", "0.weight", "0.bias", "2.weight", "2.bias"}
    assert max(errors.values()) < 1e-6
    for p, b in zip(model.parameters(), before):
        assert p.value.dtype == np.float32
        np.testing.assert_array_equal(p.value, b)
    # float64 models: no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nf.gradcheck(model.astype(np.float64), rng.standard_normal((6, 4)))
