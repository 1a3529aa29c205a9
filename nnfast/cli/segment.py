"""``nnfast segment``: the segmentation lab (a U-Net on phantoms or on your scans).

It trains ``nf.models.UNet`` with ``nf.losses.DiceCELoss(softmax=True)`` and
Adam on ``nf.datasets.make_phantoms`` (or on ``.npy`` image/mask pairs with
``--data``), scores each class's Dice on a held-out split after every epoch
(``nf.metrics.dice``, MONAI's DiceMetric), saves the model and, with
``--plot``, draws image / truth / prediction overlays of a few held-out
images. Its last line is ``mean foreground dice 0.xxxx``.

The ``--data`` layout::

    DIR/images/NAME.npy   an image: (H, W) or (C, H, W), any real dtype (used as float32)
    DIR/masks/NAME.npy    its mask: (H, W) integer labels 0 .. classes - 1 (0 the background)

Every image needs the mask of the same NAME and the same (H, W); every image
has the same shape (H and W divisible by 2 ** (levels - 1), 4 for the
default ``--channels 16,32,64``).
"""
import argparse
import os
import sys
import time

import numpy as np

from nnfast.callbacks.base import Callback
from nnfast.cli.plot import EXTRA_HINT, have_matplotlib, plot_format
from nnfast.cli.train import (_check_writable, _float, _int_at_least as _at_least,
                              _positive_float, _positive_int, _seed)

# The default run (640 training and 160 held-out phantoms of 64x64, 5 epochs,
# batch 16, Adam 2e-3 with cosine annealing) at 2 threads on a 2-core Xeon:
# held-out mean foreground Dice 0.9926, 0.9932, 0.9944 for seeds 0, 1, 2 (above
# 0.9 from epoch 2 on), 27 s at about 200 training samples/s when the cores
# are free (`nnfast segment --threads 2 --no-save --seed S`). Without the
# cosine schedule, lr 2e-3 ended some runs in a swing (lesion 0.74 at an
# epoch's end); the phantoms leave room for a busy machine within a minute.
DEFAULT_PHANTOMS = 800
DEFAULT_SIZE = 64
DEFAULT_EPOCHS = 5
DEFAULT_BATCH_SIZE = 16
DEFAULT_LR = 2e-3
DEFAULT_CHANNELS = (16, 32, 64)
DEFAULT_SAVE = "nnfast-segment.npz"
PHANTOM_CLASSES = {2: ("organ",), 3: ("organ", "lesion")}
PLOT_SAMPLES = 4
SCHEDULES = ("cosine", "constant")
# one colour per foreground class in the overlays (class 1 first), cycled
OVERLAY_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#17becf")


