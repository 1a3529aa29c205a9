"""nf.data.transforms: image and mask move together (2-D and 3-D), seeded,
dtypes kept, labels pass through, bad input rejected."""
import numpy as np
import pytest

from nnfast.data import transforms as T


def pair(spatial=(12, 12), seed=0):
    """An image whose channel 0 is the mask (labels 0-2), channel 1 noise."""
    rng = np.random.default_rng(seed)
    mask = rng.integers(0, 3, spatial)
    image = np.stack([mask.astype(np.float32), rng.random(spatial, dtype=np.float32)])
    return image, mask


GEOMETRIC = [
    T.RandomFlip(p=0.7),
    T.RandomRotate90(),
    T.RandomCropOrPad((9, 15)),
    T.CenterCropOrPad((14, 8)),
    T.RandomAffine(degrees=30, translate=0.2, scale=0.2, order=0),
    T.Compose([T.RandomFlip(), T.RandomAffine(degrees=15, order=0), T.RandomCropOrPad((10, 10))]),
]
GEOMETRIC_3D = [
    T.RandomFlip(p=0.7),
    T.RandomRotate90(axes=(1, 2)),
    T.RandomCropOrPad((5, 9, 7)),
    T.RandomAffine(degrees=20, translate=0.1, scale=(0.9, 1.2), order=0),
]


@pytest.mark.parametrize("t", GEOMETRIC, ids=lambda t: type(t).__name__)
def test_2d_mask_follows_the_image(t):
    image, mask = pair()
    for seed in range(5):
        out, moved = t(image, mask, rng=seed)
        np.testing.assert_array_equal(out[0], moved)
        assert out.dtype == np.float32 and moved.dtype == mask.dtype and out.shape[0] == 2


@pytest.mark.parametrize("t", GEOMETRIC_3D, ids=lambda t: type(t).__name__)
def test_3d_mask_follows_the_volume(t):
    image, mask = pair((6, 8, 8))
    for seed in range(4):
        out, moved = t(image, mask, rng=seed)
        np.testing.assert_array_equal(out[0], moved)
        assert out.ndim == 4


def test_mask_with_channels_and_labels_that_pass_through():
    image, mask = pair()
    onehot = np.eye(3, dtype=np.float32)[mask].transpose(2, 0, 1)        # (3, H, W)
    t = T.Compose([T.RandomFlip(p=1.0), T.RandomRotate90(p=1.0)])
    out, moved = t(image, onehot, rng=1)
    np.testing.assert_array_equal(moved.argmax(0), out[0].astype(int))
    assert t(image, 7, rng=1)[1] == 7 and t(image, None, rng=1)[1] is None
    label = np.array([1, 0, 0])
    assert t(image, label, rng=1)[1] is label


def test_flip_and_rotate_are_numpy_flip_and_rot90():
    image, mask = pair()
    out, _ = T.RandomFlip(axes=(1,), p=1.0)(image, mask)
    np.testing.assert_array_equal(out, image[:, :, ::-1])
    rot = T.RandomRotate90(p=1.0)
    rng = np.random.default_rng(4)
    rng.random()
    k = int(rng.integers(4))
    out, _ = rot(image, mask, rng=4)
    np.testing.assert_array_equal(out, np.rot90(image, k, axes=(1, 2)))


def test_crop_or_pad_sizes_and_fill():
    image, mask = pair((6, 10))
    out, moved = T.CenterCropOrPad((8, 4), pad_value=-1.0, mask_pad_value=9)(image, mask)
    assert out.shape == (2, 8, 4) and moved.shape == (8, 4)
    assert np.all(out[:, 0] == -1) and np.all(out[:, -1] == -1) and np.all(moved[0] == 9)
    np.testing.assert_array_equal(out[:, 1:7], image[:, :, 3:7])


