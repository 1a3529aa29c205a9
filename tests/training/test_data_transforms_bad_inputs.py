"""The transforms refuse at construction, naming the argument, what used to
escape as Python's own errors (axes or size that are not sequences, a cval
that is no number, a range too wide to draw from), refuse a non-numeric
mask and pad values the array's dtype cannot hold; RandomAffine resamples
float16 images; the intensity changes give the same dtype whether or not
they are drawn, and an empty Compose checks its input too."""
import numpy as np
import pytest

import nnfast as nf

T = nf.data.transforms


@pytest.mark.parametrize("build, error, name", [
    (lambda: T.RandomFlip(axes=5), TypeError, "axes"),
    (lambda: T.RandomFlip(axes=(1.5,)), ValueError, "axes"),
    (lambda: T.RandomFlip(axes="ab"), TypeError, "axes"),
    (lambda: T.RandomRotate90(axes=3), TypeError, "axes"),
    (lambda: T.RandomRotate90(axes=(0.0, 1.0)), ValueError, "axes"),
    (lambda: T.RandomCropOrPad(None), ValueError, "size"),
    (lambda: T.RandomCropOrPad(()), ValueError, "size"),
    (lambda: T.CenterCropOrPad((2, 2, 2, 2)), ValueError, "size"),
    (lambda: T.RandomAffine(cval=None), TypeError, "cval"),
    (lambda: T.RandomAffine(cval="a"), TypeError, "cval"),
    (lambda: T.RandomAffine(cval=float("nan")), ValueError, "cval"),
    (lambda: T.RandomAffine(degrees=1e308), ValueError, "degrees"),
    (lambda: T.RandomIntensity(shift=(-1e308, 1e308)), ValueError, "shift"),
    (lambda: T.Compose(None), TypeError, "transforms"),
    (lambda: T.Compose(3), TypeError, "transforms"),
])
def test_bad_constructor_arguments_are_refused_naming_them(build, error, name):
    with pytest.raises(error, match=name):
        build()


def test_a_mask_that_is_not_numeric_is_refused():
    image = np.zeros((1, 3, 3), np.float32)
    with pytest.raises(TypeError, match="mask"):
        T.RandomFlip(p=1.0)(image, np.zeros((3, 3)).astype(str), 0)


@pytest.mark.parametrize("dtype, value", [(np.uint8, -1.0), (np.bool_, 3.0), (np.int16, 0.5)])
def test_a_pad_value_the_dtype_cannot_hold_is_refused(dtype, value):
    image = np.ones((1, 2, 2), dtype)
    with pytest.raises(ValueError, match="pad_value"):
        T.CenterCropOrPad((4, 4), pad_value=value)(image)
    mask = np.ones((2, 2), dtype)
    with pytest.raises(ValueError, match="mask_pad_value"):
        T.CenterCropOrPad((4, 4), mask_pad_value=value)(np.ones((1, 2, 2)), mask)


def test_random_affine_resamples_float16_images():
    image = np.arange(16, dtype=np.float16).reshape(1, 4, 4)
    out, _ = T.RandomAffine(degrees=(90, 90))(image, None, 0)
    assert out.dtype == np.float16 and out.shape == image.shape
    ref, _ = T.RandomAffine(degrees=(90, 90))(image.astype(np.float32), None, 0)
    np.testing.assert_array_equal(out, ref.astype(np.float16))


@pytest.mark.parametrize("t", [T.RandomIntensity(p=0.0), T.RandomIntensity(p=1.0),
                               T.GaussianNoise(p=0.0), T.GaussianNoise(p=1.0)])
def test_intensity_changes_give_float32_for_integer_images_drawn_or_not(t):
    out, _ = t(np.ones((1, 2, 2), np.uint8), None, 0)
    assert out.dtype == np.float32


def test_an_empty_compose_refuses_what_its_parts_would():
    with pytest.raises(ValueError, match="image"):
        T.Compose([])(np.zeros((3, 6)))
