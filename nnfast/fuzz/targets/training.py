"""``nf.fit``, ``model.evaluate`` and ``model.predict``: small models and data
sets with good and bad data, targets, epochs, batch sizes, validation data,
schedules, callbacks and seeds. A valid fit returns a History with one
finite entry per epoch and leaves the parameters finite and the model's mode
as it was; evaluate gives a finite loss and an accuracy in [0, 1];
predict gives the forward's output for every sample, in eval mode."""

import numpy as np
from hypothesis import strategies as st

import nnfast as nf
from nnfast.fuzz.inputs import Arr, make, not_arrays, seeds, threads, valid_int
from nnfast.fuzz.outcome import Garbage, check_array, check_float, expect
from nnfast.fuzz.targets import register
from nnfast.fuzz.targets._steps import native, unchanged

TASKS = ("ce", "ce", "nll", "hinge", "mse", "bce")
EPOCH_VALUES = (1, 1, 2, 3)
BAD_EPOCHS = (0, -1, 2**31, 2**63, 10**6 + 1, 10**9, 1.5, True, "3", None, float("nan"),
              np.float64(2.0))
BAD_BATCH = (0, -1, 1.5, True, None, "32", float("inf"))


def nan_schedule(epoch, base_lr):
    return float("nan")


def negative_schedule(epoch, base_lr):
    return -0.1


def string_schedule(epoch, base_lr):
    return "0.1"


def halving_schedule(epoch, base_lr):
    return base_lr * 0.5 ** epoch


def count_callback(history):
    count_callback.calls += 1


count_callback.calls = 0
SCHEDULES = {"none": (None, True), "step": ("StepLR", True), "cosine": ("CosineLR", True),
             "halving": (halving_schedule, True), "nan": (nan_schedule, False),
             "negative": (negative_schedule, False), "string": (string_schedule, False),
             "not_callable": ("not a schedule", False)}


@st.composite
def data(draw, task, n, features, outputs):
    """(X spec, X valid, y spec, y valid)."""
    X = draw(st.sampled_from([None] * 8 + ["nan", "wrong_features", "empty", "1d", "0d",
                                           "not_array", "int", "list"]))
    if X is None:
        X = Arr((n, features), draw(st.sampled_from(["float32", "float64"])),
                draw(st.sampled_from(["normal", "normal", "small_int", "unit"])), draw(seeds),
                draw(st.sampled_from(["c", "c", "neg", "f", "readonly"])))
        X_valid = True
    else:
        X, X_valid = {
            "nan": (Arr((n, features), "float32", "nan", draw(seeds)), False),
            "wrong_features": (Arr((n, features + 1), "float32", "normal", draw(seeds)), False),
            "empty": (Arr((0, features), "float32", "normal", 0), False),
            "1d": (Arr((n,), "float32", "normal", draw(seeds)), False),
            "0d": (Arr((), "float32", "normal", 0), False),
            "not_array": (draw(not_arrays), False),
            "int": (Arr((n, features), "int32", "small_int", draw(seeds)), True),
            "list": (Arr((n, features), "float64", "normal", draw(seeds), "list"), True),
        }[X]
    bad_y = draw(st.sampled_from([None] * 6 + ["short", "out_of_range", "float", "none", "0d",
                                               "nan"]))
    y_valid = bad_y is None or (bad_y == "out_of_range" and task == "mse")
    return X, X_valid, ("y", task, n, outputs, draw(seeds), bad_y), y_valid


def make_y(spec):
    _, task, n, outputs, seed, bad = spec
    rng = np.random.default_rng(seed)
    if task in ("ce", "nll", "hinge"):
        y = rng.integers(0, outputs, n)
    elif task == "mse":
        y = rng.standard_normal((n, outputs))
    else:
        y = rng.integers(0, 2, (n, outputs)).astype(np.float64)
    if bad == "short":
        return y[:-1]
    if bad == "out_of_range":
        y = np.array(y, dtype=np.float64)
        y.reshape(-1)[0] = outputs + 5 if task in ("ce", "nll", "hinge") else 3.0
        return y.astype(np.int64) if task in ("ce", "nll", "hinge") else y
    if bad == "float":
        return y + 0.5 if task in ("ce", "nll", "hinge") else y.astype(str)
    if bad == "none":
        return None
    if bad == "0d":
        return np.float64(1.0)
    if bad == "nan":
        y = y.astype(np.float64)
        y.reshape(-1)[0] = np.nan
        return y
    return y


