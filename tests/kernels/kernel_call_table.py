"""One seeded call of each activation, softmax, dropout, loss, optimizer and
gemm kernel, for the tests that run every kernel the same way (fast ==
reference over sizes, the caller's floating-point mode kept).

``CALLS[name](k, rng, dtype, size)`` draws the inputs of kernel ``name`` from
``rng`` (so two calls with equally seeded generators get equal inputs), runs
it from the kernel set ``k`` (``nnfast._kernels`` or ``nnfast.reference``)
and returns what it computed: its return value and every array it wrote.
Output arrays start as NaN, so an element a kernel forgets to write shows.
``size`` is the flat length, or the number of samples (rows, or the first
axis of (n_samples, n_classes, size) arrays), or gemm's output rows.

Plain module (no test in it), importable by a subprocess that puts tests/kernels
and tests/ (for conftest) on its path.
"""
import numpy as np

from conftest import loss_pred_target

# the kernel modules whose kernels are listed here
MODULES = ("activations", "softmax", "dropout", "gather", "losses_labels", "losses_elementwise",
           "losses_dice", "optim_sgd", "optim_adaptive", "gemm")


def _nan(shape, dtype):
    return np.full(shape, np.nan, dtype=dtype)


def _flat(rng, dtype, size):
    """Mixed-scale values with some exact zeros."""
    x = rng.standard_normal(size) * 10.0 ** rng.integers(-1, 2)
    x[rng.random(size) < 0.05] = 0.0
    return x.astype(dtype)


def _softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _classes(rng, dtype, size):
    """Logits (size, n_classes), labels, and class weights or None."""
    n_classes = int(rng.integers(1, 9))
    x = (rng.standard_normal((size, n_classes)) * 3).astype(dtype)
    labels = rng.integers(0, n_classes, size).astype(np.int64)
    weight = rng.uniform(0.1, 3, n_classes).astype(dtype) if rng.random() < 0.5 else None
    return x, labels, weight


def _planes(rng, dtype, size):
    """(size, n_classes, positions) arrays for softmax and PReLU."""
    shape = (size, int(rng.integers(1, 6)), int(rng.choice([1, 1, 2, 7])))
    return (rng.standard_normal(shape) * 4).astype(dtype), rng.standard_normal(shape).astype(dtype)


# -- activations ----------------------------------------------------------------

def _pointwise(stem, backward, from_output, slope=False):
    def call(k, rng, dtype, size):
        x, g = _flat(rng, dtype, size), rng.standard_normal(size).astype(dtype)
        extra = (float(rng.choice([0.01, 0.3, -0.5])),) if slope else ()
        if not backward:
            out = _nan(size, dtype)
            getattr(k, stem + "_forward")(x, *extra, out)
            return [out]
        saved = x
        if from_output:  # a plausible forward output: the backward reads it
            saved = {"relu": np.maximum(x, 0), "sigmoid": 1 / (1 + np.exp(-x)),
                     "tanh": np.tanh(x)}[stem].astype(dtype)
        grad_input = _nan(size, dtype)
        getattr(k, stem + "_backward")(saved, g, *extra, grad_input)
        return [grad_input]
    return call


def _prelu_forward(k, rng, dtype, size):
    x, _ = _planes(rng, dtype, size)
    weight = rng.standard_normal(x.shape[1]).astype(dtype)
    out = _nan(x.shape, dtype)
    k.prelu_forward(x, weight, out)
    return [out]


def _prelu_backward(k, rng, dtype, size):
    x, g = _planes(rng, dtype, size)
    weight = rng.standard_normal(x.shape[1]).astype(dtype)
    grad_input = _nan(x.shape, dtype) if rng.random() < 0.7 else None
    grad_weight = np.ones(x.shape[1], dtype)  # accumulated into
    k.prelu_backward(x, weight, g, grad_input, grad_weight)
    return [grad_weight] + ([] if grad_input is None else [grad_input])


