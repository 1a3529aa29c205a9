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
        The same on ``validation_data`` after each epoch (None without it).
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
    """

    KEYS = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy",
            "samples_per_second", "seconds", "lr")

    def __init__(self):
        for key in self.KEYS:
            setattr(self, key, [])
        self.grad_norms = {}

    def append(self, **values):
        """Record one epoch; ``values`` holds one value per key in KEYS."""
        for key in self.KEYS:
            getattr(self, key).append(values[key])

    def __len__(self):
        return len(self.epoch)

    def __getitem__(self, key):
        if key == "grad_norms":
            return self.grad_norms
        if key not in self.KEYS:
            raise KeyError(f"History has no {key!r}; keys: {', '.join(self.KEYS)}, grad_norms")
        return getattr(self, key)

    def as_dict(self):
        """Every series as a plain dict of lists (JSON-friendly)."""
        d = {key: list(getattr(self, key)) for key in self.KEYS}
        d["grad_norms"] = {k: list(v) for k, v in self.grad_norms.items()}
        return d

    def __repr__(self):
        if not self.epoch:
            return "History(epochs=0)"
        last = {k: getattr(self, k)[-1] for k in ("loss", "accuracy", "val_loss", "val_accuracy")}
        shown = ", ".join(f"{k}={_fmt(v)}" for k, v in last.items() if v is not None)
        return f"History(epochs={len(self)}, last: {shown})"


def _fmt(v):
    return f"{v:.4g}" if isinstance(v, float) and math.isfinite(v) else repr(v)