@st.composite
def fit_case(draw):
    task = draw(st.sampled_from(TASKS))
    n, features = draw(st.integers(1, 20)), draw(st.integers(1, 4))
    outputs = draw(st.integers(2, 3)) if task != "mse" else draw(st.integers(1, 3))
    X, X_valid, y, y_valid = draw(data(task, n, features, outputs))
    epochs = draw(st.one_of(st.sampled_from(EPOCH_VALUES), st.sampled_from(BAD_EPOCHS)))
    batch = draw(st.one_of(st.integers(1, 8), st.sampled_from([32, 2**31, 2**63]),
                           st.sampled_from(BAD_BATCH)))
    schedule = draw(st.sampled_from(sorted(SCHEDULES)))
    val = draw(st.sampled_from(["none", "none", "good", "wrong_features", "short_y", "triple",
                                "not_tuple"]))
    extra = {}
    if draw(st.integers(0, 3)) == 3:
        extra["callback"] = draw(st.sampled_from(["count", "not_callable"]))
    if draw(st.integers(0, 3)) == 3:
        extra["rng"] = draw(st.sampled_from([0, 7, -1, "seed", 1.5]))
    if draw(st.integers(0, 3)) == 3:
        extra["track_grad_norms"] = True
    if draw(st.integers(0, 5)) == 5:
        extra["progress"] = True
    if draw(st.integers(0, 5)) == 5:
        extra["shuffle"] = False
    if draw(st.integers(0, 9)) == 9:
        extra["loss"] = draw(st.sampled_from(["none", "class", "string"]))
    if draw(st.integers(0, 9)) == 9:
        extra["optimizer"] = draw(st.sampled_from(["none", "string"]))
    return {"task": task, "n": n, "features": features, "outputs": outputs,
            "dtype": draw(st.sampled_from(["float32", "float64"])), "X": X, "X_valid": X_valid,
            "y": y, "y_valid": y_valid, "epochs": epochs, "batch_size": batch,
            "schedule": schedule, "validation": val, "extra": extra,
            "call": draw(st.sampled_from(["fit", "fit", "fit", "evaluate", "predict"])),
            "seed": draw(seeds), "threads": draw(threads)}


def _model_and_loss(spec):
    dt = np.dtype(spec["dtype"]).type
    layers = [nf.layers.Linear(spec["features"], 4, dtype=dt), nf.layers.ReLU(),
              nf.layers.Linear(4, spec["outputs"], dtype=dt)]
    task = spec["task"]
    if task == "nll":
        layers.append(nf.layers.LogSoftmax())
    loss = {"ce": nf.losses.CrossEntropyLoss, "nll": nf.losses.NLLLoss,
            "hinge": nf.losses.HingeLoss, "mse": nf.losses.MSELoss,
            "bce": nf.losses.BCEWithLogitsLoss}[task]()
    return nf.Sequential(layers), loss


def _validation(spec, X, y):
    kind = spec["validation"]
    if kind == "none":
        return None, True
    if kind == "good":
        return (X, y), True
    if kind == "wrong_features":
        return (np.ones((3, spec["features"] + 2)), y), False
    if kind == "short_y":
        return (X, y[:-1] if isinstance(y, np.ndarray) and y.ndim else y), False
    if kind == "triple":
        return (X, y, y), False
    return [X], False


def run_training(spec, ctx):
    nf.seed(spec["seed"])
    model, loss = _model_and_loss(spec)
    X = make(spec["X"])
    y = make_y(spec["y"])
    check_data = unchanged((X, y), spec["call"])
    try:
        _run_training(spec, model, loss, X, y)
    finally:
        check_data()


