"""``nf.data.transforms``: every augmentation and ``Compose``, with bad
constructor arguments, images and masks of mismatched shapes and of every
dtype, 2-D and 3-D, channel axes or none, labels in place of masks.

A valid call returns (image, mask): the image keeps its shape (a crop or
pad gives the asked size; a 90-degree turn may swap the plane's sizes) and
float32/float64 dtype (intensity changes turn integer images into float32),
the mask keeps its dtype and moves with the image: the mask made from the
image's own values (``mask = image[0] > 0`` style labels) equals the same
function of the transformed image wherever the geometry is exact (flips,
rotations, crops and pads), and is left as it is by intensity changes. A
label that is not a map passes through unchanged.
"""
import numpy as np
from hypothesis import strategies as st

import nnfast as nf
from nnfast.fuzz.inputs import bad_floats, finite_real, seeds
from nnfast.fuzz.outcome import Garbage, check_array, check_equal, expect
from nnfast.fuzz.targets import register

T = nf.data.transforms
NAMES = ("RandomFlip", "RandomRotate90", "RandomCropOrPad", "CenterCropOrPad", "RandomAffine",
         "RandomIntensity", "GaussianNoise", "Compose")
GEOMETRIC_EXACT = ("RandomFlip", "RandomRotate90", "RandomCropOrPad", "CenterCropOrPad")
IMAGE_DTYPES = ("float32", "float64", "float32", "float64", "uint8", "int16", "bool", "float16",
                "complex64", "str", "object")
MASKS = ("none", "none", "channel", "plain", "label", "vector", "wrong_shape", "too_many_axes",
         "float", "str")

# constructor arguments: (valid kwargs, bad kwargs), drawn per transform
PROBS = st.sampled_from([0.0, 0.5, 1.0, 1.0])
BAD_PROBS = st.one_of(st.sampled_from([-0.1, 1.5, "0.5", None]), bad_floats().filter(
    lambda v: not (finite_real(v) and 0 <= float(v) <= 1)))


def _valid_args(draw, name, spatial):
    if name == "RandomFlip":
        axes = draw(st.sampled_from([None, (0,), (spatial - 1,), tuple(range(spatial))]))
        return {"axes": axes, "p": draw(PROBS)}
    if name == "RandomRotate90":
        return {"axes": draw(st.sampled_from([(0, 1), (1, 0), (spatial - 2, spatial - 1)])),
                "p": draw(PROBS)}
    if name in ("RandomCropOrPad", "CenterCropOrPad"):
        size = tuple(draw(st.integers(1, 7)) for _ in range(spatial))
        return {"size": size, "pad_value": draw(st.sampled_from([0.0, -1.0, 3]))}
    if name == "RandomAffine":
        return {"degrees": draw(st.sampled_from([0.0, 15.0, (-30, 30), 180])),
                "translate": draw(st.sampled_from([0.0, 0.1, 1])),
                "scale": draw(st.sampled_from([(1.0, 1.0), 0.2, (0.5, 2.0)])),
                "p": draw(PROBS), "order": draw(st.integers(0, 3)),
                "mode": draw(st.sampled_from(["constant", "nearest", "reflect", "mirror", "wrap"])),
                "cval": draw(st.sampled_from([0.0, 1.5, -2]))}
    if name == "RandomIntensity":
        return {"scale": draw(st.sampled_from([(0.9, 1.1), 0.5, (1, 1)])),
                "shift": draw(st.sampled_from([(-0.1, 0.1), 0.0, 2])),
                "per_channel": draw(st.booleans()), "p": draw(PROBS)}
    if name == "GaussianNoise":
        return {"std": draw(st.sampled_from([0.0, 0.1, 2])), "mean": draw(st.sampled_from([0, -1.0])),
                "p": draw(PROBS)}
    return {}


