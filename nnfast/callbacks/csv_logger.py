"""CSVLogger: one row per epoch in a CSV file."""
import csv
import os

from nnfast.callbacks.base import Callback


class CSVLogger(Callback):
    """Append one row per epoch (``epoch``, 1-based, then every logged
    value) to a CSV file, written and closed each epoch so that the file is
    complete whenever training stops.

    Parameters
    ----------
    path : str or os.PathLike
    separator : str, default ","
    append : bool, default False
        Keep the rows already in the file; a resumed ``fit`` always appends.
    """

    root_only = True    # writes files: rank 0 alone under fit(distributed=True)

    def __init__(self, path, separator=",", append=False):
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
        if not isinstance(separator, str) or len(separator) != 1:
            raise ValueError(f"separator must be one character, got {separator!r}")
        if not isinstance(append, bool):
            raise TypeError(f"append must be True or False, got {append!r}")
        self.path = os.fspath(path)
        self.separator = separator
        self.append = append
        self._columns = None

    def on_train_begin(self, logs=None):
        keep = self.append or self.trainer.initial_epoch > 0
        self._columns = None
        if keep and os.path.isfile(self.path) and os.path.getsize(self.path) > 0:
            with open(self.path, newline="") as f:
                self._columns = next(csv.reader(f, delimiter=self.separator), None)
        else:
            with open(self.path, "w", newline=""):   # a new run: start an empty file
                pass

    def on_epoch_end(self, epoch, logs=None):
        row = {"epoch": epoch + 1, **logs}
        write_header = self._columns is None
        if write_header:
            self._columns = list(row)
        with open(self.path, "a", newline="") as f:
            writer = csv.writer(f, delimiter=self.separator)
            if write_header:
                writer.writerow(self._columns)
            writer.writerow(["" if row.get(k) is None else row[k] for k in self._columns])
