"""What ``fit`` shows while it trains: a live bar and one kept line per epoch.

``verbose`` as Keras: 0 silent, 1 a live progress bar during each epoch and
one line per epoch kept below it, 2 the lines only. The lines go to
sys.stdout. The live bar goes to sys.stderr, and only when sys.stderr is a
terminal: a log file or a pipe gets the plain lines, never a carriage return.
The bar is tqdm's where tqdm is installed (the ``plot`` extra), else a plain
one-line bar.
"""
import math
import sys
import time

VERBOSE_LEVELS = (0, 1, 2)


def check_verbose(verbose, progress):
    """The verbosity level: ``verbose`` if given (0, 1, 2 or "auto" = 1),
    else 1 with ``progress=True`` and 0 with ``progress=False``."""
    if verbose is None or verbose == "auto":
        if not isinstance(progress, bool):
            raise TypeError(f"progress must be True or False, got {type(progress).__name__} {progress!r}")
        return 1 if progress else 0
    if isinstance(verbose, bool) or verbose not in VERBOSE_LEVELS:
        raise ValueError(f"verbose must be 0 (silent), 1 (bar and a line per epoch), 2 (a line per "
                         f"epoch) or 'auto', got {verbose!r}")
    return int(verbose)


def is_terminal(stream):
    """Whether ``stream`` is an interactive terminal (False when unsure)."""
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if callable(isatty) else False
    except (ValueError, OSError):  # closed or detached
        return False


def format_epoch_line(epoch, epochs, logs, metric_names=()):
    """One epoch as the kept line: ``epoch  3/15  loss 0.4213  accuracy
    0.8812  val_loss ...  41,250 samples/s  0.10 s``."""
    width = len(str(epochs))
    parts = [f"epoch {epoch:>{width}}/{epochs}"]
    names = ["loss", "accuracy", *metric_names]
    for prefix in ("", "val_"):
        for name in names:
            value = logs.get(prefix + name)
            if value is not None:
                parts.append(f"{prefix}{name} {_number(value)}")
    if logs.get("samples_per_second") is not None:
        parts.append(f"{logs['samples_per_second']:,.0f} samples/s")
    if logs.get("seconds") is not None:
        parts.append(f"{logs['seconds']:.2f} s")
    return "  ".join(parts)


def _number(v):
    return f"{v:.4f}" if math.isfinite(v) and abs(v) < 1e5 else f"{v:.4g}"


class EpochReporter:
    """The live bar and the kept lines of one ``fit`` call."""

    def __init__(self, verbose, epochs, metric_names=()):
        self.verbose = verbose
        self.epochs = epochs
        self.metric_names = tuple(metric_names)
        self.bar = None

    def begin_epoch(self, epoch, n_samples):
        """Open the live bar of epoch ``epoch`` (0-based) if one is shown."""
        self.bar = None
        if self.verbose == 1 and is_terminal(sys.stderr):
            self.bar = _make_bar(n_samples, f"epoch {epoch + 1}/{self.epochs}")

    def update(self, n, loss):
        if self.bar is not None:
            self.bar.update(n, loss)

    def end_epoch(self, epoch, logs):
        """Close the bar and print the epoch's line (``epoch`` 0-based)."""
        self.close()
        if self.verbose >= 1:
            print(format_epoch_line(epoch + 1, self.epochs, logs, self.metric_names), flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _make_bar(total, desc):
    try:
        from tqdm import tqdm
    except ImportError:
        return _PlainBar(total, desc)
    return _TqdmBar(tqdm(total=total, unit="samples", leave=False, desc=desc, file=sys.stderr,
                         dynamic_ncols=True))


class _TqdmBar:
    def __init__(self, bar):
        self.bar = bar

    def update(self, n, loss):
        self.bar.update(n)
        self.bar.set_postfix_str(f"loss={loss:.4f}", refresh=False)

    def close(self):
        self.bar.close()


class _PlainBar:
    """A one-line bar on a terminal, redrawn at most 10 times a second."""

    WIDTH = 30

    def __init__(self, total, desc):
        self.total, self.desc = max(1, total), desc
        self.done = 0
        self.start = self.last = time.perf_counter()
        self.drawn = 0

    def update(self, n, loss):
        self.done += n
        now = time.perf_counter()
        if now - self.last < 0.1 and self.done < self.total:
            return
        self.last = now
        filled = int(self.WIDTH * min(1.0, self.done / self.total))
        rate = self.done / max(now - self.start, 1e-9)
        text = (f"{self.desc} [{'#' * filled}{'.' * (self.WIDTH - filled)}] "
                f"{self.done}/{self.total} {rate:,.0f} samples/s loss={loss:.4f}")
        sys.stderr.write("\r" + text.ljust(self.drawn))
        sys.stderr.flush()
        self.drawn = len(text)

    def close(self):
        if self.drawn:
            sys.stderr.write("\r" + " " * self.drawn + "\r")
            sys.stderr.flush()
