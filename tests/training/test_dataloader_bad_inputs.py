"""DataLoader refuses, naming the argument, what it used to pass on to NumPy
(ragged lists, strings, a dataset whose __len__ is not a count) or to turn
into unusable batches (samples of another arity, shape or type in one batch,
a transform that does not return a pair); the user's own exceptions still
reach the consumer as they are."""
import numpy as np
import pytest

import nnfast as nf


class Rows:
    def __init__(self, samples, length=None):
        self.samples = samples
        self.length = len(samples) if length is None else length

    def __len__(self):
        return self.length

    def __getitem__(self, i):
        return self.samples[i]


@pytest.mark.parametrize("data, error, words", [
    (([[1.0, 2.0], [3.0]], np.arange(2)), ValueError, "data[0]"),
    ((np.array([["a"], ["b"]]), np.arange(2)), TypeError, "data[0]"),
    (Rows([np.ones(2)], length=-1), TypeError, "len(data)"),
    (Rows([np.ones(2)], length=1.5), TypeError, "len(data)"),
    (Rows([np.ones(2)], length=2**63), TypeError, "len(data)"),
])
def test_bad_data_is_refused_at_construction(data, error, words):
    with pytest.raises(error, match=words.replace("(", r"\(").replace(")", r"\)").replace(
            "[", r"\[").replace("]", r"\]")):
        nf.data.DataLoader(data, batch_size=2)


@pytest.mark.parametrize("samples, error, words", [
    ([np.ones(2), np.ones(3)], ValueError, "shape"),
    ([{"x": 1}, {"x": 2}], TypeError, "numeric"),
    ([(np.ones(2), None), (np.ones(2), None)], TypeError, "numeric"),
    ([(np.ones(2), 1), (np.ones(2),)], ValueError, "same fields"),
])
@pytest.mark.parametrize("prefetch", [0, 2])
def test_bad_samples_in_one_batch_are_refused_naming_the_sample(samples, error, words, prefetch):
    loader = nf.data.DataLoader(Rows(samples), batch_size=2, prefetch=prefetch)
    with pytest.raises(error, match=words) as info:
        list(loader)
    assert "dataset[" in str(info.value)


def test_samples_of_another_arity_in_a_later_batch_are_refused():
    loader = nf.data.DataLoader(Rows([(np.ones(2), 1), (np.ones(2),)]), batch_size=1)
    with pytest.raises(ValueError, match="same fields"):
        list(loader)


@pytest.mark.parametrize("prefetch", [0, 2])
def test_a_transform_that_returns_no_pair_is_refused(prefetch):
    loader = nf.data.DataLoader(np.ones((3, 2)), batch_size=2, prefetch=prefetch,
                                transform=lambda x, y, rng: x)
    with pytest.raises(TypeError, match="transform must return a pair"):
        list(loader)


class Mine(Exception):
    pass


@pytest.mark.parametrize("prefetch", [0, 1, 3])
def test_the_users_own_exception_reaches_the_consumer(prefetch):
    def broken(x, y, rng):
        raise Mine("no")
    loader = nf.data.DataLoader(np.ones((5, 2)), batch_size=2, prefetch=prefetch, transform=broken)
    with pytest.raises(Mine):
        list(loader)