def _bad_args(draw, name, spatial):
    """(argument name, bad value) for ``name``'s constructor."""
    choices = {
        "RandomFlip": {"axes": st.sampled_from([5, -1, (spatial,), (1.5,), "ab", (True,), [None]]),
                       "p": BAD_PROBS},
        "RandomRotate90": {"axes": st.sampled_from([3, (0, 0), (0,), (0, 1, 2), (0, spatial),
                                                    (-1, 0), ("a", "b"), None, (0.0, 1.0)]),
                           "p": BAD_PROBS},
        "RandomCropOrPad": {"size": st.sampled_from([None, 3, (), (0, 3), (-1, 2), (2.5, 2),
                                                     "ab", (True, 2), (2, 2, 2, 2), (5,),
                                                     (2**62, 2**62)]),
                            "pad_value": st.sampled_from([None, "0", float("nan"), float("inf")]),
                            "mask_pad_value": st.sampled_from([None, "1", float("nan")])},
        "RandomAffine": {"degrees": st.sampled_from([-1.0, float("nan"), (30, -30), (1, 2, 3),
                                                     "15", None, 1e308, (-1e308, 1e308)]),
                         "translate": st.sampled_from([-0.1, 1.5, float("nan"), "0.1", None,
                                                       True]),
                         "scale": st.sampled_from([1.0, 2.0, (0.0, 1.0), (2.0, 1.0), (-1, 1),
                                                   "1", float("nan"), (1.0, 1e308)]),
                         "p": BAD_PROBS, "order": st.sampled_from([-1, 6, 1.5, None, "1"]),
                         "mode": st.sampled_from(["edge", None, 1, ["constant"], "CONSTANT"]),
                         "cval": st.sampled_from([None, "a", float("nan"), float("inf"), [0],
                                                  1 + 1j])},
        "RandomIntensity": {"scale": st.sampled_from([(2.0, 1.0), "1", None, float("inf"), -1.0]),
                            "shift": st.sampled_from([(1.0, -1.0), None, float("nan"), (0, 1e400)]),
                            "per_channel": st.sampled_from([1, None, "yes"]), "p": BAD_PROBS},
        "GaussianNoise": {"std": st.sampled_from([-1.0, float("nan"), None, "0.1", float("inf")]),
                          "mean": st.sampled_from([float("nan"), None, "0", float("inf")]),
                          "p": BAD_PROBS},
        "Compose": {"transforms": st.sampled_from([None, 3, [3], ["RandomFlip"], [None]])},
    }
    choices["CenterCropOrPad"] = choices["RandomCropOrPad"]
    choices = choices[name]
    arg = draw(st.sampled_from(sorted(choices)))
    return arg, draw(choices[arg])


@st.composite
def transform_case(draw):
    name = draw(st.sampled_from(NAMES))
    spatial = draw(st.sampled_from([2, 2, 3]))
    inner = None
    if name == "Compose":
        inner = [draw(st.sampled_from(NAMES[:-1])) for _ in range(draw(st.integers(0, 3)))]
        kwargs = {"inner": [(n, _valid_args(draw, n, spatial)) for n in inner]}
    else:
        kwargs = _valid_args(draw, name, spatial)
    bad = None
    if draw(st.integers(0, 3)) == 0:
        bad = _bad_args(draw, name, spatial)
    channels = draw(st.integers(1, 3))
    sizes = tuple(draw(st.integers(1, 6)) for _ in range(spatial))
    if draw(st.integers(0, 4)) == 0:
        # a square plane, so that rotations keep the shape
        sizes = (sizes[0],) * spatial
    return {"name": name, "spatial": spatial, "kwargs": kwargs, "bad": bad,
            "image_rank": draw(st.sampled_from([spatial + 1] * 6 + [2, 5, 1])),
            "channels": channels, "sizes": sizes,
            "image_dtype": draw(st.sampled_from(IMAGE_DTYPES)),
            "image_kind": draw(st.sampled_from(["normal", "normal", "nan", "int"])),
            "mask": draw(st.sampled_from(MASKS)), "rng": draw(st.sampled_from([0, 7, None, "gen",
                                                                              -1, "seed", 1.5])),
            "seed": draw(seeds)}


