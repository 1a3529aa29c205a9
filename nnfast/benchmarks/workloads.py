"""The training workloads, built identically for nnfast and for PyTorch.

Every workload trains on float32 input of shape (N,) + its ``input_shape``
((1, 28, 28) images unless it says otherwise; lstm-seq's are sequences of
50 steps of 32 features) with 10 classes, softmax cross-entropy and SGD (lr 0.003, momentum 0.9). Its layers
are described once, as plain tuples, and both builders read that description;
the data and the initial weights come from NumPy alone (one seed), so every
implementation starts from the same weights and sees the same batches.

This module imports nothing but NumPy at top level: the PyTorch worker loads
it by file path so that nnfast's OpenMP runtime never enters that process.
"""
import numpy as np

N_CLASSES = 10
INPUT_SHAPE = (1, 28, 28)
LR = 0.003
MOMENTUM = 0.9

# Layer descriptions: ("flatten",), ("linear", in, out), ("relu",),
# ("sigmoid",), ("conv", in, out, kernel, padding), ("maxpool", kernel),
# ("lstm", input, hidden) on (N, T, input) sequences (batch first) and
# ("last",), the last time step of (N, T, F) as (N, F).
WORKLOADS = {
    "mlp-lab": {
        "batch_size": 64,
        "layers": [("flatten",), ("linear", 784, 30), ("sigmoid",), ("linear", 30, 10)],
    },
    "mlp-deep": {
        "batch_size": 64,
        "layers": [("flatten",), ("linear", 784, 30), ("relu",)]
        + [("linear", 30, 30), ("relu",)] * 4
        + [("linear", 30, 10)],
    },
    "mlp-wide": {
        "batch_size": 128,
        "layers": [("flatten",), ("linear", 784, 512), ("relu",),
                   ("linear", 512, 512), ("relu",), ("linear", 512, 10)],
    },
    "lenet5": {
        "batch_size": 64,
        "layers": [("conv", 1, 6, 5, 2), ("relu",), ("maxpool", 2),
                   ("conv", 6, 16, 5, 0), ("relu",), ("maxpool", 2),
                   ("flatten",), ("linear", 400, 120), ("relu",),
                   ("linear", 120, 84), ("relu",), ("linear", 84, 10)],
    },
    "cnn32-64": {
        "batch_size": 64,
        "layers": [("conv", 1, 32, 3, 1), ("relu",), ("maxpool", 2),
                   ("conv", 32, 64, 3, 1), ("relu",), ("maxpool", 2),
                   ("flatten",), ("linear", 3136, 128), ("relu",),
                   ("linear", 128, 10)],
    },
    "lstm-seq": {
        "batch_size": 32,
        "input_shape": (50, 32),
        "layers": [("lstm", 32, 128), ("last",), ("linear", 128, 10)],
    },
}

# Training samples/s ratios the workloads are held to: fast / torch and
# fast / reference; "roofline" is the fraction of the machine's sgemm peak.
TARGETS = {
    "mlp-lab": {"torch": 2.0},
    "mlp-deep": {"torch": 2.0},
    "mlp-wide": {"torch": 1.2, "roofline": 0.75},
    "lenet5": {"torch": 2.0, "reference": 5.0},
    "cnn32-64": {"torch": 1.5, "reference": 5.0},
    "lstm-seq": {"torch": 1.5},
}


def check_workload(name):
    """``name`` if it is a workload, else ValueError listing the choices."""
    if name not in WORKLOADS:
        raise ValueError(f"workload must be one of {sorted(WORKLOADS)}, got {name!r}")
    return name


def input_shape(name):
    """One sample's shape in workload ``name``: (C, H, W) or (T, F)."""
    return tuple(WORKLOADS[name].get("input_shape", INPUT_SHAPE))