def _run_training(spec, model, loss, X, y):
    data_valid = spec["X_valid"] and spec["y_valid"]
    call = spec["call"]
    was_training = model.training
    # NaN samples are refused by fit (training on them is pointless) and
    # passed through by evaluate and predict
    x_nan = isinstance(spec["X"], Arr) and spec["X"].kind == "nan"
    batch = spec["batch_size"]
    batch_ok = valid_int(batch, 1, 2**63)
    if call == "predict":
        out = expect(lambda: model.predict(X, batch_size=batch),
                     None if x_nan and batch_ok else spec["X_valid"] and batch_ok, "predict")
        if not (spec["X_valid"] and batch_ok):
            return
        Xn = native(X)
        check_array(out, "predict", (Xn.shape[0], spec["outputs"]), np.dtype(spec["dtype"]),
                    finite=True)
        direct = model.forward(Xn.astype(spec["dtype"]))
        scale = max(1.0, float(np.max(np.abs(direct))))
        if not np.allclose(out, direct, rtol=1e-5, atol=1e-5 * scale):
            raise Garbage("predict differs from forward on the same samples")
        if model.training != was_training:
            raise Garbage("predict left the model in another train/eval mode")
        return
    if call == "evaluate":
        # NaN regression targets give a NaN loss, as NaN samples do
        y_nan = spec["y"][5] == "nan" and spec["task"] == "mse"
        nan_only = (x_nan and spec["y_valid"]) or (y_nan and spec["X_valid"])
        res = expect(lambda: model.evaluate(X, y, loss=loss, batch_size=batch),
                     (None if nan_only else data_valid) if batch_ok else False, "evaluate")
        if not (data_valid and batch_ok):
            return
        _check_metrics(res["loss"], res["accuracy"], "evaluate")
        if model.training != was_training:
            raise Garbage("evaluate left the model in another train/eval mode")
        return
    kwargs, valid = _fit_kwargs(spec, model, X, y)
    opt = kwargs.pop("optimizer")
    loss = kwargs.pop("loss", loss)
    count_callback.calls = 0
    valid = valid and data_valid
    history = expect(lambda: nf.fit(model, X, y, loss=loss, optimizer=opt, **kwargs), valid,
                     "fit")
    if not valid:
        return
    epochs = spec["epochs"]
    if len(history.loss) != epochs or len(history) != epochs:
        raise Garbage(f"fit(epochs={epochs}) recorded {len(history.loss)} epochs")
    for value in history.loss:
        check_float(value, "History.loss", finite=True)
    for value in history.accuracy:
        if value is not None and not 0.0 <= value <= 1.0:
            raise Garbage(f"History.accuracy {value} outside [0, 1]")
    if kwargs.get("validation_data") is not None:
        for v in history.val_loss:
            check_float(v, "History.val_loss", finite=True)
    if kwargs.get("callback") is count_callback and count_callback.calls != epochs:
        raise Garbage(f"callback called {count_callback.calls} times in {epochs} epochs")
    for p in model.parameters():
        check_array(p.value, "parameter after fit", p.shape, np.dtype(spec["dtype"]),
                    finite=True)
    if model.training != was_training:
        raise Garbage("fit left the model in another train/eval mode")
    for layer in model.layers:
        if not layer.requires_input_grad:
            raise Garbage("fit left requires_input_grad switched off")


def _fit_kwargs(spec, model, X, y):
    valid = True
    epochs, batch = spec["epochs"], spec["batch_size"]
    valid &= valid_int(epochs, 1, 3)
    valid &= valid_int(batch, 1, 2**63)
    schedule, ok = SCHEDULES[spec["schedule"]]
    if isinstance(schedule, str) and schedule in ("StepLR", "CosineLR"):
        schedule = nf.optim.StepLR(1, 0.5) if schedule == "StepLR" else nf.optim.CosineLR(3)
    valid &= ok
    val, ok = _validation(spec, X, y)
    valid &= ok
    kwargs = {"epochs": epochs, "batch_size": batch, "schedule": schedule,
              "validation_data": val, "progress": False,
              "optimizer": nf.optim.SGD(model.parameters(), lr=0.05, momentum=0.5)}
    extra = spec["extra"]
    if "callback" in extra:
        kwargs["callback"] = count_callback if extra["callback"] == "count" else 3
        valid &= extra["callback"] == "count"
    if "rng" in extra:
        kwargs["rng"] = extra["rng"]
        valid &= extra["rng"] in (0, 7) and not isinstance(extra["rng"], float)
    for key in ("track_grad_norms", "progress", "shuffle"):
        if key in extra:
            kwargs[key] = extra[key]
    if "loss" in extra:
        kwargs["loss"] = {"none": None, "class": nf.losses.CrossEntropyLoss,
                          "string": "cross_entropy"}[extra["loss"]]
        valid = False
    if "optimizer" in extra:
        kwargs["optimizer"] = {"none": None, "string": "sgd"}[extra["optimizer"]]
        valid = False
    return kwargs, valid


def _check_metrics(loss, accuracy, what):
    check_float(loss, f"{what} loss", finite=True)
    if accuracy is not None and not (isinstance(accuracy, float) and 0.0 <= accuracy <= 1.0):
        raise Garbage(f"{what} accuracy {accuracy!r} is not a float in [0, 1]")


register("nf.fit", fit_case(),
         ("model", "X", "y", "loss", "optimizer", "epochs", "batch_size", "validation_data",
          "validation_data[0]", "validation_data[1]", "schedule", "schedule(epoch, base_lr)",
          "callback", "rng", "target", "pred", "x", "shuffle"),
         allowed=(FloatingPointError,), weight=3.0)(run_training)