def _build(name, kwargs):
    if name == "Compose":
        return T.Compose([getattr(T, n)(**kw) for n, kw in kwargs["inner"]])
    return getattr(T, name)(**kwargs)


def _image(spec, rng):
    c, sizes = spec["channels"], spec["sizes"]
    rank = spec["image_rank"]
    shape = ((c,) + sizes)[:rank] if rank <= len(sizes) + 1 else (c,) + sizes + (2,)
    if spec["image_kind"] == "int":
        v = rng.integers(-3, 4, shape).astype(np.float64)
    else:
        v = rng.standard_normal(shape)
    if spec["image_kind"] == "nan" and v.size:
        v.reshape(-1)[0] = np.nan
    dt = spec["image_dtype"]
    if dt == "bool":
        return v > 0
    if dt in ("uint8", "int16"):
        return np.clip(np.nan_to_num(np.round(v * 3)), 0 if dt == "uint8" else -100, 100).astype(dt)
    if dt == "str":
        return v.astype(str)
    if dt == "object":
        return v.astype(object)
    return v.astype(dt)


def _mask(kind, image, spec, rng):
    """The mask (labels made from the image's first channel, so that where
    the geometry is exact it must equal the same labels of the result)."""
    sizes = tuple(image.shape[1:]) if image.ndim in (3, 4) else spec["sizes"]
    if kind == "none":
        return None
    if kind == "label":
        return np.int64(2)
    if kind == "vector":
        return np.arange(3)
    labels = rng.integers(0, 3, sizes).astype(np.int64)
    if kind == "plain":
        return labels
    if kind == "channel":
        return np.stack([labels, 2 - labels]).astype(np.uint8)
    if kind == "float":
        return labels.astype(np.float32)
    if kind == "wrong_shape":
        return np.zeros(tuple(s + 1 for s in sizes), np.int64)
    if kind == "too_many_axes":
        return np.zeros((2, 2) + sizes, np.int64)
    return labels.astype(str)


def _rng(kind):
    if kind == "gen":
        return np.random.default_rng(3)
    return kind


def _rng_valid(kind):
    return kind in (0, 7, None, "gen")


@register("nf.data.transforms", transform_case(),
          ("image", "mask", "rng", "axes", "p", "size", "pad_value", "mask_pad_value", "degrees",
           "translate", "scale", "order", "mode", "cval", "shift", "per_channel", "std", "mean",
           "transforms", "transforms[0]", "transforms[1]", "transforms[2]"), weight=3.0)
def run_transform(spec, ctx):
    name, spatial = spec["name"], spec["spatial"]
    kwargs = spec["kwargs"]
    if spec["bad"] is not None:
        arg, value = spec["bad"]
        if name == "Compose":
            expect(lambda: T.Compose(value), False, f"Compose({value!r})")
            return
        kwargs = dict(kwargs, **{arg: value})
        expect(lambda: _build(name, kwargs), _bad_is_valid(name, arg, value, spatial),
               f"{name}({arg}={value!r})")
        return
    t = expect(lambda: _build(name, kwargs), True, f"{name}({kwargs})")
    rng = np.random.default_rng(spec["seed"])
    image = _image(spec, rng)
    mask = _mask(spec["mask"], image, spec, rng)
    image_ok = image.ndim == spatial + 1 and image.dtype.kind in "biuf" and \
        image.dtype != np.float16
    if image.ndim in (3, 4) and image.dtype.kind in "biuf" and image.ndim != spatial + 1:
        # data of the other rank: transforms with per-axis arguments refuse it
        image_ok = _rank_free(name, kwargs)
    if image.dtype == np.float16 and image.ndim in (3, 4):
        image_ok = None if _uses_scipy(name, kwargs) else (image.ndim == spatial + 1
                                                           or _rank_free(name, kwargs))
    mask_ok = spec["mask"] in ("none", "channel", "plain", "label", "vector", "float")
    valid = bool(image_ok) and mask_ok and _rng_valid(spec["rng"]) if image_ok is not None \
        else None
    if valid:
        fits = _pads_fit(name, kwargs, image)
        valid = None if fits is None else fits
    image_before = image.copy()
    mask_before = None if mask is None else np.copy(mask)
    result = expect(lambda: t(image, mask, _rng(spec["rng"])), valid,
                    f"{name}(image {image.dtype}{image.shape}, mask {spec['mask']})")
    if not valid:
        return
    if not np.array_equal(image, image_before, equal_nan=image.dtype.kind == "f"):
        raise Garbage(f"{name} changed the image it was given")
    if mask is not None and not np.array_equal(mask, mask_before):
        raise Garbage(f"{name} changed the mask it was given")
    _check_result(t, name, kwargs, image, mask, result, spec)


