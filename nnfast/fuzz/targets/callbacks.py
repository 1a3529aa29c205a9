"""``nf.callbacks``: EarlyStopping, ModelCheckpoint, LearningRateScheduler,
ReduceLROnPlateau, CSVLogger, LambdaCallback and TensorBoard (when
tensorboardX is installed), with bad arguments, and inside a short
``nf.fit`` (a tiny model, a few epochs, with or without validation data).

Checked: EarlyStopping stops exactly where Keras's rule on the logged
values says (replayed from the History); ModelCheckpoint writes one file
per epoch (or per improvement) where asked, that ``nf.load`` reads back;
LearningRateScheduler leaves the optimizer at the schedule's rate;
ReduceLROnPlateau never raises the rate nor goes under ``min_lr``;
CSVLogger writes a header and one row per epoch whose loss is the History's;
TensorBoard writes event files under its log_dir. Paths in missing
folders, folders as files and templates naming unknown values are refused
(OSError or ValueError); a schedule returning NaN or a string is refused;
the user's own exceptions reach the caller as they are.
"""
import csv
import importlib.util
import math
import os

import numpy as np
from hypothesis import strategies as st

import nnfast as nf
from nnfast.fuzz.inputs import seeds
from nnfast.fuzz.outcome import Garbage, check_equal, expect
from nnfast.fuzz.targets import register

HAS_TENSORBOARD = importlib.util.find_spec("tensorboardX") is not None
KINDS = ("EarlyStopping", "EarlyStopping", "ModelCheckpoint", "ModelCheckpoint",
         "LearningRateScheduler", "ReduceLROnPlateau", "CSVLogger", "LambdaCallback",
         "not_callback") + (("TensorBoard",) if HAS_TENSORBOARD else ())
MONITORS = ("loss", "val_loss", "accuracy", "val_accuracy", "nope", "", None, 3)


class UserError(Exception):
    """Raised by a case's own schedule or hook."""


def _schedules():
    return {"halve": lambda epoch, base: base * 0.5 ** epoch, "nan": lambda epoch, base: math.nan,
            "string": lambda epoch, base: "0.1", "negative": lambda epoch, base: -1.0,
            "raises": _raise, "int": lambda epoch, base: 1}


def _raise(*args):
    raise UserError("the schedule failed")