def _shapes(name):
    """(layer, input shape (C, H, W), (T, F) or (F,)) for each layer of a workload."""
    shape = input_shape(name)
    out = []
    for layer in WORKLOADS[name]["layers"]:
        out.append((layer, shape))
        kind = layer[0]
        if kind == "flatten":
            shape = (int(np.prod(shape)),)
        elif kind == "linear":
            shape = (layer[2],)
        elif kind == "conv":
            _, _, c_out, k, pad = layer
            shape = (c_out, shape[1] + 2 * pad - k + 1, shape[2] + 2 * pad - k + 1)
        elif kind == "maxpool":
            k = layer[1]
            shape = (shape[0], shape[1] // k, shape[2] // k)
        elif kind == "lstm":
            shape = (shape[0], layer[2])
        elif kind == "last":
            shape = shape[1:]
    return out


def flops_per_step(name, batch_size):
    """Floating-point operations of one training step (GEMM work only).

    Forward 2*N*MACs per Linear/Conv, the same again for the weight gradient,
    and again for the input gradient except for the first layer with
    parameters (no implementation needs the gradient wrt the data). An LSTM
    of T steps counts its input and recurrent projections at every step;
    the recurrent one always has its input gradient (the gradient through
    time).
    Element-wise work (bias, activations, pooling, softmax, update) is left
    out: it is memory-bound and small next to the GEMMs.
    """
    total = 0.0
    first = True
    for layer, shape in _shapes(name):
        kind = layer[0]
        if kind == "linear":
            macs = layer[1] * layer[2]
        elif kind == "conv":
            _, c_in, c_out, k, pad = layer
            h = shape[1] + 2 * pad - k + 1
            w = shape[2] + 2 * pad - k + 1
            macs = c_out * h * w * c_in * k * k
        elif kind == "lstm":
            _, size_in, hidden = layer
            steps = shape[0]
            macs_ih, macs_hh = steps * 4 * hidden * size_in, steps * 4 * hidden * hidden
            total += (4.0 if first else 6.0) * batch_size * macs_ih + 6.0 * batch_size * macs_hh
            first = False
            continue
        else:
            continue
        total += (4.0 if first else 6.0) * batch_size * macs
        first = False
    return total


def init_weights(name, seed=0):
    """Initial parameters of a workload, in layer order, weight before bias.

    PyTorch's default initialisation for Linear and Conv2d (weights and bias
    from U(-1/sqrt(fan_in), 1/sqrt(fan_in))) and LSTM (weight_ih, weight_hh,
    bias_ih, bias_hh from U(-1/sqrt(hidden), 1/sqrt(hidden))), drawn with
    NumPy so that the same arrays go into every implementation. float32.
    """
    rng = np.random.default_rng(seed)
    params = []
    for layer in WORKLOADS[name]["layers"]:
        if layer[0] == "lstm":
            _, size_in, hidden = layer
            bound = 1.0 / np.sqrt(hidden)
            for shape in ((4 * hidden, size_in), (4 * hidden, hidden), (4 * hidden,), (4 * hidden,)):
                params.append(rng.uniform(-bound, bound, size=shape).astype(np.float32))
            continue
        if layer[0] == "linear":
            shape = (layer[2], layer[1])
        elif layer[0] == "conv":
            shape = (layer[2], layer[1], layer[3], layer[3])
        else:
            continue
        bound = 1.0 / np.sqrt(np.prod(shape[1:]))
        params.append(rng.uniform(-bound, bound, size=shape).astype(np.float32))
        params.append(rng.uniform(-bound, bound, size=shape[:1]).astype(np.float32))
    return params


def make_data(n_samples, seed=0, name=None):
    """Random inputs and labels: X float32 (n,) + ``input_shape(name)`` in
    [0, 1) (images (n, 1, 28, 28) when name is None), y int64 (n,)."""
    rng = np.random.default_rng(seed + 1)
    shape = INPUT_SHAPE if name is None else input_shape(name)
    X = rng.random((n_samples,) + shape, dtype=np.float32)
    y = rng.integers(0, N_CLASSES, size=n_samples, dtype=np.int64)
    return X, y


def _layers(name, make):
    """The workload's layers, each built by ``make[kind](*arguments)``."""
    return [make[layer[0]](*layer[1:]) for layer in WORKLOADS[name]["layers"]]


def _nnfast_last_step():
    """An nnfast layer: (N, T, F) -> (N, F), the last time step."""
    from nnfast.layers import LastStep

    return LastStep()


def _torch_last_step():
    """A torch module: an LSTM's (output, state) or (N, T, F) -> (N, F), the
    last time step of the output."""
    import torch

    class LastStep(torch.nn.Module):
        def forward(self, x):
            out = x[0] if isinstance(x, tuple) else x
            return out[:, -1]

    return LastStep()


def build_nnfast(name, weights):
    """(model, loss, optimizer, backward) in nnfast, starting from ``weights``.

    ``backward(grad)`` backpropagates through the model as ``nf.fit`` does
    and as PyTorch does for input that needs no gradient: it stops at the
    first layer with parameters, which skips its input gradient
    (``requires_input_grad = False``).
    """
    import nnfast as nf

    L = nf.layers
    layers = _layers(name, {
        "flatten": L.Flatten, "linear": L.Linear, "relu": L.ReLU, "sigmoid": L.Sigmoid,
        "conv": lambda i, o, k, pad: L.Conv2D(i, o, kernel_size=k, stride=1, padding=pad),
        "maxpool": lambda k: L.MaxPool2D(kernel_size=k, stride=k),
        "lstm": lambda i, h: L.LSTM(i, h), "last": _nnfast_last_step,
    })
    model = nf.Sequential(layers)
    params = model.parameters()
    assert len(params) == len(weights), (len(params), len(weights))
    for p, w in zip(params, weights):
        p.value[...] = w
    loss = nf.losses.CrossEntropyLoss()
    opt = nf.optim.SGD(params, lr=LR, momentum=MOMENTUM)
    first = next(i for i, layer in enumerate(layers) if layer.parameters())
    # As nf.fit and PyTorch do: no input gradient for the first layer with
    # parameters, and Sequential.backward stops there.
    layers[first].requires_input_grad = False
    return model, loss, opt, model.backward


def build_torch(name, weights):
    """(model, loss, optimizer) in torch.nn, starting from ``weights``."""
    import torch

    nn = torch.nn
    model = nn.Sequential(*_layers(name, {
        "flatten": nn.Flatten, "linear": nn.Linear, "relu": nn.ReLU, "sigmoid": nn.Sigmoid,
        "conv": lambda i, o, k, pad: nn.Conv2d(i, o, kernel_size=k, stride=1, padding=pad),
        "maxpool": lambda k: nn.MaxPool2d(kernel_size=k, stride=k),
        "lstm": lambda i, h: nn.LSTM(i, h, batch_first=True), "last": _torch_last_step,
    }))
    params = list(model.parameters())
    assert len(params) == len(weights), (len(params), len(weights))
    with torch.no_grad():
        for p, w in zip(params, weights):
            p.copy_(torch.from_numpy(w))
    loss = torch.nn.CrossEntropyLoss()
    opt = torch.optim.SGD(params, lr=LR, momentum=MOMENTUM)
    return model, loss, opt
