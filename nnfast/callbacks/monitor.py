"""Watching one logged quantity for improvement (EarlyStopping, ModelCheckpoint,
ReduceLROnPlateau)."""
import math

from nnfast._validation import check_choice

MODES = ("auto", "min", "max")
# names that grow as the model gets better
_HIGHER_IS_BETTER = ("acc", "dice", "iou", "auc", "f1")


def resolve_mode(monitor, mode):
    if not isinstance(monitor, str) or not monitor:
        raise TypeError(f"monitor must be the name of a logged quantity, e.g. 'val_loss', got {monitor!r}")
    check_choice(mode, "mode", MODES)
    if mode != "auto":
        return mode
    return "max" if any(word in monitor for word in _HIGHER_IS_BETTER) else "min"


def improved(current, best, mode, min_delta=0.0):
    """Whether ``current`` beats ``best`` by more than ``min_delta``."""
    if best is None:
        return True
    if mode == "min":
        return current < best - min_delta
    return current > best + min_delta


def check_monitor_available(owner, monitor, trainer):
    """Raise at the start of training when ``monitor`` cannot appear in the logs."""
    if monitor.startswith("val_") and not trainer.has_validation:
        raise ValueError(f"{owner}(monitor={monitor!r}): fit has no validation data: "
                         f"pass validation_data= or validation_split=, or monitor "
                         f"{monitor[4:]!r}")


def monitored_value(owner, monitor, logs):
    value = logs.get(monitor)
    if value is None or not isinstance(value, (int, float)) or not math.isfinite(value):
        if value is None:
            raise ValueError(f"{owner}(monitor={monitor!r}): {monitor!r} is not in the logs "
                             f"(they hold {', '.join(sorted(logs))})")
        return None   # NaN: never an improvement
    return float(value)