def add_parser(subparsers):
    p = subparsers.add_parser(
        "segment", help="train a U-Net on synthetic phantoms (or your .npy scans) and report Dice",
        description="The segmentation lab: train a U-Net (channels 16,32,64, batch norm) with the "
                    "DiceCE loss (softmax) and Adam on synthetic phantoms (background, organ, lesion; "
                    "nf.datasets.make_phantoms) or on .npy image/mask pairs (--data), print one line "
                    "per epoch (loss, pixel accuracy, held-out loss, accuracy and per-class Dice, "
                    "samples/s), save the model, and end with 'mean foreground dice 0.xxxx' on the "
                    "held-out images. --data DIR reads DIR/images/NAME.npy (H, W) or (C, H, W) "
                    "images with DIR/masks/NAME.npy (H, W) integer masks.")
    p.add_argument("--data", default=None, metavar="DIR",
                   help="train on DIR/images/NAME.npy with DIR/masks/NAME.npy instead of phantoms")
    p.add_argument("--phantoms", type=_at_least(2), default=None, metavar="N",
                   help=f"number of phantoms, training and held-out (default {DEFAULT_PHANTOMS})")
    p.add_argument("--size", type=_at_least(16), default=None,
                   help=f"phantom side in pixels, >= 16 and divisible by 2 ** (levels - 1) "
                        f"(default {DEFAULT_SIZE})")
    p.add_argument("--classes", type=_at_least(2), default=None, metavar="K",
                   help="classes with the background: phantoms 2 (organ) or 3 (organ, lesion; the "
                        "default); --data: inferred from the masks (largest label + 1) unless given")
    p.add_argument("--val-fraction", type=_open_fraction, default=0.2, metavar="F",
                   help="hold out this fraction of the images (a seeded random choice with --data, "
                        "the last phantoms otherwise) for the Dice scores (default 0.2)")
    p.add_argument("--channels", type=_channels, default=DEFAULT_CHANNELS, metavar="C1,C2,...",
                   help="U-Net features per level, top to bottleneck (default 16,32,64)")
    p.add_argument("--epochs", type=_positive_int, default=DEFAULT_EPOCHS,
                   help=f"default {DEFAULT_EPOCHS}")
    p.add_argument("--batch-size", type=_positive_int, default=DEFAULT_BATCH_SIZE,
                   help=f"default {DEFAULT_BATCH_SIZE}")
    p.add_argument("--lr", type=_positive_float, default=DEFAULT_LR,
                   help=f"Adam learning rate (default {DEFAULT_LR:g})")
    p.add_argument("--schedule", choices=SCHEDULES, default="cosine",
                   help="learning rate per epoch: cosine, from --lr down towards 0 over the epochs "
                        "(nf.optim.CosineLR; the default), or constant")
    p.add_argument("--seed", type=_seed, default=0,
                   help="phantoms, held-out split and initial weights from SEED, batch order from "
                        "SEED + 1 (default 0)")
    p.add_argument("--threads", type=_positive_int, default=None,
                   help="OpenMP threads (default: as set)")
    p.add_argument("--save", "--output", dest="save", default=DEFAULT_SAVE, metavar="FILE",
                   help=f"save the trained model to FILE (.npz; default {DEFAULT_SAVE}); "
                        "nf.load(FILE) reads it back")
    p.add_argument("--no-save", action="store_true", help="do not save the model")
    p.add_argument("--plot", default=None, metavar="FILE",
                   help=f"draw image / truth / prediction overlays of {PLOT_SAMPLES} held-out images "
                        "to FILE, in the format its extension names (.png, .pdf, .svg, ...; needs "
                        "matplotlib)")
    p.add_argument("--no-progress", action="store_true",
                   help="no live progress bar (the per-epoch lines stay; the bar is shown only "
                        "when stderr is a terminal anyway)")
    p.set_defaults(run=run, parser=p)
    return p


# -- argument types -----------------------------------------------------------



def _open_fraction(text):
    value = _float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a fraction 0 < F < 1, got {text!r}")
    return value


def _channels(text):
    try:
        values = tuple(int(s) for s in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a comma list of integers such as 16,32,64, "
                                         f"got {text!r}") from None
    if len(values) < 2 or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected at least 2 levels, each >= 1, got {text!r}")
    return values


# -- the --data layout --------------------------------------------------------
def load_pairs(directory, classes=None):
    """Images and masks from ``directory``/images/NAME.npy and
    ``directory``/masks/NAME.npy (the layout in the module docstring).

    Parameters
    ----------
    directory : str
    classes : int or None
        Classes with the background; None: the largest label + 1 (at least 2).

    Returns
    -------
    X : ndarray of shape (N, C, H, W), float32
    y : ndarray of shape (N, H, W), int64
    names : list of str
        NAME of each pair, sorted.
    classes : int

    Raises
    ------
    ValueError
        Naming the file and what is wrong: a missing folder, no pairs, an
        image without a mask or a mask without an image, an unreadable file,
        an image not (H, W) or (C, H, W) or not finite, images of different
        shapes, a mask of another (H, W) than its image, a mask that is not
        integer labels, a label below 0 or >= ``classes``.
    """
    folders = {kind: os.path.join(directory, kind) for kind in ("images", "masks")}
    for kind, folder in folders.items():
        if not os.path.isdir(folder):
            raise ValueError(f"{directory!r} must hold the folders images/ and masks/ (NAME.npy in "
                             f"each), but {folder!r} is not a directory")
    listed = {kind: sorted(f[:-4] for f in os.listdir(folder)
                           if f.endswith(".npy") and os.path.isfile(os.path.join(folder, f)))
              for kind, folder in folders.items()}
    images, masks = set(listed["images"]), set(listed["masks"])
    for name in listed["images"]:
        if name not in masks:
            raise ValueError(f"image {os.path.join(folders['images'], name + '.npy')!r} has no mask "
                             f"{os.path.join(folders['masks'], name + '.npy')!r}")
    for name in listed["masks"]:
        if name not in images:
            raise ValueError(f"mask {os.path.join(folders['masks'], name + '.npy')!r} has no image "
                             f"{os.path.join(folders['images'], name + '.npy')!r}")
    names = listed["images"]
    if len(names) < 2:
        raise ValueError(f"{folders['images']!r} must hold at least 2 image/mask pairs (NAME.npy), "
                         f"got {len(names)}")
    X, y = [], []
    for name in names:
        image = _read(folders["images"], name, "image")
        mask = _read(folders["masks"], name, "mask")
        X.append(_image(image, os.path.join(folders["images"], name + ".npy")))
        y.append(_mask(mask, os.path.join(folders["masks"], name + ".npy"), X[-1].shape[1:]))
        if X[-1].shape != X[0].shape:
            raise ValueError(f"every image must have the shape of the first ({names[0]}.npy: "
                             f"{_shape_text(X[0].shape)}), but {name}.npy has "
                             f"{_shape_text(X[-1].shape)}")
    X, y = np.stack(X), np.stack(y)
    low, high = int(y.min()), int(y.max())
    if low < 0:
        raise ValueError(f"mask {_first(names, y == low)}.npy has label {low}: labels must be >= 0")
    if classes is None:
        classes = max(2, high + 1)
    elif high >= classes:
        raise ValueError(f"mask {_first(names, y == high)}.npy has label {high}, out of range for "
                         f"--classes {classes} (labels 0 .. {classes - 1})")
    return X, y, names, classes


