"""History: what ``nf.fit`` measured, one entry per epoch."""
import math


class History:
    """Per-epoch training record returned by ``nf.fit``.

    Attributes
    ----------
    epoch : list of int
        1-based epoch numbers.
    loss, accuracy : list of float
        Training loss (mean over the epoch's samples) and accuracy (None
        for outputs or targets that are not class scores and labels).
    val_loss, val_accuracy : list of float or None
        The same on the validation data after each epoch (None without it).
    samples_per_second : list of float
        Training samples processed per second of the epoch's training loop
        (validation not included).
    seconds : list of float
        Wall time of each epoch's training loop.
    lr : list of float or None
        The optimizer's learning rate during each epoch (None if it has no
        ``lr`` attribute).
    grad_norms : dict of str -> list of float
        With ``track_grad_norms=True``: for each layer with parameters
        (keyed ``"<index>:<ClassName>"``, index in the Sequential), the L2
        norm of its first parameter's (weight's) gradient, averaged over
        the epoch's batches. Empty otherwise.
    metrics : dict of str -> list of float or None
        The series of ``fit(..., metrics=[...])`` beyond accuracy, e.g.
        ``"dice"`` and ``"val_dice"``; also readable as ``history["dice"]``
        and ``history.dice``.
    """

    KEYS = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy",
            "samples_per_second", "seconds", "lr")

    def __init__(self):
        for key in self.KEYS:
            setattr(self, key, [])
        self.grad_norms = {}
        self.metrics = {}

    def append(self, **values):
        """Record one epoch: one value per key in KEYS, and any further
        keyword (a metric) into ``metrics``."""
        for key in self.KEYS:
            getattr(self, key).append(values.pop(key))
        n = len(self.epoch)
        for key, value in values.items():
            # a metric first seen now has no value for the earlier epochs
            self.metrics.setdefault(key, [None] * (n - 1)).append(value)
        for series in self.metrics.values():
            if len(series) < n:
                series.append(None)

    def __len__(self):
        return len(self.epoch)

    def __getitem__(self, key):
        if key == "grad_norms":
            return self.grad_norms
        if key in self.metrics:
            return self.metrics[key]
        if key not in self.KEYS:
            raise KeyError(f"History has no {key!r}; keys: {', '.join(self.keys())}, grad_norms")
        return getattr(self, key)

    def __getattr__(self, name):
        # only reached for names that are not attributes: the metric series
        metrics = self.__dict__.get("metrics", {})
        if name in metrics:
            return metrics[name]
        raise AttributeError(f"History has no attribute {name!r}")

    def keys(self):
        """Names of every per-epoch series (KEYS, then the metrics)."""
        return list(self.KEYS) + list(self.metrics)

    @property
    def history(self):
        """Every series by name, as Keras's ``History.history``: a dict of lists
        (without the 1-based ``epoch`` numbers and ``grad_norms``)."""
        return {key: self[key] for key in self.keys() if key != "epoch"}

    def as_dict(self):
        """Every series as a plain dict of lists (JSON-friendly)."""
        d = {key: list(getattr(self, key)) for key in self.KEYS}
        d["grad_norms"] = {k: list(v) for k, v in self.grad_norms.items()}
        d["metrics"] = {k: list(v) for k, v in self.metrics.items()}
        return d

    @classmethod
    def from_dict(cls, d):
        """The History that ``as_dict`` described (as a checkpoint stores it)."""
        if not isinstance(d, dict):
            raise ValueError(f"a History must be read from a dict, got {type(d).__name__}")
        h = cls()
        n = None
        for key in cls.KEYS:
            series = d.get(key)
            if not isinstance(series, list) or (n is not None and len(series) != n):
                raise ValueError(f"the stored History has no series {key!r} of {n} epochs")
            n = len(series)
            setattr(h, key, list(series))
        for group in ("grad_norms", "metrics"):
            stored = d.get(group) or {}
            if not isinstance(stored, dict) or not all(isinstance(v, list) for v in stored.values()):
                raise ValueError(f"the stored History has a corrupt {group!r}")
            setattr(h, group, {str(k): list(v) for k, v in stored.items()})
        return h

    def __repr__(self):
        if not self.epoch:
            return "History(epochs=0)"
        last = {k: self[k][-1] for k in ("loss", "accuracy", "val_loss", "val_accuracy")}
        last.update({k: v[-1] for k, v in self.metrics.items()})
        shown = ", ".join(f"{k}={_fmt(v)}" for k, v in last.items() if v is not None)
        return f"History(epochs={len(self)}, last: {shown})"


def _fmt(v):
    return f"{v:.4g}" if isinstance(v, float) and math.isfinite(v) else repr(v)