def test_affine_identity_and_quarter_turn():
    image, mask = pair()
    out, moved = T.RandomAffine()(image, mask, rng=0)
    np.testing.assert_allclose(out, image, atol=1e-6)
    np.testing.assert_array_equal(moved, mask)
    out, moved = T.RandomAffine(degrees=(90, 90), order=0)(image, mask, rng=0)
    assert any(np.array_equal(moved, np.rot90(mask, k)) for k in (1, 3))


def test_affine_interpolates_the_image_and_not_the_mask():
    image, mask = pair()
    out, moved = T.RandomAffine(degrees=(10, 10), order=1)(image, mask, rng=0)
    assert set(np.unique(moved)) <= {0, 1, 2}
    assert not set(np.unique(out[0])) <= {0.0, 1.0, 2.0}    # linear mixing makes new values


def test_intensity_and_noise_change_the_image_only():
    image, mask = pair()
    for t in (T.RandomIntensity(scale=(2, 2), shift=(1, 1)), T.GaussianNoise(std=0.5)):
        out, moved = t(image, mask, rng=0)
        assert moved is mask and out.dtype == np.float32
    out, _ = T.RandomIntensity(scale=(2, 2), shift=(1, 1))(image, mask, rng=0)
    np.testing.assert_allclose(out, image * 2 + 1, rtol=1e-6)
    noisy, _ = T.GaussianNoise(std=0.5)(image, None, rng=0)
    assert abs(float((noisy - image).std()) - 0.5) < 0.1
    ints = np.ones((1, 4, 4), np.uint8)
    assert T.GaussianNoise(0.1)(ints, None, rng=0)[0].dtype == np.float32
    per_channel, _ = T.RandomIntensity(per_channel=True)(image, None, rng=3)
    assert per_channel.shape == image.shape


def test_seeded_and_p_zero_is_identity():
    image, mask = pair()
    t = T.Compose([T.RandomAffine(degrees=20, translate=0.1), T.RandomFlip(), T.GaussianNoise(0.1)])
    a, b = t(image, mask, rng=3), t(image, mask, rng=3)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(t(image, mask, rng=4)[0], a[0])
    for off in (T.RandomFlip(p=0.0), T.RandomAffine(degrees=30, p=0.0), T.GaussianNoise(p=0.0)):
        out, moved = off(image, mask, rng=0)
        np.testing.assert_array_equal(out, image)


@pytest.mark.parametrize("call, exc, words", [
    (lambda: T.RandomFlip()(np.zeros((4, 4))), ValueError, r"channel-first array, \(C, H, W\)"),
    (lambda: T.RandomFlip()(np.zeros((1, 4, 4)), np.zeros((4, 5))), ValueError, "spatial shape"),
    (lambda: T.RandomFlip(axes=(2,))(np.zeros((1, 4, 4))), ValueError, r"spatial axes in \[0, 1\]"),
    (lambda: T.RandomFlip(p=2), ValueError, "p must be <= 1"),
    (lambda: T.RandomRotate90(axes=(1, 1)), ValueError, "two different spatial axes"),
    (lambda: T.RandomCropOrPad((4, 4))(np.zeros((1, 4, 4, 4))), ValueError, "has 2 axes"),
    (lambda: T.RandomCropOrPad(4), ValueError, "one int >= 1 per spatial axis"),
    (lambda: T.RandomAffine(degrees="30"), TypeError, "degrees must be a number or a pair"),
    (lambda: T.RandomAffine(scale=(1.2, 0.8)), ValueError, "low <= high"),
    (lambda: T.RandomAffine(translate=2), ValueError, "translate must be a fraction"),
    (lambda: T.RandomAffine(mode="edge"), ValueError, "mode must be one of"),
    (lambda: T.GaussianNoise(std=-1), ValueError, "std must be >= 0"),
    (lambda: T.Compose([3]), TypeError, r"transforms\[0\] must be callable"),
])
def test_bad_input(call, exc, words):
    with pytest.raises(exc, match=words):
        call()