# -- softmax --------------------------------------------------------------------

def _softmax_call(stem, backward):
    def call(k, rng, dtype, size):
        x, g = _planes(rng, dtype, size)
        if not backward:
            out = _nan(x.shape, dtype)
            getattr(k, stem + "_forward")(x, out)
            return [out]
        out = _softmax(x.astype(np.float64))
        out = (np.log(out) if stem == "log_softmax" else out).astype(dtype)
        grad_input = _nan(x.shape, dtype)
        getattr(k, stem + "_backward")(out, g, grad_input)
        return [grad_input]
    return call


def _cumulative_softmax_call(backward):
    def call(k, rng, dtype, size):
        x, g = _planes(rng, dtype, size)
        probs = _softmax(x.astype(np.float64)).astype(dtype)
        if not backward:
            saved, out = _nan(x.shape, dtype), _nan(x.shape, dtype)
            k.cumulative_softmax_forward(x, saved, out)
            return [saved, out]
        grad_input = _nan(x.shape, dtype)
        k.cumulative_softmax_backward(probs, g, grad_input)
        return [grad_input]
    return call


# -- dropout --------------------------------------------------------------------

def _dropout(backward):
    def call(k, rng, dtype, size):
        x = _flat(rng, dtype, size)
        p = float(rng.choice([0.0, 0.3, 1.0]))
        mask = (rng.random(size) >= p).astype(np.uint8)
        scale = 1 / (1 - p) if p < 1 else 0.0
        out = _nan(size, dtype)
        (k.dropout_backward if backward else k.dropout_forward)(x, mask, scale, out)
        return [out]
    return call


# -- batches --------------------------------------------------------------------

def _gather_rows(k, rng, dtype, size):
    """``size`` rows, repeats and the first and last row included, of a
    data set of 1 to 2 * size + 1 rows of 0 to 40 features."""
    n = int(rng.integers(1, 2 * size + 2))
    x = _flat(rng, dtype, (n, int(rng.choice([0, 1, 7, 40]))))
    index = rng.integers(0, n, size).astype(np.int64)
    index[:2] = [0, n - 1][:size]
    out = _nan((size, x.shape[1]), dtype)
    k.gather_rows(x, index, out)
    return [out]


# -- losses ---------------------------------------------------------------------

def _cross_entropy_forward(k, rng, dtype, size):
    x, labels, weight = _classes(rng, dtype, size)
    prob = _nan(x.shape, dtype)
    return [np.array(k.cross_entropy_forward(x, labels, weight, prob)), prob]


def _cross_entropy_backward(k, rng, dtype, size):
    x, labels, weight = _classes(rng, dtype, size)
    grad_input = _nan(x.shape, dtype)
    k.cross_entropy_backward(_softmax(x).astype(dtype), labels, weight,
                             float(rng.uniform(0.1, 2)), grad_input)
    return [grad_input]


def _nll_forward(k, rng, dtype, size):
    x, labels, weight = _classes(rng, dtype, size)
    return [np.array(k.nll_forward(np.log(_softmax(x)).astype(dtype), labels, weight))]


def _nll_backward(k, rng, dtype, size):
    x, labels, weight = _classes(rng, dtype, size)
    grad_input = _nan(x.shape, dtype)
    k.nll_backward(x, labels, weight, float(rng.uniform(0.1, 2)), grad_input)
    return [grad_input]


def _hinge(backward):
    def call(k, rng, dtype, size):
        x, labels, _ = _classes(rng, dtype, size)
        margin = float(rng.uniform(0, 2))
        if not backward:
            return [np.array(k.hinge_forward(x, labels, margin))]
        grad_input = _nan(x.shape, dtype)
        k.hinge_backward(x, labels, margin, float(rng.uniform(0.1, 2)), grad_input)
        return [grad_input]
    return call


