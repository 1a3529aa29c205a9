"""Training curves as an image file (matplotlib, imported only when asked for)."""
import os

EXTRA_HINT = ("install nnfast's 'plot' extra (pip install '.[plot]' from the nnfast source "
              "folder) or matplotlib itself")


def have_matplotlib():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def supported_formats():
    """File formats matplotlib's Agg canvas writes (png, pdf, svg, ...), by extension."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    return sorted(FigureCanvasAgg(Figure()).get_supported_filetypes())


def plot_format(path):
    """The format ``path``'s extension names, or ValueError naming those
    matplotlib can write."""
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    formats = supported_formats()
    if ext not in formats:
        raise ValueError(f"the file name must end in the format to write, one of "
                         f"{', '.join('.' + f for f in formats)}; got {path!r}")
    return ext


def plot_histories(histories, path, title=None):
    """Loss per epoch (left) and train vs test accuracy (right), one colour
    per run; ``histories`` maps a label (e.g. "3 hidden") to a History.
    Written in the format ``path``'s extension names (``plot_format``), with
    ``title`` above the two panels.

    Uses the Agg canvas directly: no pyplot, no global backend change.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fmt = plot_format(path)
    fig = Figure(figsize=(11, 4.6 if title else 4.2))
    FigureCanvasAgg(fig)
    ax_loss, ax_acc = fig.subplots(1, 2)
    for i, (label, h) in enumerate(histories.items()):
        color = f"C{i % 10}"
        ax_loss.plot(h.epoch, h.loss, color=color, marker="o", ms=3, label=f"{label} train")
        if any(v is not None for v in h.val_loss):
            ax_loss.plot(h.epoch, h.val_loss, color=color, ls="--", label=f"{label} test")
        if any(v is not None for v in h.accuracy):
            ax_acc.plot(h.epoch, h.accuracy, color=color, marker="o", ms=3, label=f"{label} train")
        if any(v is not None for v in h.val_accuracy):
            ax_acc.plot(h.epoch, h.val_accuracy, color=color, ls="--", label=f"{label} test")
    ax_loss.set(xlabel="epoch", ylabel="loss", title="Loss per epoch")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="Accuracy: train (solid) vs test (dashed)")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(fontsize="small")
    if title:
        fig.suptitle(title, fontsize="medium")
    fig.tight_layout()
    fig.savefig(path, format=fmt, dpi=100)