@st.composite
def callback_case(draw):
    kind = draw(st.sampled_from(KINDS))
    bad = draw(st.integers(0, 3)) == 0
    args = {}
    if kind == "EarlyStopping":
        args = {"monitor": draw(st.sampled_from(MONITORS[:4])),
                "patience": draw(st.integers(0, 2)),
                "min_delta": draw(st.sampled_from([0.0, 0.0, 1e-3, 1e6])),
                "mode": draw(st.sampled_from(["auto", "min", "max"])),
                "restore_best_weights": draw(st.booleans())}
        if bad:
            arg = draw(st.sampled_from(["monitor", "patience", "min_delta", "mode",
                                        "restore_best_weights", "verbose"]))
            args[arg] = draw({"monitor": st.sampled_from(MONITORS[4:]),
                              "patience": st.sampled_from([-1, 1.5, None, "2"]),
                              "min_delta": st.sampled_from([-1.0, math.nan, math.inf, "0"]),
                              "mode": st.sampled_from(["MIN", None, 1, "best"]),
                              "restore_best_weights": st.sampled_from([1, None, "yes"]),
                              "verbose": st.sampled_from([-1, 1.5, None])}[arg])
    elif kind == "ModelCheckpoint":
        args = {"path": draw(st.sampled_from(["ckpt.npz", "ckpt-{epoch:02d}.npz",
                                              "ckpt-{epoch}-{loss:.3f}.npz"])),
                "save_best_only": draw(st.booleans()),
                "monitor": draw(st.sampled_from(MONITORS[:4])),
                "include_optimizer": draw(st.booleans())}
        if bad:
            arg = draw(st.sampled_from(["path", "path", "save_best_only", "mode",
                                        "include_optimizer", "monitor", "verbose"]))
            args[arg] = draw({"path": st.sampled_from(["<missing>", "<dir>", "{nope}.npz",
                                                       "{epoch:q}.npz", None, 3, b"x.npz"]),
                              "save_best_only": st.sampled_from([1, None]),
                              "mode": st.sampled_from(["MIN", None]),
                              "include_optimizer": st.sampled_from([0, "no"]),
                              "monitor": st.sampled_from(MONITORS[4:]),
                              "verbose": st.sampled_from([-1, None])}[arg])
    elif kind == "LearningRateScheduler":
        args = {"schedule": "halve"}
        if bad:
            args["schedule"] = draw(st.sampled_from(["nan", "string", "negative", "raises",
                                                     "not_callable"]))
    elif kind == "ReduceLROnPlateau":
        args = {"monitor": draw(st.sampled_from(MONITORS[:4])),
                "factor": draw(st.sampled_from([0.1, 0.5, 0.9])),
                "patience": draw(st.integers(0, 1)),
                "min_delta": draw(st.sampled_from([0.0, 1e6])),
                "cooldown": draw(st.integers(0, 1)),
                "min_lr": draw(st.sampled_from([0.0, 0.01, 1.0]))}
        if bad:
            arg = draw(st.sampled_from(["factor", "patience", "min_delta", "cooldown", "min_lr",
                                        "monitor", "mode"]))
            args[arg] = draw({"factor": st.sampled_from([0.0, 1.0, 1.5, -0.5, math.nan, "0.1"]),
                              "patience": st.sampled_from([-1, None]),
                              "min_delta": st.sampled_from([-1.0, math.inf]),
                              "cooldown": st.sampled_from([-1, 0.5]),
                              "min_lr": st.sampled_from([-1.0, math.nan, None]),
                              "monitor": st.sampled_from(MONITORS[4:]),
                              "mode": st.sampled_from(["up", None])}[arg])
    elif kind == "CSVLogger":
        args = {"path": "log.csv", "separator": draw(st.sampled_from([",", ";", "\t"])),
                "append": draw(st.booleans())}
        if bad:
            arg = draw(st.sampled_from(["path", "path", "separator", "append"]))
            args[arg] = draw({"path": st.sampled_from(["<missing>", "<dir>", None, 3]),
                              "separator": st.sampled_from(["", ",,", None, 1]),
                              "append": st.sampled_from([1, "yes", None])}[arg])
    elif kind == "TensorBoard":
        args = {"log_dir": "tb", "histogram_freq": draw(st.integers(0, 2)),
                "update_freq": draw(st.sampled_from(["epoch", "batch"])),
                "write_grad_norms": draw(st.booleans())}
        if bad:
            arg = draw(st.sampled_from(["log_dir", "histogram_freq", "update_freq",
                                        "write_grad_norms"]))
            args[arg] = draw({"log_dir": st.sampled_from([None, 3, "<file>"]),
                              "histogram_freq": st.sampled_from([-1, 1.5, None]),
                              "update_freq": st.sampled_from(["step", None, 1]),
                              "write_grad_norms": st.sampled_from([1, None])}[arg])
    elif kind == "LambdaCallback":
        args = {"hook": draw(st.sampled_from(["on_epoch_end", "on_batch_end", "on_train_begin"]))}
        if bad:
            args["hook"] = draw(st.sampled_from(["raises", "not_callable", "unknown_hook"]))
    return {"kind": kind, "args": args, "bad": bad,
            "validation": draw(st.sampled_from(["none", "data", "data", "split"])),
            "epochs": draw(st.integers(1, 4)), "n": draw(st.integers(4, 10)),
            "seed": draw(seeds)}


def _path(ctx, value):
    if value == "<missing>":
        return ctx.path(os.path.join("no_such_folder", "out"))
    if value == "<dir>":
        os.mkdir(ctx.path("a_folder"))
        return ctx.path("a_folder")
    if value == "<file>":
        with open(ctx.path("a_file"), "w") as f:
            f.write("x")
        return ctx.path("a_file")
    if isinstance(value, str):
        return ctx.path(value)
    return value


