"""load_state_dict refuses buffer values a layer cannot use (a NaN, fractional
or negative batch count, a negative running variance) and changes nothing;
summary refuses an input_shape too large to allocate with a ValueError
naming it; astype(None) is refused instead of meaning float64."""
import numpy as np
import pytest

import nnfast as nf

L = nf.layers


def bn_model():
    return nf.Sequential([L.Linear(3, 4), L.BatchNorm1D(4)])


@pytest.mark.parametrize("key, value", [
    ("1.num_batches_tracked", np.array(np.nan)),
    ("1.num_batches_tracked", np.array(1.5)),
    ("1.num_batches_tracked", np.array(-3)),
    ("1.num_batches_tracked", np.array(np.inf)),
    ("1.running_var", -np.ones(4, np.float32)),
])
def test_bad_buffer_values_are_refused_and_nothing_changes(key, value):
    model = bn_model()
    before = model.state_dict()
    d = nf.Sequential([L.Linear(3, 4), L.BatchNorm1D(4)]).state_dict()
    d[key] = value
    with pytest.raises(ValueError, match=key.replace(".", r"\.")):
        model.load_state_dict(d)
    after = model.state_dict()
    for k in before:
        np.testing.assert_array_equal(after[k], before[k])


def test_a_whole_float_batch_count_loads():
    model = bn_model()
    d = model.state_dict()
    d["1.num_batches_tracked"] = np.array(7.0)
    model.load_state_dict(d)
    assert int(model.state_dict()["1.num_batches_tracked"]) == 7


def test_summary_refuses_a_shape_too_large_to_allocate():
    model = nf.Sequential([L.Linear(3, 2)])
    with pytest.raises(ValueError, match="input_shape"):
        model.summary((2**40,))


def test_astype_none_is_refused():
    with pytest.raises(TypeError, match="dtype"):
        L.Linear(3, 2).astype(None)
