"""nnfast.fau: 0-d input refused by the layers (it was accepted as shape
(1,)), scalar weights updated as scalars, bad weights and huge sizes refused
with a ValueError or TypeError naming the argument."""
import tracemalloc

import numpy as np
import pytest

from nnfast.fau.Layers import Conv, Flatten, FullyConnected, Initializers, ReLU, SoftMax
from nnfast.fau.Optimization import Optimizers


@pytest.mark.parametrize("layer", [ReLU.ReLU, SoftMax.SoftMax, Flatten.Flatten])
@pytest.mark.parametrize("x", [np.array(2.0), np.float64(2.0), 2.0])
def test_layers_refuse_0d_input(layer, x):
    with pytest.raises(ValueError, match="input_tensor"):
        layer().forward(x)


@pytest.mark.parametrize("opt", [Optimizers.Sgd(0.5), Optimizers.SgdWithMomentum(0.5, 0.9),
                                 Optimizers.Adam(0.5, 0.9, 0.999)])
@pytest.mark.parametrize("w, g", [(1.5, 0.5), (np.array(1.5), 0.5), (1.5, np.array(0.5)),
                                  (np.float32(1.5), np.float32(0.5))])
def test_scalar_weights_give_a_float(opt, w, g):
    out = opt.calculate_update(w, g)
    assert type(out) is float and out < 1.5


@pytest.mark.parametrize("bad", [[[1.0, 2.0], [3.0]], None, "w", {"w": 1}])
def test_calculate_update_of_what_is_not_an_array(bad):
    with pytest.raises(TypeError, match="weight_tensor"):
        Optimizers.Sgd(0.1).calculate_update(bad, 0.1)


@pytest.mark.parametrize("make", [
    lambda: FullyConnected.FullyConnected(2**31 - 2, 2**31 - 1),
    lambda: Conv.Conv(1, (1, 2**16, 2**14), 2**14),
    lambda: Initializers.He().initialize((2**20, 2**20), 3, 3),
    lambda: Initializers.Constant(0.1).initialize((10**6,) * 3, 3, 3),
])
def test_huge_sizes_are_refused_before_allocating(make):
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="would need"):
            make()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 24