def _build(spec, ctx, events):
    """(callback, whether the constructor must accept its arguments)."""
    kind, args, bad = spec["kind"], dict(spec["args"]), spec["bad"]
    if args.get("monitor") == "nope":
        # a name that is not logged is known only when the logs come (Keras's rule)
        bad = False
    C = nf.callbacks
    if kind == "not_callback":
        return (lambda: (lambda epoch, logs: None)), True
    if kind == "EarlyStopping":
        return (lambda: C.EarlyStopping(**args)), not bad
    if kind == "ModelCheckpoint":
        args["path"] = _path(ctx, args["path"])
        ok = not bad or spec["args"]["path"] in ("<missing>", "<dir>", "{nope}.npz",
                                                 "{epoch:q}.npz")
        return (lambda: C.ModelCheckpoint(**args)), ok
    if kind == "LearningRateScheduler":
        name = args["schedule"]
        schedule = 3 if name == "not_callable" else _schedules()[name]
        return (lambda: C.LearningRateScheduler(schedule)), name != "not_callable"
    if kind == "ReduceLROnPlateau":
        return (lambda: C.ReduceLROnPlateau(**args)), not bad
    if kind == "CSVLogger":
        args["path"] = _path(ctx, args["path"])
        ok = not bad or spec["args"]["path"] in ("<missing>", "<dir>")
        return (lambda: C.CSVLogger(**args)), ok
    if kind == "TensorBoard":
        args["log_dir"] = _path(ctx, args["log_dir"])
        ok = not bad or spec["args"]["log_dir"] == "<file>"
        return (lambda: C.TensorBoard(**args)), ok
    hook = args["hook"]
    if hook == "unknown_hook":
        return (lambda: C.LambdaCallback(on_epoch_start=lambda *a: None)), False
    if hook == "not_callable":
        return (lambda: C.LambdaCallback(on_epoch_end=3)), False
    if hook == "raises":
        return (lambda: C.LambdaCallback(on_epoch_end=_raise)), True

    def record(*a):
        events.append(a)
    return (lambda: C.LambdaCallback(**{hook: record})), True


def _fit_valid(spec):
    """Whether fit must run to its end with this (constructed) callback."""
    kind, args, bad = spec["kind"], spec["args"], spec["bad"]
    monitor = args.get("monitor", "val_loss")
    has_val = spec["validation"] != "none"
    if kind in ("EarlyStopping", "ReduceLROnPlateau") or (
            kind == "ModelCheckpoint" and args.get("save_best_only")):
        if isinstance(monitor, str) and monitor.startswith("val_") and not has_val:
            return False
    if kind == "not_callback":
        return False
    if monitor == "nope":
        return kind == "ModelCheckpoint" and not args.get("save_best_only")
    if bad and kind in ("ModelCheckpoint", "CSVLogger", "TensorBoard", "LearningRateScheduler",
                        "LambdaCallback"):
        return False
    return True


@register("nf.callbacks", callback_case(),
          ("monitor", "patience", "min_delta", "mode", "restore_best_weights", "verbose", "path",
           "save_best_only", "include_optimizer", "schedule", "schedule(epoch, base_lr)",
           "factor", "cooldown", "min_lr", "separator", "append", "log_dir", "histogram_freq",
           "update_freq", "write_grad_norms", "callbacks", "callbacks[0]", "on_epoch_end",
           "on_epoch_start", "validation_data", "ModelCheckpoint", "LambdaCallback"),
          paths=True, weight=2.5)
def run_callbacks(spec, ctx):
    rng = np.random.default_rng(spec["seed"])
    nf.seed(spec["seed"] % 2**31)
    n = spec["n"]
    X = rng.standard_normal((n, 2)).astype(np.float32)
    y = np.arange(n) % 2
    model = nf.Sequential([nf.layers.Linear(2, 3), nf.layers.ReLU(), nf.layers.Linear(3, 2)])
    opt = nf.optim.SGD(model.parameters(), lr=0.1)
    events = []
    make, ctor_valid = _build(spec, ctx, events)
    callback = expect(make, ctor_valid, f"{spec['kind']}({spec['args']})")
    if not ctor_valid:
        return
    kwargs = {}
    if spec["validation"] == "data":
        kwargs["validation_data"] = (X, y)
    elif spec["validation"] == "split":
        kwargs["validation_split"] = 0.5
    valid = _fit_valid(spec)
    user_error = (spec["kind"] == "LearningRateScheduler" and spec["args"]["schedule"] == "raises"
                  ) or (spec["kind"] == "LambdaCallback" and spec["args"]["hook"] == "raises")
    try:
        history = expect(lambda: nf.fit(model, X, y, loss=nf.losses.CrossEntropyLoss(),
                                        optimizer=opt, epochs=spec["epochs"], batch_size=4,
                                        callbacks=[callback], progress=False, **kwargs),
                         None if user_error else valid, f"fit with {spec['kind']}")
    except UserError:
        if not user_error:
            raise Garbage("a UserError surfaced where none was raised") from None
        return
    if user_error:
        raise Garbage("fit finished although a callback's own function raised")
    if not valid:
        return
    _check(spec, ctx, callback, history, model, opt, events)


