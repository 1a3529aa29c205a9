"""Bad arguments raise ValueError or TypeError naming the argument, not
AttributeError, OverflowError or an unnamed error from NumPy's internals."""
import numpy as np
import pytest

import nnfast as nf


@pytest.mark.parametrize("layers", [3, "relu", None])   # one Layer is Sequential(*layers)
def test_sequential_of_something_that_is_not_a_list(layers):
    with pytest.raises(TypeError, match="layers must be Layers or one list of Layers"):
        nf.Sequential(layers)


@pytest.mark.parametrize("make", [lambda: nf.layers.Linear(3, 2, rng=-1),
                                  lambda: nf.layers.Conv2D(1, 1, 3, rng=-5),
                                  lambda: nf.layers.Dropout(rng=-1)])
def test_negative_seeds_name_rng(make):
    with pytest.raises((ValueError, TypeError), match="rng"):
        make()


@pytest.mark.parametrize("bad", [np.array("fast"), ["fast"], b"fast", None])
def test_set_backend_with_a_non_string(bad):
    with pytest.raises(ValueError, match="backend must be one of"):
        nf.set_backend(bad)
    assert nf.get_backend() == "fast"


def test_set_backend_with_a_numpy_string_stores_a_str():
    nf.set_backend(np.str_("reference"))
    try:
        assert type(nf.get_backend()) is str
        assert nf.get_backend() == "reference"
    finally:
        nf.set_backend("fast")


@pytest.mark.parametrize("bad", [object(), {"a": 1}, [[1.0, 2.0], [3.0]], np.array(["a"])])
def test_parameter_of_what_is_not_real_numbers(bad):
    with pytest.raises(TypeError, match="Parameter value must be a real array"):
        nf.Parameter(bad)


def test_parameter_of_float16_and_other_byte_orders():
    assert nf.Parameter(np.ones(3, np.float16)).dtype == np.float32
    p = nf.Parameter(np.arange(3, dtype=">f8"))
    assert p.dtype == np.float64 and p.value.dtype.isnative
    np.testing.assert_array_equal(p.value, [0, 1, 2])


@pytest.mark.parametrize("make", [lambda p: nf.optim.SGD(p, lr=2**1100),
                                  lambda p: nf.optim.Adam(p, eps=-2**2000),
                                  lambda p: nf.layers.LeakyReLU(2**1100)])
def test_ints_beyond_the_float_range_are_a_value_error(make):
    params = nf.layers.Linear(2, 2).parameters()
    with pytest.raises(ValueError, match="must be finite"):
        make(params)


def test_gradcheck_of_none_or_a_class_names_module():
    for bad in (None, "linear", np.ones(3), nf.layers.Linear):
        with pytest.raises(TypeError, match="module must be an nnfast layer"):
            nf.gradcheck(bad, np.ones((2, 3)))


def test_gradcheck_of_a_layer_with_a_target_or_a_loss_without_one():
    with pytest.raises(TypeError, match="target is given, so module must be a loss"):
        nf.gradcheck(nf.layers.Sigmoid(), np.ones((2, 3)), target=np.ones((2, 3)))
    with pytest.raises(TypeError, match="needs target="):
        nf.gradcheck(nf.losses.MSELoss(), np.ones((2, 3)))


@pytest.mark.parametrize("rng, error", [(-1, ValueError), ("seed", TypeError), (1.5, TypeError)])
def test_gradcheck_rng(rng, error):
    with pytest.raises(error, match="rng"):
        nf.gradcheck(nf.layers.Sigmoid(), np.ones((2, 3)), rng=rng)


def test_init_keeps_0d_shapes_0d_and_refuses_infinite_ranges():
    assert nf.init.initialize("he", (), 3, 3).shape == ()
    assert nf.init.xavier_normal((), 2, 2).shape == ()
    with pytest.raises(ValueError, match="high - low must be finite"):
        nf.init.uniform(3, -1.7e308, 1.7e308)
    with pytest.raises(ValueError, match="high must be finite"):
        nf.init.uniform(3, 0.0, float("inf"))
    with pytest.raises(ValueError, match=r"high must be >= low, got low=1.0, high=0.0"):
        nf.init.uniform(3, 1.0, 0.0)
