"""Where ``fit``'s batches come from: arrays it shuffles itself, or a DataLoader."""
import numpy as np

from nnfast._validation import as_float_array
from nnfast.data._rows import take_rows
from nnfast.training.checks import check_targets
from nnfast.training.metrics import target_kind
from nnfast.training.weighting import weights_from_classes


class ArrayBatches:
    """Batches of (X, y, per-sample weights or None), in a new order each
    epoch drawn from ``rng`` (one ``rng.permutation(N)`` per epoch)."""

    def __init__(self, X, y, weights, batch_size, shuffle, rng):
        self.X, self.y, self.weights = X, y, weights
        self.batch_size, self.shuffle, self.rng = batch_size, shuffle, rng
        self.n_samples = X.shape[0]
        self.kind = target_kind(y)

    def __len__(self):
        return -(-self.n_samples // self.batch_size)

    def epoch(self, epoch):
        n, size = self.n_samples, self.batch_size
        order = self.rng.permutation(n) if self.shuffle else None
        X, y, w = self.X, self.y, self.weights
        for lo in range(0, n, size):
            hi = min(n, lo + size)
            if order is None:
                yield X[lo:hi], y[lo:hi], None if w is None else w[lo:hi], self.kind
            else:
                idx = order[lo:hi]
                yield take_rows(X, idx), y[idx], None if w is None else w[idx], self.kind

    def state_dict(self):
        return None

    def load_state_dict(self, state):
        pass


class LoaderBatches:
    """Batches of an ``nf.data.DataLoader`` yielding (x, y) or (x, y, w),
    converted to the model's dtype; weights from ``class_weight`` if given."""

    def __init__(self, loader, dtype, class_weight):
        self.loader, self.dtype, self.class_weight = loader, dtype, class_weight
        self.n_samples = loader.n_samples

    def __len__(self):
        return len(self.loader)

    def epoch(self, epoch):
        self.loader.set_epoch(epoch)
        for b, batch in enumerate(self.loader):
            if not isinstance(batch, tuple) or len(batch) not in (2, 3):
                raise ValueError("fit needs a DataLoader whose batches are (x, y) or (x, y, "
                                 f"sample_weight); batch {b + 1} is "
                                 f"{type(batch).__name__ if not isinstance(batch, tuple) else f'a tuple of {len(batch)}'}")
            xb = as_float_array(batch[0], "a DataLoader batch's x", dtype=self.dtype)
            yb = check_targets(batch[1], xb.shape[0], "a DataLoader batch's y", "its x")
            wb = None
            if len(batch) == 3:
                wb = np.asarray(batch[2], dtype=np.float64).reshape(-1)
                if wb.shape != (xb.shape[0],) or not np.all(np.isfinite(wb)) or np.any(wb < 0):
                    raise ValueError(f"a DataLoader batch's sample weights must be {xb.shape[0]} "
                                     "finite numbers >= 0")
            if self.class_weight is not None:
                cw = weights_from_classes(self.class_weight, yb, "a DataLoader batch's y")
                wb = cw if wb is None else wb * cw
            yield xb, yb, wb, target_kind(yb)

    def state_dict(self):
        return self.loader.state_dict()

    def load_state_dict(self, state):
        if state is not None:
            self.loader.load_state_dict(state)
