"""``nnfast train``: the MNIST lab (MLP with 1-5 hidden layers, or LeNet-5)."""
import argparse
import os
import sys
import time

import numpy as np

from nnfast.cli import lab
from nnfast.cli.plot import EXTRA_HINT, have_matplotlib, plot_histories

MAX_HIDDEN_LAYERS = 5


def add_parser(subparsers):
    p = subparsers.add_parser(
        "train", help="train the MNIST lab network and report test accuracy and speed",
        description="Train the MNIST lab network (default: MLP 784-30-10 with sigmoid, "
                    "LogSoftmax + NLLLoss, SGD lr 0.003 momentum 0.9, batch 64, 15 epochs, "
                    "on the MNIST sample bundled with nnfast) and print per-epoch loss, "
                    "test accuracy and samples/s.")
    p.add_argument("--model", choices=("mlp", "lenet"), default="mlp", help="network (default mlp)")
    p.add_argument("--hidden-layers", type=_depths, default=None, metavar="N",
                   help="MLP hidden layers, 1-5 (default 1); a comma list such as 1,2,3,4,5 "
                        "trains one model per depth")
    p.add_argument("--hidden-units", type=_positive_int, default=None, metavar="U",
                   help="units per MLP hidden layer (default 30)")
    p.add_argument("--activation", choices=lab.ACTIVATIONS, default=None,
                   help="MLP hidden activation (default sigmoid)")
    p.add_argument("--optimizer", choices=lab.OPTIMIZERS, default="sgd", help="default sgd")
    p.add_argument("--lr", type=_positive_float, default=0.003, help="learning rate (default 0.003)")
    p.add_argument("--momentum", type=_momentum, default=None,
                   help="momentum for sgd (default 0.9) or rmsprop (default 0)")
    p.add_argument("--data", default=None, metavar="DIR",
                   help="directory with the four MNIST-format IDX files (default: the bundled sample)")
    p.add_argument("--train-fraction", type=_fraction, default=1.0, metavar="F",
                   help="train on a seeded random fraction 0 < F <= 1 of the training data")
    p.add_argument("--epochs", type=_positive_int, default=15, help="default 15")
    p.add_argument("--batch-size", type=_positive_int, default=64, help="default 64")
    p.add_argument("--seed", type=_seed, default=0, help="seed of weights, shuffling and subset (default 0)")
    p.add_argument("--threads", type=_positive_int, default=None, help="OpenMP threads (default: as set)")
    p.add_argument("--plot", default=None, metavar="FILE",
                   help="write loss and accuracy curves to this PNG (needs matplotlib)")
    p.add_argument("--save", default=None, metavar="FILE",
                   help="save the trained model (.npz; with several depths, one file per depth)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(run=run, parser=p)
    return p


# -- argument types: argparse turns their errors into one-line messages ------
def _int_at_least(minimum):
    """An argparse type: an integer >= ``minimum``."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {value}")
        return value
    return parse


_positive_int = _int_at_least(1)
_seed = _int_at_least(0)


def _float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not np.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def _positive_float(text):
    value = _float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def _momentum(text):
    value = _float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}")
    return value


def _fraction(text):
    value = _float(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"expected a fraction 0 < F <= 1, got {text!r}")
    return value


def _depths(text):
    parts = [s.strip() for s in text.split(",")]
    depths = []
    for s in parts:
        try:
            d = int(s)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected N or a comma list of N, each 1-{MAX_HIDDEN_LAYERS}, got {text!r}") from None
        if not 1 <= d <= MAX_HIDDEN_LAYERS:
            raise argparse.ArgumentTypeError(f"each depth must be 1-{MAX_HIDDEN_LAYERS}, got {d}")
        depths.append(d)
    if len(set(depths)) != len(depths):
        raise argparse.ArgumentTypeError(f"depths must not repeat, got {text!r}")
    return depths


# -- the command --------------------------------------------------------------
def run(args, parser):
    """Train as ``args`` say; errors in the arguments exit 2 through ``parser``."""
    import nnfast as nf

    if args.model == "lenet":
        given = [flag for flag, v in (("--hidden-layers", args.hidden_layers),
                                      ("--hidden-units", args.hidden_units),
                                      ("--activation", args.activation)) if v is not None]
        if given:
            parser.error(f"{', '.join(given)} only apply to --model mlp")
    if args.momentum is not None and args.optimizer not in ("sgd", "rmsprop"):
        parser.error(f"--momentum applies to --optimizer sgd or rmsprop, not {args.optimizer}")
    if args.plot is not None:
        if not have_matplotlib():
            parser.error(f"--plot needs matplotlib: {EXTRA_HINT}")
        _check_writable(parser, "--plot", args.plot)
    if args.save is not None:
        _check_writable(parser, "--save", args.save)
    if args.data is not None and not os.path.isdir(args.data):
        parser.error(f"--data: {args.data!r} is not a directory")
    if args.threads is not None:
        nf.set_num_threads(args.threads)
    try:
        (X, y), (Xt, yt) = nf.datasets.load_mnist(args.data)
    except ValueError as e:
        parser.error(f"--data: {e}")

    if args.train_fraction < 1:
        n = max(1, int(round(args.train_fraction * len(X))))
        keep = np.sort(np.random.default_rng(args.seed).choice(len(X), size=n, replace=False))
        X, y = X[keep], y[keep]
    n_classes = int(max(y.max(), yt.max())) + 1
    print(f"data: {len(X)} training and {len(Xt)} test images of {X.shape[2]}x{X.shape[3]}, "
          f"{n_classes} classes ({args.data or 'bundled MNIST sample'})", flush=True)

    runs = {}
    depths = args.hidden_layers or [1]
    for depth in (depths if args.model == "mlp" else [None]):
        rng = np.random.default_rng(args.seed)
        if args.model == "mlp":
            units = args.hidden_units or 30
            act = args.activation or "sigmoid"
            model = lab.build_mlp(X[0].size, n_classes, depth, units, act, rng=rng)
            title = lab.describe_mlp(X[0].size, n_classes, depth, units, act)
            label = f"{depth} hidden"
        else:
            model = lab.build_lenet(X.shape[1], X.shape[2], X.shape[3], n_classes, rng=rng)
            title = label = "LeNet-5"
        optimizer = lab.build_optimizer(args.optimizer, model.parameters(), args.lr, args.momentum)
        print(f"model: {title}; {args.optimizer} lr {args.lr:g}; batch {args.batch_size}, "
              f"{args.epochs} epochs", flush=True)
        start = time.perf_counter()
        try:
            history = nf.fit(model, X, y, loss=nf.losses.NLLLoss(), optimizer=optimizer,
                             epochs=args.epochs, batch_size=args.batch_size,
                             validation_data=(Xt, yt), progress=not args.no_progress,
                             rng=rng, callback=_print_epoch)
        except FloatingPointError as e:
            sys.stderr.write(f"nnfast train: error: {e}\n")
            return 1
        seconds = time.perf_counter() - start
        trained = sum(len(X) for _ in history.epoch)
        train_seconds = sum(history.seconds)
        print(f"{label}: test accuracy {history.val_accuracy[-1]:.4f}, "
              f"{trained / train_seconds:,.0f} samples/s, {seconds:.1f} s", flush=True)
        runs[label] = history
        if args.save is not None:
            path = args.save if len(depths) == 1 or args.model != "mlp" else _with_suffix(args.save, depth)
            model.save(path, optimizer=optimizer)
            print(f"saved {path}", flush=True)
    if args.plot is not None:
        plot_histories(runs, args.plot)
        print(f"plot: {args.plot}", flush=True)
    return 0


def _print_epoch(history):
    i = len(history) - 1
    print(f"epoch {history.epoch[i]:3d}  loss {history.loss[i]:.4f}  "
          f"test loss {history.val_loss[i]:.4f}  test accuracy {history.val_accuracy[i]:.4f}  "
          f"{history.samples_per_second[i]:,.0f} samples/s", flush=True)


def _with_suffix(path, depth):
    stem, ext = os.path.splitext(path)
    return f"{stem}-{depth}hidden{ext}"


def _check_writable(parser, flag, path):
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        parser.error(f"{flag}: directory {directory!r} does not exist")
    if os.path.isdir(path):
        parser.error(f"{flag}: {path!r} is a directory")