def _monitored(history, monitor):
    return list(getattr(history, monitor))


def _check(spec, ctx, callback, history, model, opt, events):
    kind, args = spec["kind"], spec["args"]
    epochs = spec["epochs"]
    ran = len(history)
    if kind != "EarlyStopping" and ran != epochs:
        raise Garbage(f"fit with {kind} ran {ran} of {epochs} epochs")
    if kind == "EarlyStopping":
        values = _monitored(history, args["monitor"])
        mode = args["mode"]
        if mode == "auto":
            mode = "max" if "acc" in args["monitor"] else "min"
        best, wait, stop = None, 0, None
        for e, v in enumerate(values):
            if v is not None and math.isfinite(v) and (
                    best is None or (v < best - args["min_delta"] if mode == "min"
                                     else v > best + args["min_delta"])):
                best, wait = v, 0
                continue
            wait += 1
            if wait >= args["patience"]:
                stop = e + 1
                break
        want = stop if stop is not None else epochs
        if ran != want:
            raise Garbage(f"EarlyStopping({args}) let {ran} epochs run; the rule on "
                          f"{values} stops after {want}")
        if callback.stopped_epoch != (stop or 0):
            raise Garbage(f"EarlyStopping.stopped_epoch {callback.stopped_epoch}, expected "
                          f"{stop or 0}")
    elif kind == "ModelCheckpoint":
        written = sorted(os.listdir(ctx.tmpdir))
        if args["save_best_only"]:
            if not written:
                raise Garbage("ModelCheckpoint(save_best_only=True) wrote no file (the first "
                              "epoch is always an improvement)")
        else:
            template = os.path.basename(args["path"])
            want = sorted({template.format(epoch=e + 1, loss=history.loss[e]) for e in range(ran)})
            if written != want:
                raise Garbage(f"ModelCheckpoint wrote {written}, expected {want}")
        loaded = nf.load(callback.last_path)
        if not args["save_best_only"]:
            check_equal(loaded.predict(np.ones((2, 2), np.float32)),
                        model.predict(np.ones((2, 2), np.float32)),
                        "the last checkpoint's predictions vs the model's")
    elif kind == "LearningRateScheduler":
        if opt.lr != 0.1 * 0.5 ** (ran - 1):
            raise Garbage(f"LearningRateScheduler left lr {opt.lr}, the schedule says "
                          f"{0.1 * 0.5 ** (ran - 1)}")
    elif kind == "ReduceLROnPlateau":
        if not (min(args["min_lr"], 0.1) <= opt.lr <= 0.1):
            raise Garbage(f"ReduceLROnPlateau left lr {opt.lr} outside [min_lr, initial]")
    elif kind == "CSVLogger":
        with open(args["path"] if os.path.isabs(args["path"]) else ctx.path("log.csv"),
                  newline="") as f:
            rows = list(csv.reader(f, delimiter=args["separator"]))
        if len(rows) != ran + 1 or rows[0][:2] != ["epoch", "loss"]:
            raise Garbage(f"CSVLogger wrote {len(rows)} rows, header {rows[:1]}")
        for e, row in enumerate(rows[1:]):
            if int(row[0]) != e + 1 or float(row[1]) != history.loss[e]:
                raise Garbage(f"CSVLogger row {e + 1} is {row[:2]}, History has "
                              f"{history.loss[e]}")
    elif kind == "TensorBoard":
        for run in ("train",):
            folder = os.path.join(ctx.path("tb"), run)
            if not os.path.isdir(folder) or not os.listdir(folder):
                raise Garbage(f"TensorBoard wrote no event file under {folder}")
    elif kind == "LambdaCallback":
        hook = args["hook"]
        want = {"on_epoch_end": ran, "on_train_begin": 1}.get(hook)
        if want is not None and len(events) != want:
            raise Garbage(f"LambdaCallback({hook}) called {len(events)} times, expected {want}")
        if hook == "on_batch_end" and len(events) < ran:
            raise Garbage(f"on_batch_end called {len(events)} times in {ran} epochs")
