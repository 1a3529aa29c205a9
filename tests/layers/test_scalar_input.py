"""0-d input is refused, not turned into shape (1,): a layer that accepted a
scalar returned an array of another shape than it was given (and a 0-d
gradient reached the kernels). Other byte orders keep their precision."""
import numpy as np
import pytest

import nnfast as nf

ELEMENTWISE = [nf.layers.ReLU, nf.layers.LeakyReLU, nf.layers.PReLU, nf.layers.Sigmoid,
               nf.layers.Tanh, lambda: nf.layers.Dropout(0.5, rng=0)]


@pytest.mark.parametrize("make", ELEMENTWISE)
@pytest.mark.parametrize("x", [np.array(1.5), np.float32(1.5), 1.5, 3],
                         ids=["0d-array", "numpy-scalar", "float", "int"])
def test_activations_and_dropout_refuse_0d_input(make, x):
    with pytest.raises(ValueError, match=r"x must be an array with at least 1 dimension"):
        make().forward(x)


@pytest.mark.parametrize("make", ELEMENTWISE + [nf.layers.Softmax, nf.layers.Flatten])
def test_0d_grad_output_is_refused(make):
    layer = make()
    layer.forward(np.ones((1, 1), np.float32))
    with pytest.raises(ValueError, match="grad_output"):
        layer.backward(np.float32(1.0))


@pytest.mark.parametrize("loss", [nf.losses.MSELoss(), nf.losses.BCEWithLogitsLoss()])
def test_losses_refuse_a_0d_pred(loss):
    with pytest.raises(ValueError, match="pred"):
        loss.forward(np.float64(0.5), np.float64(0.5))


@pytest.mark.parametrize("dtype", [">f8", ">f4"])
def test_non_native_byte_order_keeps_its_float_size(dtype):
    x = np.array([[-1.0, 2.0, 1e-30]], dtype=dtype)
    for layer in (nf.layers.ReLU(), nf.layers.Sigmoid(), nf.layers.Softmax(), nf.layers.Dropout(0.0)):
        out = layer.forward(x)
        assert out.dtype == np.dtype(dtype).newbyteorder("=")
    np.testing.assert_array_equal(nf.layers.ReLU().forward(x), np.maximum(x.astype(float), 0))
