"""TensorBoard: scalars and weight histograms as TensorBoard event files.

Written through tensorboardX's SummaryWriter (the ``tensorboard`` extra:
``pip install tensorboardX``), imported when the callback is made. View
with ``tensorboard --logdir LOG_DIR``.
"""
import math
import os
import time

import numpy as np

from nnfast._validation import check_choice, check_int
from nnfast.callbacks.base import Callback

EXTRA_HINT = ("the TensorBoard callback needs tensorboardX: install nnfast's 'tensorboard' "
              "extra, or tensorboardX itself")
NOT_SCALARS = ("seconds", "samples_per_second")


class TensorBoard(Callback):
    """Log training to ``log_dir`` as Keras does: two runs, ``train`` and
    ``validation``, whose scalars share tags so TensorBoard draws them in one
    chart.

    - ``epoch_<name>`` per epoch for the loss and every metric (``val_``
      values in the validation run), and ``epoch_learning_rate``;
    - ``grad_norm/<index>_<Layer>`` (e.g. ``grad_norm/0_Linear``; TensorBoard
      tags take no colon): the L2 norm of the layer's parameter
      gradients (all of them together), averaged over the epoch's batches:
      the place to see gradients vanish or explode;
    - histograms ``<index>_<Layer>/<parameter>`` of every parameter each
      ``histogram_freq`` epochs;
    - with ``update_freq="batch"``, ``batch_loss`` per optimizer step.

    Steps are 1-based epoch numbers (optimizer steps for batch values), so a
    resumed ``fit`` continues the same curves.

    Parameters
    ----------
    log_dir : str or os.PathLike
    histogram_freq : int >= 0, default 1
        0: no histograms.
    update_freq : {"epoch", "batch"}, default "epoch"
    write_grad_norms : bool, default True
    """

    root_only = True    # writes files: rank 0 alone under fit(distributed=True)

    def __init__(self, log_dir, histogram_freq=1, update_freq="epoch", write_grad_norms=True):
        try:
            from tensorboardX import SummaryWriter
        except ImportError:
            raise ImportError(EXTRA_HINT) from None
        self._writer_class = SummaryWriter
        if not isinstance(log_dir, (str, os.PathLike)):
            raise TypeError(f"log_dir must be a str or os.PathLike, got {type(log_dir).__name__}")
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = check_int(histogram_freq, "histogram_freq", 0)
        self.update_freq = check_choice(update_freq, "update_freq", ("epoch", "batch"))
        if not isinstance(write_grad_norms, bool):
            raise TypeError(f"write_grad_norms must be True or False, got {write_grad_norms!r}")
        self.write_grad_norms = write_grad_norms
        self._writers = None

    def on_train_begin(self, logs=None):
        # a resumed run drops what an interrupted one wrote after its checkpoint
        purge = self.trainer.initial_epoch + 1 if self.trainer.initial_epoch else None
        # tensorboardX names a file by the second it was opened: a second fit into
        # the same log_dir within that second would overwrite the first's file.
        # A suffix in nanoseconds keeps both, in the order TensorBoard reads them.
        suffix = f".nnfast.{time.time_ns():020d}"
        self._writers = {run: self._writer_class(os.path.join(self.log_dir, run), purge_step=purge,
                                                 filename_suffix=suffix)
                         for run in ("train", "validation")}
        self._layers = [(key.replace(":", "_"), layer) for key, layer in self.trainer.tracked_layers]
        self._step = self.trainer.initial_epoch * max(1, self.trainer.batches_per_epoch)

    def on_epoch_begin(self, epoch, logs=None):
        self._norm_sums = np.zeros(len(self._layers))
        self._batches = 0

    def on_batch_end(self, batch, logs=None):
        self._step += 1
        if self.write_grad_norms:
            for i, (_, layer) in enumerate(self._layers):
                total = 0.0
                for p in layer.parameters():
                    g = p.grad.reshape(-1)
                    total += float(np.dot(g, g))
                self._norm_sums[i] += math.sqrt(total)
        self._batches += 1
        if self.update_freq == "batch":
            self._writers["train"].add_scalar("batch_loss", logs["loss"], self._step)

    def on_epoch_end(self, epoch, logs=None):
        step = epoch + 1
        train, val = self._writers["train"], self._writers["validation"]
        for key, value in logs.items():
            if value is None or key in NOT_SCALARS:
                continue
            if key == "lr":
                train.add_scalar("epoch_learning_rate", value, step)
            elif key.startswith("val_"):
                val.add_scalar("epoch_" + key[4:], value, step)
            else:
                train.add_scalar("epoch_" + key, value, step)
        if self.write_grad_norms and self._batches:
            for (key, _), total in zip(self._layers, self._norm_sums):
                train.add_scalar(f"grad_norm/{key}", total / self._batches, step)
        if self.histogram_freq and step % self.histogram_freq == 0:
            for key, layer in self._layers:
                for j, p in enumerate(layer.parameters()):
                    train.add_histogram(f"{key}/{p.name or j}", p.value, step)
        for w in self._writers.values():
            w.flush()

    def on_train_end(self, logs=None):
        self.close()

    def close(self):
        if self._writers:
            for w in self._writers.values():
                w.close()
            self._writers = None

    def __repr__(self):
        return (f"TensorBoard(log_dir={self.log_dir!r}, histogram_freq={self.histogram_freq}, "
                f"update_freq={self.update_freq!r}, write_grad_norms={self.write_grad_norms})")