def _pointwise_loss(stem, backward):
    def call(k, rng, dtype, size):
        pred, target = loss_pred_target(stem, rng, dtype, size)
        if not backward:
            return [np.array(getattr(k, stem + "_forward")(pred, target))]
        grad_input = _nan(size, dtype)
        getattr(k, stem + "_backward")(pred, target, float(rng.uniform(0.1, 2)), grad_input)
        return [grad_input]
    return call


def _dice_inputs(rng, dtype, size):
    n_elements = int(rng.integers(1, 40))
    prob = rng.uniform(0, 1, (size, n_elements)).astype(dtype)
    target = (rng.random((size, n_elements)) < 0.3).astype(dtype)
    return prob, target, float(rng.uniform(0.1, 2))


def _dice_forward(k, rng, dtype, size):
    prob, target, smooth = _dice_inputs(rng, dtype, size)
    sums = _nan((size, 2), np.float64)
    return [np.array(k.dice_forward(prob, target, smooth, sums)), sums]


def _dice_backward(k, rng, dtype, size):
    prob, target, smooth = _dice_inputs(rng, dtype, size)
    p, t = prob.astype(np.float64), target.astype(np.float64)
    sums = np.stack([2 * (p * t).sum(axis=1) + smooth, p.sum(axis=1) + t.sum(axis=1) + smooth],
                    axis=1)
    grad_input = _nan(prob.shape, dtype)
    k.dice_backward(target, sums, float(rng.uniform(0.1, 2)), grad_input)
    return [grad_input]


# -- optimizers: three steps each ----------------------------------------------

def _maybe(rng):
    return float(rng.uniform(0.01, 0.3)) if rng.random() < 0.5 else 0.0


def _update(kind):
    def call(k, rng, dtype, size):
        value = rng.standard_normal(size).astype(dtype)
        grads = [rng.standard_normal(size).astype(dtype) for _ in range(3)]
        wd, l1 = _maybe(rng), _maybe(rng)
        zeros = lambda: np.zeros_like(value)  # noqa: E731
        if kind == "sgd":
            momentum = _maybe(rng)
            buf = zeros() if momentum else None
            nesterov = bool(momentum and rng.random() < 0.5)
            for i, g in enumerate(grads):
                k.sgd_update(value, g, buf, 0.1, momentum, 0.0 if nesterov else 0.1,
                             nesterov, wd, l1, i == 0)
            return [value] + ([] if buf is None else [buf])
        if kind == "adam":
            exp_avg, exp_avg_sq = zeros(), zeros()
            for step, g in enumerate(grads, 1):
                k.adam_update(value, g, exp_avg, exp_avg_sq, step, 1e-2, 0.9, 0.999, 1e-8, wd, l1)
            return [value, exp_avg, exp_avg_sq]
        if kind == "adagrad":
            state_sum = np.full_like(value, 0.1)
            for step, g in enumerate(grads, 1):
                k.adagrad_update(value, g, state_sum, step, 1e-2, _maybe(rng), wd, 1e-10, l1)
            return [value, state_sum]
        momentum, centered = _maybe(rng), bool(rng.random() < 0.5)
        square_avg = zeros()
        buf = zeros() if momentum else None
        grad_avg = zeros() if centered else None
        for g in grads:
            k.rmsprop_update(value, g, square_avg, buf, grad_avg, 1e-2, 0.9, 1e-8, wd,
                             momentum, centered, l1)
        return [value, square_avg] + [a for a in (buf, grad_avg) if a is not None]
    return call


# -- gemm -----------------------------------------------------------------------

def _gemm(k, rng, dtype, size):
    n, inner = int(rng.integers(1, 40)), int(rng.integers(1, 40))
    trans_a, trans_b = bool(rng.random() < 0.5), bool(rng.random() < 0.5)
    a = rng.standard_normal((inner, size) if trans_a else (size, inner)).astype(dtype)
    b = rng.standard_normal((n, inner) if trans_b else (inner, n)).astype(dtype)
    out = rng.standard_normal((size, n)).astype(dtype)
    alpha, beta = float(rng.choice([1.0, 0.5])), float(rng.choice([0.0, 2.0]))
    k.gemm(a, b, out, trans_a, trans_b, alpha, beta)
    return [out]


