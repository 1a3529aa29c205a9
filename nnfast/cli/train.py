"""``nnfast train``: the MNIST lab (MLP with 1-5 hidden layers, or LeNet-5)."""
import argparse
import os
import sys
import time

import numpy as np

from nnfast.cli import lab
from nnfast.cli.plot import EXTRA_HINT, have_matplotlib, plot_format, plot_histories

MAX_HIDDEN_LAYERS = 5


def add_parser(subparsers):
    p = subparsers.add_parser(
        "train", help="train the MNIST lab network and report test accuracy and speed",
        description="Train the MNIST lab network (default: MLP 784-30-10 with sigmoid, "
                    "LogSoftmax + NLLLoss, SGD momentum 0.9 at lr 0.003 (LeNet: 0.045), batch 64, "
                    "15 epochs, on the MNIST sample bundled with nnfast, the test set as validation "
                    "data) and print one line per epoch (loss, accuracy, test loss and accuracy, "
                    "samples/s), the test accuracy of each model, and with several depths a table "
                    "of them.")
    p.add_argument("--model", choices=("mlp", "lenet"), default="mlp", help="network (default mlp)")
    p.add_argument("--hidden-layers", type=_depths, default=None, metavar="N",
                   help="MLP hidden layers, 1-5 (default 1); a comma list such as 1,2,3,4,5 "
                        "trains one model per depth and prints a table")
    p.add_argument("--hidden-units", type=_positive_int, default=None, metavar="U",
                   help="units per MLP hidden layer (default 30)")
    p.add_argument("--activation", choices=lab.ACTIVATIONS, default=None,
                   help="MLP hidden activation (default sigmoid)")
    p.add_argument("--optimizer", choices=lab.OPTIMIZERS, default="sgd", help="default sgd")
    p.add_argument("--lr", type=_positive_float, default=None,
                   help="learning rate (default: per model and optimizer; sgd: 0.003 for mlp, "
                        "0.045 for lenet)")
    p.add_argument("--momentum", type=_momentum, default=None,
                   help="momentum for sgd (default 0.9) or rmsprop (default 0)")
    p.add_argument("--data", default=None, metavar="DIR",
                   help="directory with the four MNIST-format IDX files (default: the bundled sample)")
    p.add_argument("--train-fraction", type=_fraction, default=1.0, metavar="F",
                   help="train on a seeded random fraction 0 < F <= 1 of the training data")
    p.add_argument("--epochs", type=_positive_int, default=15, help="default 15")
    p.add_argument("--batch-size", type=_positive_int, default=64, help="default 64")
    p.add_argument("--seed", type=_seed, default=0,
                   help="initial weights and subset from SEED, batch order from SEED + 1 (default 0)")
    p.add_argument("--threads", type=_positive_int, default=None, help="OpenMP threads (default: as set)")
    p.add_argument("--plot", default=None, metavar="FILE",
                   help="write loss and accuracy curves to FILE, in the format its extension names "
                        "(.png, .pdf, .svg, ...; needs matplotlib)")
    p.add_argument("--save", default=None, metavar="FILE",
                   help="save the trained model (.npz; with several depths, one file per depth)")
    p.add_argument("--no-progress", action="store_true",
                   help="no live progress bar (the per-epoch lines stay; the bar is shown only "
                        "when stderr is a terminal anyway)")
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
        try:
            plot_format(args.plot)
        except ValueError as e:
            parser.error(f"--plot: {e}")
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
          f"{n_classes} classes ({args.data or 'bundled MNIST sample'}); the test images are the "
          "validation data (val_)", flush=True)

    lr = args.lr if args.lr is not None else lab.DEFAULT_LR[(args.model, args.optimizer)]
    training = (f"{lab.describe_optimizer(args.optimizer, lr, args.momentum)}; batch {args.batch_size}, "
                f"{args.epochs} epochs, seed {args.seed}")
    runs, rows = {}, []
    depths = args.hidden_layers or [1]
    for depth in (depths if args.model == "mlp" else [None]):
        # weights from the seed, batch order from seed + 1: the same streams as
        # bench/lab_accuracy.py, which trains PyTorch beside nnfast
        rng = np.random.default_rng(args.seed)
        if args.model == "mlp":
            units = args.hidden_units or 30
            act = args.activation or "sigmoid"
            model = lab.build_mlp(X[0].size, n_classes, depth, units, act, rng=rng)
            title = lab.describe_mlp(X[0].size, n_classes, depth, units, act)
            label = f"{depth} hidden"
        else:
            act = None
            model = lab.build_lenet(X.shape[1], X.shape[2], X.shape[3], n_classes, rng=rng)
            title = label = "LeNet-5"
        optimizer = lab.build_optimizer(args.optimizer, model.parameters(), lr, args.momentum)
        print(f"model: {title}; {training}", flush=True)
        start = time.perf_counter()
        try:
            history = nf.fit(model, X, y, loss=nf.losses.NLLLoss(), optimizer=optimizer,
                             epochs=args.epochs, batch_size=args.batch_size,
                             validation_data=(Xt, yt), verbose=2 if args.no_progress else 1,
                             rng=np.random.default_rng(args.seed + 1))
        except FloatingPointError as e:
            sys.stderr.write(f"nnfast train: error: {e}\n")
            return 1
        seconds = time.perf_counter() - start
        trained = sum(len(X) for _ in history.epoch)
        train_seconds = sum(history.seconds)
        print(f"{label}: test accuracy {history.val_accuracy[-1]:.4f}, "
              f"{trained / train_seconds:,.0f} samples/s, {seconds:.1f} s", flush=True)
        runs[label] = history
        rows.append((depth, act, history.val_accuracy[-1]))
        if args.save is not None:
            path = args.save if len(depths) == 1 or args.model != "mlp" else _with_suffix(args.save, depth)
            model.save(path, optimizer=optimizer)
            print(f"saved {path}", flush=True)
    if len(rows) > 1:
        print(depth_table(rows), flush=True)
    if args.plot is not None:
        what = (f"MLP, {args.hidden_units or 30} units, {args.activation or 'sigmoid'}"
                if args.model == "mlp" else "LeNet-5")
        plot_histories(runs, args.plot, title=f"{what}: {training}; "
                                              f"{args.data or 'bundled MNIST sample'}, {len(X)} images")
        print(f"plot: {args.plot}", flush=True)
    return 0


def depth_table(rows):
    """The Markdown table of a depth sweep: one row per (depth, activation,
    test accuracy), as the README shows it."""
    lines = ["| hidden layers | activation | test accuracy |", "|---|---|---|"]
    lines += [f"| {depth} | {act} | {accuracy:.4f} |" for depth, act, accuracy in rows]
    return "\n".join(lines)


def _with_suffix(path, depth):
    stem, ext = os.path.splitext(path)
    return f"{stem}-{depth}hidden{ext}"


def _check_writable(parser, flag, path):
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        parser.error(f"{flag}: directory {directory!r} does not exist")
    if os.path.isdir(path):
        parser.error(f"{flag}: {path!r} is a directory")
