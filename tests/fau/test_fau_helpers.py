"""nnfast.fau's Layers.Helpers additions of the third exercise: the
batch-norm input gradient, and IrisData / DigitData with ``random``."""
import numpy as np
import pytest

from nnfast.fau.Layers import *  # noqa: F401,F403
from fau_helpers import L2_RTOL

EPS = np.finfo(float).eps


def batch_norm(x, gamma, beta, eps=EPS):
    """y = gamma * (x - mean) / sqrt(var + eps) + beta, batch statistics."""
    return gamma * (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps) + beta


def central_differences(x, error, gamma, beta):
    """d sum(error * batch_norm(x)) / dx, eps 1e-5."""
    numerical = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[index] += 1e-5
        minus[index] -= 1e-5
        numerical[index] = (np.sum(error * batch_norm(plus, gamma, beta))
                            - np.sum(error * batch_norm(minus, gamma, beta))) / 2e-5
    return numerical


@pytest.mark.parametrize("shape", [(7, 3), (40, 1), (3, 5)])
def test_bn_gradient_against_central_differences(shape):
    rng = np.random.default_rng(shape[0])
    x = rng.uniform(-1, 1, shape) * rng.uniform(0.5, 3, shape[1]) + rng.standard_normal(shape[1])
    error, gamma, beta = (rng.standard_normal(shape), rng.uniform(0.5, 2, shape[1]),
                          rng.standard_normal(shape[1]))
    analytical = Helpers.compute_bn_gradients(error, x, gamma, x.mean(axis=0), x.var(axis=0))
    assert analytical.shape == shape and analytical.dtype == np.float64
    numerical = central_differences(x, error, gamma, beta)
    assert Helpers.relative_error(analytical, numerical) <= L2_RTOL
    assert np.sum(Helpers._differences(analytical, numerical)) <= 1e-4


def test_bn_gradient_matches_the_closed_form():
    # with batch statistics the mean's second term vanishes and the gradient
    # is gamma / s * (e - mean(e) - x_hat * mean(e * x_hat))
    rng = np.random.default_rng(9)
    x, error, gamma = rng.standard_normal((30, 4)), rng.standard_normal((30, 4)), rng.random(4)
    mean, var = x.mean(axis=0), x.var(axis=0)
    s = np.sqrt(var + EPS)
    x_hat = (x - mean) / s
    expected = gamma / s * (error - error.mean(axis=0) - x_hat * (error * x_hat).mean(axis=0))
    np.testing.assert_allclose(Helpers.compute_bn_gradients(error, x, gamma, mean, var),
                               expected, rtol=1e-10, atol=1e-12)


def test_bn_gradient_of_an_image_batch_reshaped_per_channel():
    # (batch, channels, y, x) -> (batch * y * x, channels), as a 4-D layer does
    rng = np.random.default_rng(10)
    images = rng.standard_normal((3, 2, 2, 3))
    error = rng.standard_normal(images.shape)
    to_rows = lambda t: t.transpose(0, 2, 3, 1).reshape(-1, 2)  # noqa: E731
    x, e = to_rows(images), to_rows(error)
    gamma = np.array([0.7, 1.3])
    analytical = Helpers.compute_bn_gradients(e, x, gamma, x.mean(axis=0), x.var(axis=0))
    numerical = central_differences(x, e, gamma, np.zeros(2))
    assert Helpers.relative_error(analytical, numerical) <= L2_RTOL


def test_bn_gradient_dtypes_and_shapes_of_the_statistics():
    rng = np.random.default_rng(11)
    x = rng.standard_normal((5, 3))
    e = rng.standard_normal((5, 3))
    mean, var = x.mean(axis=0), x.var(axis=0)
    flat = Helpers.compute_bn_gradients(e, x, np.ones(3), mean, var)
    kept = Helpers.compute_bn_gradients(e, x, np.ones((1, 3)), mean[None], var[None], eps=0.0)
    np.testing.assert_allclose(kept, flat, rtol=1e-12)
    np.testing.assert_allclose(Helpers.compute_bn_gradients(e, x, 1.0, mean, var), flat, rtol=1e-15)
    single = Helpers.compute_bn_gradients(e.astype(np.float32), x.astype(np.float32), np.ones(3),
                                          mean, var)
    assert single.dtype == np.float32
    np.testing.assert_allclose(single, flat, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"eps": 1e-5}, ValueError, "eps"), ({"eps": -1e-12}, ValueError, "eps"),
    ({"eps": float("nan")}, ValueError, "eps"), ({"eps": "tiny"}, TypeError, "eps"),
    ({"error_tensor": np.ones((5, 2))}, ValueError, "error_tensor"),
    ({"input_tensor": np.ones(5)}, ValueError, "input_tensor"),
    ({"weights": np.ones(4)}, ValueError, "weights"),
    ({"mean": np.ones((2, 3))}, ValueError, "mean"),
    ({"var": np.array([1.0, -1.0, 1.0])}, ValueError, "var"),
    ({"var": np.zeros(3), "eps": 0.0}, ValueError, "var"),
    ({"weights": "gamma"}, TypeError, "weights")])