CALLS = {
    "relu_forward": _pointwise("relu", False, True),
    "relu_backward": _pointwise("relu", True, True),
    "leaky_relu_forward": _pointwise("leaky_relu", False, False, slope=True),
    "leaky_relu_backward": _pointwise("leaky_relu", True, False, slope=True),
    "sigmoid_forward": _pointwise("sigmoid", False, True),
    "sigmoid_backward": _pointwise("sigmoid", True, True),
    "tanh_forward": _pointwise("tanh", False, True),
    "tanh_backward": _pointwise("tanh", True, True),
    "prelu_forward": _prelu_forward,
    "prelu_backward": _prelu_backward,
    "softmax_forward": _softmax_call("softmax", False),
    "softmax_backward": _softmax_call("softmax", True),
    "log_softmax_forward": _softmax_call("log_softmax", False),
    "log_softmax_backward": _softmax_call("log_softmax", True),
    "cumulative_softmax_forward": _cumulative_softmax_call(False),
    "cumulative_softmax_backward": _cumulative_softmax_call(True),
    "dropout_forward": _dropout(False),
    "dropout_backward": _dropout(True),
    "gather_rows": _gather_rows,
    "cross_entropy_forward": _cross_entropy_forward,
    "cross_entropy_backward": _cross_entropy_backward,
    "nll_forward": _nll_forward,
    "nll_backward": _nll_backward,
    "mse_forward": _pointwise_loss("mse", False),
    "mse_backward": _pointwise_loss("mse", True),
    "bce_forward": _pointwise_loss("bce", False),
    "bce_backward": _pointwise_loss("bce", True),
    "bce_with_logits_forward": _pointwise_loss("bce_with_logits", False),
    "bce_with_logits_backward": _pointwise_loss("bce_with_logits", True),
    "dice_forward": _dice_forward,
    "dice_backward": _dice_backward,
    "hinge_forward": _hinge(False),
    "hinge_backward": _hinge(True),
    "sgd_update": _update("sgd"),
    "adam_update": _update("adam"),
    "adagrad_update": _update("adagrad"),
    "rmsprop_update": _update("rmsprop"),
    "gemm": _gemm,
}


def fp_state_kept_after_each_call(threads_list=(1, 2), size=301):
    """Call every kernel in CALLS from the compiled set at each thread count
    (the parallel path forced); return [(kernel, threads, what went wrong)]
    for each call after which the caller's FP control word changed or a
    float32 or float64 denormal product was flushed to 0."""
    import nnfast as nf
    from nnfast import _kernels
    from nnfast._kernels import _threads

    failures = []
    tiny, one = 1e-310, 1.0  # variables: a literal product would be folded at compile time
    old_threads = nf.get_num_threads()
    try:
        _threads.set_flops_per_thread(1.0)
        for n_threads in threads_list:
            nf.set_num_threads(n_threads)
            for name, call in CALLS.items():
                before = _threads.fp_mode()
                call(_kernels, np.random.default_rng(7), np.float32, size)
                call(_kernels, np.random.default_rng(7), np.float64, size)
                after = _threads.fp_mode()
                if after != before:
                    failures.append((name, n_threads, f"fp_mode {before:#x} -> {after:#x}"))
                if np.float32(1e-39) * np.float32(1) == 0:
                    failures.append((name, n_threads, "float32 denormals flushed"))
                if tiny * one == 0:
                    failures.append((name, n_threads, "float64 denormals flushed"))
    finally:
        _threads.set_flops_per_thread(1.0e5)
        nf.set_num_threads(old_threads)
    return failures