def _read(folder, name, what):
    path = os.path.join(folder, name + ".npy")
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as e:
        raise ValueError(f"{what} {path!r} is not a readable .npy array ({e})") from None


def _image(image, path):
    if image.dtype.kind not in "biuf":
        raise ValueError(f"image {path!r} must hold real numbers, got dtype {image.dtype}")
    if image.ndim == 2:
        image = image[None]
    if image.ndim != 3 or image.size == 0:
        raise ValueError(f"image {path!r} must have shape (H, W) or (C, H, W), got {image.shape}")
    image = image.astype(np.float32)
    if not np.all(np.isfinite(image)):
        raise ValueError(f"image {path!r} holds NaN or infinite values")
    return image


def _mask(mask, path, spatial):
    if mask.shape != tuple(spatial):
        raise ValueError(f"mask {path!r} must have its image's shape {tuple(spatial)} (H, W), got "
                         f"{mask.shape}")
    if mask.dtype.kind == "f":
        if not (np.all(np.isfinite(mask)) and np.all(mask == np.round(mask))):
            raise ValueError(f"mask {path!r} must hold integer class labels, got non-integer values "
                             f"of dtype {mask.dtype}")
    elif mask.dtype.kind not in "biu":
        raise ValueError(f"mask {path!r} must hold integer class labels, got dtype {mask.dtype}")
    return mask.astype(np.int64)


def _shape_text(shape):
    return f"{shape[0]} channel(s) of {shape[1]}x{shape[2]}"


def _first(names, where):
    return names[int(np.argmax(where.reshape(len(names), -1).any(axis=1)))]


