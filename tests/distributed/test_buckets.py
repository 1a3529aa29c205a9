"""Bucket plans: backward order, layers kept whole, the size cap, one dtype per bucket."""
import numpy as np
import pytest

import nnfast as nf
from nnfast.distributed.buckets import DEFAULT_BUCKET_BYTES, plan_buckets
from nnfast.distributed.reducer import layer_groups


def mlp_wide(dtype=np.float32):
    L = nf.layers
    return nf.Sequential([L.Flatten(), L.Linear(784, 512, dtype=dtype), L.ReLU(),
                          L.Linear(512, 512, dtype=dtype), L.ReLU(), L.Linear(512, 10, dtype=dtype)])


def test_groups_follow_the_backward_pass():
    model = mlp_wide()
    groups = layer_groups(model, model.parameters())
    assert [i for i, _ in groups] == [5, 3, 1]
    assert all(g == model.layers[i].parameters() for i, g in groups)


def test_parameters_outside_the_model_come_last():
    model = mlp_wide()
    stray = nf.Parameter(np.zeros(3, np.float32))
    groups = layer_groups(model, model.parameters() + [stray])
    assert groups[-1] == (-1, [stray])
    # a model without layers: one group, ready at step
    layer = nf.layers.Linear(4, 2)
    assert layer_groups(layer, layer.parameters()) == [(-1, layer.parameters()[::-1])]


def test_default_buckets_of_mlp_wide():
    model = mlp_wide()
    buckets = plan_buckets(layer_groups(model, model.parameters()), DEFAULT_BUCKET_BYTES)
    # layer 3 (512x512 + 512 float32, just over 1 MiB) cannot join layer 5's
    assert [b.first_layer for b in buckets] == [5, 3, 1]
    assert sum(b.n_elements for b in buckets) == sum(p.value.size for p in model.parameters())
    assert buckets[1].n_bytes == (512 * 512 + 512) * 4


@pytest.mark.parametrize("cap", [1, 100, 4096, 50_000, 10 ** 9])
def test_cap_and_whole_layers(cap):
    model = nf.Sequential([nf.layers.Linear(8, 8), nf.layers.ReLU(), nf.layers.Linear(8, 30),
                           nf.layers.Linear(30, 4), nf.layers.Linear(4, 2)])
    groups = layer_groups(model, model.parameters())
    buckets = plan_buckets(groups, cap)
    layer_of = {id(p): i for i, g in groups for p in g}
    packed = [p for b in buckets for p in b.params]
    assert [id(p) for p in packed] == [id(p) for _, g in groups for p in g]
    for b in buckets:
        layers = {layer_of[id(p)] for p in b.params}
        assert b.first_layer == min(layers)
        assert b.n_bytes <= cap or len(layers) == 1
    # no layer split between buckets
    seen = {}
    for k, b in enumerate(buckets):
        for p in b.params:
            seen.setdefault(layer_of[id(p)], set()).add(k)
    assert all(len(v) == 1 for v in seen.values())
    if cap >= 10 ** 9:
        assert len(buckets) == 1


def test_one_dtype_per_bucket():
    model = nf.Sequential([nf.layers.Linear(4, 4, dtype=np.float64), nf.layers.Linear(4, 4)])
    buckets = plan_buckets(layer_groups(model, model.parameters()), 10 ** 6)
    assert [b.dtype for b in buckets] == [np.dtype(np.float32), np.dtype(np.float64)]


def test_bad_bucket_bytes():
    model = mlp_wide()
    with pytest.raises(ValueError, match="bucket_bytes must be >= 1"):
        plan_buckets(layer_groups(model, model.parameters()), 0)
    with pytest.raises(TypeError, match="bucket_bytes must be an int"):
        plan_buckets(layer_groups(model, model.parameters()), 1.5)