def _pads_fit(name, kwargs, image):
    """Whether the pad values of the crops that pad fit the image's dtype
    (-1 does not fit a uint8 image, nor 3 a bool one); None where a turn
    before the crop makes it depend on the draw."""
    steps = kwargs["inner"] if name == "Compose" else [(name, kwargs)]
    dtype = image.dtype
    shape = tuple(image.shape[1:])
    turned = False
    fits = True
    for n, kw in steps:
        if n in ("RandomIntensity", "GaussianNoise") and dtype.kind != "f":
            dtype = np.dtype(np.float32)
        if n == "RandomRotate90":
            turned = True
        if n.endswith("CropOrPad"):
            v = kw.get("pad_value", 0.0)
            if dtype.kind == "b":
                ok = v in (0, 1)
            elif dtype.kind in "iu":
                ok = np.iinfo(dtype).min <= v <= np.iinfo(dtype).max
            else:
                ok = True
            if not ok:
                if turned and sorted(kw["size"]) != list(kw["size"]):
                    return None
                pads = any(w > h for w, h in zip(kw["size"], shape))
                if turned and any(w > min(shape) for w in kw["size"]) != pads:
                    return None
                if pads:
                    fits = False
            shape = tuple(kw["size"])
    return fits


def _rank_free(name, kwargs):
    """The transform takes 2-D and 3-D data alike (no per-axis arguments
    that fix the rank)."""
    if name == "Compose":
        return all(_rank_free(n, kw) for n, kw in kwargs["inner"])
    if name == "RandomFlip":
        return kwargs["axes"] is None or max(kwargs["axes"]) < 2
    if name == "RandomRotate90":
        return max(kwargs["axes"]) < 2
    return name not in ("RandomCropOrPad", "CenterCropOrPad")


def _uses_scipy(name, kwargs):
    if name == "Compose":
        return any(n == "RandomAffine" for n, _ in kwargs["inner"])
    return name == "RandomAffine"


def _bad_is_valid(name, arg, value, spatial):
    """A few of the 'bad' values are valid (a number where a range is asked)."""
    if name == "RandomAffine" and arg == "scale" and value in (1.0, (1.0, 1e308)):
        return None    # a range of finite width, however silly
    if name == "RandomAffine" and arg == "degrees" and value == 1e308:
        return None
    if name.endswith("CropOrPad") and arg == "size" and value == (2**62, 2**62):
        return True
    if name == "RandomRotate90" and arg == "axes" and value == (0, spatial):
        return None    # a 3-D plane for 2-D arguments: checked on the data
    if name == "RandomFlip" and arg == "axes" and value == (spatial,):
        return None
    if name == "RandomIntensity" and arg == "scale" and value == -1.0:
        return None
    return False