# -- the command --------------------------------------------------------------
def run(args, parser):
    """Train as ``args`` say; errors in the arguments exit 2 through ``parser``."""
    import nnfast as nf

    if args.data is not None:
        given = [flag for flag, v in (("--phantoms", args.phantoms), ("--size", args.size))
                 if v is not None]
        if given:
            parser.error(f"{', '.join(given)} only apply to phantoms, not to --data")
        if not os.path.isdir(args.data):
            parser.error(f"--data: {args.data!r} is not a directory")
    elif args.classes is not None and args.classes not in PHANTOM_CLASSES:
        parser.error(f"--classes: phantoms have 2 (background, organ) or 3 (with a lesion) classes, "
                     f"got {args.classes}")
    if args.plot is not None:
        if not have_matplotlib():
            parser.error(f"--plot needs matplotlib: {EXTRA_HINT}")
        try:
            plot_format(args.plot)
        except ValueError as e:
            parser.error(f"--plot: {e}")
        _check_writable(parser, "--plot", args.plot)
    save = None if args.no_save else args.save
    if save is not None:
        _check_writable(parser, "--save", save)
    if args.threads is not None:
        nf.set_num_threads(args.threads)

    # -- data: the held-out split never trains
    factor = 2 ** (len(args.channels) - 1)      # the U-Net halves the image factor times
    if args.data is None:
        n, size = args.phantoms or DEFAULT_PHANTOMS, args.size or DEFAULT_SIZE
        if size % factor:
            parser.error(f"--size {size}: a U-Net of {len(args.channels)} levels (--channels) needs "
                         f"a side divisible by {factor}")
        held = _held_out_count(parser, n, args.val_fraction)
        classes = args.classes or 3
        X, y = nf.datasets.make_phantoms(n, size=size, classes=classes, seed=args.seed)
        train, val = np.arange(n - held), np.arange(n - held, n)      # independent draws already
        class_names = PHANTOM_CLASSES[classes]
        source = f"phantoms (seed {args.seed})"
    else:
        try:
            X, y, names, classes = load_pairs(args.data, args.classes)
        except ValueError as e:
            parser.error(f"--data: {e}")
        held = _held_out_count(parser, len(X), args.val_fraction)
        order = np.random.default_rng(args.seed).permutation(len(X))
        train, val = np.sort(order[held:]), np.sort(order[:held])
        if X.shape[2] % factor or X.shape[3] % factor:
            parser.error(f"--data: the images are {X.shape[2]}x{X.shape[3]}; a U-Net of "
                         f"{len(args.channels)} levels (--channels) needs both sides divisible by "
                         f"{factor} (crop or pad them, or give fewer --channels)")
        class_names = tuple(str(c) for c in range(1, classes))
        source = args.data
    Xt, yt, Xv, yv = X[train], y[train], X[val], y[val]
    print(f"data: {len(Xt)} training and {len(Xv)} held-out images of {X.shape[2]}x{X.shape[3]}, "
          f"{X.shape[1]} channel(s), {classes} classes (background, {', '.join(class_names)}) "
          f"from {source}", flush=True)

    # -- model, loss, optimizer: weights from the seed, batch order from seed + 1
    model = nf.models.UNet(spatial_dims=2, in_channels=X.shape[1], out_channels=classes,
                           channels=args.channels, norm="batch", rng=np.random.default_rng(args.seed))
    loss = nf.losses.DiceCELoss(softmax=True)
    optimizer = nf.optim.Adam(model.parameters(), lr=args.lr)
    # cosine annealing: the last epochs take small steps, so the model the
    # run ends with is not caught in one of Adam's early swings
    schedule = nf.optim.CosineLR(T_max=args.epochs) if args.schedule == "cosine" else None
    n_params = sum(p.value.size for p in model.parameters())
    print(f"model: UNet {X.shape[1]}-{'-'.join(map(str, args.channels))}-{classes} (batch norm, "
          f"{n_params:,} parameters); DiceCE loss (softmax), adam lr {args.lr:g} {args.schedule}; "
          f"batch {args.batch_size}, {args.epochs} epochs, seed {args.seed}", flush=True)

    report = HeldOutReport(Xv, yv, classes, class_names, nf.losses.DiceCELoss(softmax=True),
                           args.epochs, verbose=2 if args.no_progress else 1,
                           batch_size=max(args.batch_size, 64))
    start = time.perf_counter()
    try:
        history = nf.fit(model, Xt, yt, loss=loss, optimizer=optimizer, epochs=args.epochs,
                         batch_size=args.batch_size, verbose=0, callbacks=[report], schedule=schedule,
                         rng=np.random.default_rng(args.seed + 1))
    except FloatingPointError as e:
        sys.stderr.write(f"nnfast segment: error: {e}\n")
        return 1
    seconds = time.perf_counter() - start
    rate = len(Xt) * len(history.epoch) / sum(history.seconds)
    dice = report.dice
    print(f"held-out dice: {_per_class_text(class_names, dice)}; trained {rate:,.0f} samples/s, "
          f"{seconds:.1f} s", flush=True)
    if save is not None:
        model.save(save, optimizer=optimizer)
        print(f"saved {save}", flush=True)
    if args.plot is not None:
        plot_overlays(args.plot, Xv, yv, report.predicted, classes, class_names,
                      title=f"UNet on {source}: held-out images, mean foreground dice "
                            f"{_mean(dice):.4f}")
        print(f"plot: {args.plot}", flush=True)
    print(f"mean foreground dice {_mean(dice):.4f}", flush=True)
    return 0


def _held_out_count(parser, n, fraction):
    held = int(round(n * fraction))
    if not 1 <= held < n:
        parser.error(f"--val-fraction {fraction:g} of {n} images holds out {held}: both the training "
                     "and the held-out split need at least one image")
    return held