def test_bn_gradient_bad_input(kwargs, error, match):
    args = {"error_tensor": np.ones((5, 3)), "input_tensor": np.arange(15.0).reshape(5, 3),
            "weights": np.ones(3), "mean": np.zeros(3), "var": np.ones(3)}
    args.update(kwargs)
    with pytest.raises(error, match=match):
        Helpers.compute_bn_gradients(**args)


# -- data layers ------------------------------------------------------------------------

@pytest.fixture
def sklearn_datasets():
    return pytest.importorskip("sklearn.datasets")


def batches(data, count):
    return [data.next() for _ in range(count)]


def test_iris_random_false_repeats_its_batches(sklearn_datasets):
    np.random.seed(0)
    data = Helpers.IrisData(40, random=False)
    assert data.random is False
    first_pass = np.concatenate([x for x, _ in batches(data, 5)])  # 200 = two passes
    np.testing.assert_array_equal(first_pass[:100], first_pass[100:])
    train_x = first_pass[:100]
    assert len(np.unique(train_x, axis=0)) == len(np.unique(data._train[0], axis=0))
    test_x, test_labels = data.get_test_set()
    assert test_x.shape == (50, 4) and test_labels.shape == (50, 3)
    assert test_labels.sum(axis=0).min() > 0  # every class in the test set


def test_iris_random_reorders_every_pass(sklearn_datasets):
    np.random.seed(0)
    data = Helpers.IrisData(100)
    assert data.random is True
    (x1, y1), (x2, y2) = batches(data, 2)
    assert not np.array_equal(x1, x2)
    # the same samples, in another order
    np.testing.assert_array_equal(np.sort(x1, axis=0), np.sort(x2, axis=0))
    assert np.all(y1.sum(axis=1) == 1)


def test_iris_samples_are_scikit_learns(sklearn_datasets):
    np.random.seed(1)
    iris = sklearn_datasets.load_iris()
    data = Helpers.IrisData(100, random=False)
    x, labels = data.next()
    test_x, test_labels = data.get_test_set()
    rows = np.concatenate([x, test_x])
    np.testing.assert_array_equal(np.sort(rows, axis=0), np.sort(iris.data, axis=0))
    together = np.concatenate([labels, test_labels]).argmax(axis=1)
    np.testing.assert_array_equal(np.bincount(together), np.bincount(iris.target))


def test_digits_random_false(sklearn_datasets):
    np.random.seed(2)
    data = Helpers.DigitData(599, random=False)
    x = [b[0] for b in batches(data, 4)]  # 1198 training samples: two batches a pass
    np.testing.assert_array_equal(x[0], x[2])
    np.testing.assert_array_equal(x[1], x[3])
    assert x[0].shape == (599, 1, 8, 8)


@pytest.mark.parametrize("make, args, error, match", [
    (lambda *a: Helpers.IrisData(*a), (0,), ValueError, "batch_size"),
    (lambda *a: Helpers.IrisData(*a), (101,), ValueError, "batch_size"),
    (lambda *a: Helpers.IrisData(*a), (2.5,), TypeError, "batch_size"),
    (lambda *a: Helpers.IrisData(*a), (10, "no"), TypeError, "random"),
    (lambda *a: Helpers.IrisData(*a), (10, None), TypeError, "random"),
    (lambda *a: Helpers.DigitData(*a), (1199,), ValueError, "batch_size")])
def test_data_layers_bad_arguments(sklearn_datasets, make, args, error, match):
    with pytest.raises(error, match=match):
        make(*args)