def _check_result(t, name, kwargs, image, mask, result, spec):
    if not isinstance(result, tuple) or len(result) != 2:
        raise Garbage(f"{name} returned {type(result).__name__}, not (image, mask)")
    out, out_mask = result
    if not isinstance(out, np.ndarray):
        raise Garbage(f"{name}: the image came back as {type(out).__name__}")
    steps = kwargs["inner"] if name == "Compose" else [(name, kwargs)]
    shape = list(image.shape)
    dtype = image.dtype
    for n, kw in steps:
        if n in ("RandomCropOrPad", "CenterCropOrPad"):
            shape[1:] = kw["size"]
        if n in ("RandomIntensity", "GaussianNoise") and dtype.kind != "f":
            dtype = np.dtype(np.float32)
    if any(n == "RandomRotate90" for n, _ in steps):
        if sorted(out.shape[1:]) != sorted(shape[1:]) or out.shape[0] != shape[0]:
            raise Garbage(f"{name}: image shape {out.shape}, expected a permutation of {shape}")
    else:
        check_array(out, f"{name} image", tuple(shape), dtype)
    if out.dtype != dtype:
        raise Garbage(f"{name}: image dtype {out.dtype}, expected {dtype}")
    finite_in = image.dtype.kind != "f" or bool(np.all(np.isfinite(image)))
    if finite_in and out.dtype.kind == "f" and not np.all(np.isfinite(out)):
        raise Garbage(f"{name}: non-finite image values from a finite image")
    if mask is None:
        if out_mask is not None:
            raise Garbage(f"{name}: a mask came back where none was given")
        return
    m = np.asarray(mask)
    if m.ndim < spec["spatial"] or m.ndim < image.ndim - 1:
        if out_mask is not mask:
            raise Garbage(f"{name}: a label that is not a map did not pass through unchanged")
        return
    if not isinstance(out_mask, np.ndarray) or out_mask.dtype != m.dtype:
        raise Garbage(f"{name}: mask came back as {type(out_mask).__name__} "
                      f"{getattr(out_mask, 'dtype', '')}, expected dtype {m.dtype}")
    if out_mask.shape[-(image.ndim - 1):] != out.shape[1:] or \
            out_mask.shape[:-(image.ndim - 1)] != m.shape[:-(image.ndim - 1)]:
        raise Garbage(f"{name}: mask shape {out_mask.shape} does not follow the image's "
                      f"{out.shape}")
    if not set(np.unique(out_mask)) <= set(np.unique(m)) | {0}:
        raise Garbage(f"{name}: mask values {np.unique(out_mask)} are not the mask's labels")
    if all(n in GEOMETRIC_EXACT for n, _ in steps) or not steps:
        _check_moved_together(t, image, mask, out, out_mask, spec)
    elif all(n in ("RandomIntensity", "GaussianNoise") for n, _ in steps):
        check_equal(out_mask, m, f"{name}: an intensity change moved the mask")


def _check_moved_together(t, image, mask, out, out_mask, spec):
    """Run the same transform with the same generator on the mask's labels
    put in as an extra image channel: the mask must come out as that channel."""
    m = np.asarray(mask)
    spatial = image.ndim - 1
    planes = m.reshape((-1,) + m.shape[-spatial:]).astype(np.float64)
    probe = np.concatenate([image.astype(np.float64), planes])
    rng = _rng(spec["rng"])
    if rng is None:
        return   # the global generator has moved on: no twin run
    if isinstance(rng, np.random.Generator):
        rng = np.random.default_rng(3)
    twin, _ = t(probe, None, rng)
    moved = twin[image.shape[0]:]
    pad = float(t.mask_pad_value) if hasattr(t, "mask_pad_value") else 0.0
    # pads: the probe pads with pad_value, the mask with mask_pad_value
    if any(hasattr(s, "size") for s in getattr(t, "transforms", [t])):
        return
    del pad
    check_equal(out_mask.reshape(moved.shape).astype(np.float64), moved,
                f"{type(t).__name__}: the mask did not move with the image")