def _mean(dice):
    """The mean over the foreground classes that the held-out truth holds."""
    present = dice[~np.isnan(dice)]
    return float(present.mean()) if present.size else float("nan")


def _per_class_text(class_names, dice):
    return ", ".join(f"{name} {value:.4f}" for name, value in zip(class_names, dice))


class HeldOutReport(Callback):
    """The lab's display: a live bar during each epoch, then one line with
    the training loss and pixel accuracy and, on the held-out images (eval
    mode), the loss, pixel accuracy and each foreground class's Dice
    (``nf.metrics.dice``: the mean over images, an image whose truth lacks
    the class left out).

    Attributes after training: ``dice`` (classes - 1,) of the last epoch,
    ``predicted`` the held-out label maps (N, H, W) it scored.
    """

    root_only = True

    def __init__(self, X, y, classes, class_names, loss, epochs, verbose, batch_size):
        from nnfast.training.progress import EpochReporter
        self.X, self.y, self.classes, self.loss = X, y, classes, loss
        self.batch_size = batch_size
        self.keys = [f"dice_{name}" for name in class_names]
        self.reporter = EpochReporter(verbose, epochs, self.keys)
        self.dice = np.full(classes - 1, np.nan)
        self.predicted = None

    def on_epoch_begin(self, epoch, logs=None):
        self.total, self.seen = 0.0, 0
        self.reporter.begin_epoch(epoch, self.trainer.source.n_samples)

    def on_batch_end(self, batch, logs=None):
        self.total += logs["loss"] * logs["size"]
        self.seen += logs["size"]
        self.reporter.update(logs["size"], self.total / self.seen)

    def on_epoch_end(self, epoch, logs=None):
        self.reporter.close()
        scores = self.model.predict(self.X, batch_size=self.batch_size)
        self.predicted = scores.argmax(axis=1)
        self.dice = _dice(self.predicted, self.y, self.classes)
        line = dict(logs or {})
        line["val_loss"] = float(self.loss.forward(scores, self.y))
        line["val_accuracy"] = float(np.mean(self.predicted == self.y))
        line.update((f"val_{key}", float(v)) for key, v in zip(self.keys, self.dice))
        self.reporter.end_epoch(epoch, line)

    def on_train_end(self, logs=None):
        self.reporter.close()


def _dice(pred, true, classes):
    import nnfast as nf
    return nf.metrics.dice(pred, true, classes, include_background=False)


# -- the overlays -------------------------------------------------------------
def plot_overlays(path, X, y, predicted, classes, class_names, title=None, samples=PLOT_SAMPLES):
    """Image / truth / prediction of the first ``samples`` images, one row
    each, the classes drawn over the image in translucent colours (the first
    channel of a multi-channel image), the row's Dice per class in the
    prediction's title. Agg canvas, no pyplot."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    fmt = plot_format(path)
    k = min(samples, len(X))
    colours = [OVERLAY_COLOURS[i % len(OVERLAY_COLOURS)] for i in range(classes - 1)]
    cmap = ListedColormap(colours)
    fig = Figure(figsize=(7.5, 2.4 * k + (0.9 if title else 0.5)))
    FigureCanvasAgg(fig)
    axes = np.asarray(fig.subplots(k, 3, squeeze=False))
    for row in range(k):
        image = X[row, 0]
        dice = _dice(predicted[row:row + 1], y[row:row + 1], classes)
        for col, (labels, name) in enumerate(((None, "image"), (y[row], "truth"),
                                              (predicted[row], "prediction"))):
            ax = axes[row, col]
            ax.imshow(image, cmap="gray", interpolation="nearest")
            if labels is not None:
                shown = np.ma.masked_equal(labels, 0)
                # label c in [c - 0.5, c + 0.5): colour c - 1
                ax.imshow(shown, cmap=cmap, vmin=0.5, vmax=classes - 0.5, alpha=0.45,
                          interpolation="nearest")
            if col == 2:
                name += " (dice " + ", ".join("-" if np.isnan(d) else f"{d:.2f}" for d in dice) + ")"
            ax.set_title(name, fontsize="small")
            ax.set_xticks([])
            ax.set_yticks([])
    fig.legend(handles=[Patch(color=c, alpha=0.6, label=n) for c, n in zip(colours, class_names)],
               loc="lower center", ncol=len(colours), fontsize="small")
    if title:
        fig.suptitle(title, fontsize="medium")
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    fig.savefig(path, format=fmt, dpi=100)
