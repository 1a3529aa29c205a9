"""Parameter assignment is checked: a wrong shape, dtype or type is a
ValueError/TypeError naming the parameter, never a crash or garbage."""
import numpy as np
import pytest

import nnfast as nf


def test_keras_layout_dense_kernel_is_refused_with_the_transpose_named():
    layer = nf.layers.Linear(3, 2)
    with pytest.raises(ValueError, match=r"'weight'.*shape \(2, 3\).*transpos.*got shape \(3, 2\)"):
        layer.weight.value = np.ones((3, 2), np.float32)


def test_hwio_conv_kernel_is_refused():
    layer = nf.layers.Conv2D(3, 8, kernel_size=5)
    with pytest.raises(ValueError, match=r"shape \(8, 3, 5, 5\).*got shape \(5, 5, 3, 8\)"):
        layer.weight.value = np.ones((5, 5, 3, 8), np.float32)


def test_too_small_weight_is_refused_not_read_out_of_bounds():
    layer = nf.layers.Linear(3, 2)
    with pytest.raises(ValueError, match=r"got shape \(1, 1\)"):
        layer.weight.value = np.ones((1, 1), np.float32)
    # the layer still works with its own weight
    assert layer.forward(np.ones((4, 3), np.float32)).shape == (4, 2)


@pytest.mark.parametrize("bad", [None, "weights", {"a": 1}])
def test_none_and_non_arrays_are_a_type_error(bad):
    layer = nf.layers.PReLU()
    with pytest.raises(TypeError, match="'weight'"):
        layer.weight.value = bad


def test_complex_values_are_a_type_error():
    layer = nf.layers.Linear(3, 2)
    with pytest.raises(TypeError, match="real numbers"):
        layer.weight.value = np.ones((2, 3), np.complex128)


def test_float64_into_float32_layer_is_cast_and_used():
    layer = nf.layers.Linear(3, 2)
    w = np.arange(6, dtype=np.float64).reshape(2, 3)
    layer.weight.value = w
    assert layer.weight.value.dtype == np.float32
    layer.bias.value = [0.5, -0.5]
    out = layer.forward(np.ones((1, 3), np.float32))
    np.testing.assert_allclose(out, (w.sum(axis=1) + [0.5, -0.5])[None], rtol=1e-6)


def test_non_contiguous_negative_stride_and_read_only_are_copied():
    layer = nf.layers.Linear(3, 2)
    w = np.arange(12, dtype=np.float32).reshape(3, 4)[:, ::-2].T   # (2, 3), negative strides
    layer.weight.value = w
    assert layer.weight.value.flags.c_contiguous
    np.testing.assert_array_equal(layer.weight.value, w)
    ro = np.ones((2, 3), np.float32)
    ro.flags.writeable = False
    layer.weight.value = ro
    assert layer.weight.value.flags.writeable
    opt = nf.optim.SGD(layer.parameters(), lr=0.1)
    layer.forward(np.ones((2, 3), np.float32))
    layer.backward(np.ones((2, 2), np.float32))
    opt.step()   # writes the value in place: must not fail on a read-only array
    assert not np.array_equal(layer.weight.value, ro)


def test_contiguous_right_dtype_value_is_kept_without_copy():
    layer = nf.layers.Linear(3, 2)
    w = np.zeros((2, 3), np.float32)
    layer.weight.value = w
    assert layer.weight.value is w


def test_grad_assignment_is_checked():
    layer = nf.layers.Linear(3, 2)
    with pytest.raises(ValueError, match="'weight' grad"):
        layer.weight.grad = np.zeros((3, 2), np.float32)
    with pytest.raises(TypeError, match="'bias' grad"):
        layer.bias.grad = None
    layer.weight.grad = np.zeros((2, 3), np.float64)
    assert layer.weight.grad.dtype == np.float32


def test_parameter_construction_checks():
    with pytest.raises(TypeError):
        nf.Parameter(None)
    with pytest.raises(TypeError):
        nf.Parameter(np.ones(3, np.complex64))
    p = nf.Parameter([1, 2, 3])
    assert p.value.dtype == np.float64 and p.grad.shape == (3,)
