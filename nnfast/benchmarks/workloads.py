"""The training workloads, built identically for nnfast and for PyTorch.

Every workload trains on float32 input of shape (N,) + its ``input_shape``
((1, 28, 28) images unless it says otherwise; lstm-seq's are sequences of
50 steps of 32 features) with 10 classes, softmax cross-entropy and SGD (lr 0.003, momentum 0.9);
unet-small segments (1, 64, 64) images into 2 classes per pixel with DiceCE and Adam. Its layers
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
# ("sigmoid",), ("conv", in, out, kernel, padding[, bias]), ("maxpool", kernel),
# ("lstm", input, hidden) on (N, T, input) sequences (batch first),
# ("last",), the last time step of (N, T, F) as (N, F), ("bn", channels)
# (BatchNorm2D), ("up", in, out) (ConvTranspose2D 2x2, stride 2) and
# ("skip", [layers]) (SkipConnection(mode="cat"): [x, layers(x)] on channels).


def _conv_block(c_in, c_out):
    """Two × (Conv 3×3 pad 1 without bias, BatchNorm2D, ReLU)."""
    return [("conv", c_in, c_out, 3, 1, False), ("bn", c_out), ("relu",),
            ("conv", c_out, c_out, 3, 1, False), ("bn", c_out), ("relu",)]


def _unet_layers(c_in, channels, n_classes):
    """nf.models.UNet(2, c_in, n_classes, channels) as layer descriptions."""
    def level(i, c_prev):
        if i == len(channels) - 1:
            return _conv_block(c_prev, channels[i])
        c = channels[i]
        down = [("maxpool", 2)] + level(i + 1, c) + [("up", channels[i + 1], c)]
        return _conv_block(c_prev, c) + [("skip", down)] + _conv_block(2 * c, c)
    return level(0, c_in) + [("conv", channels[0], n_classes, 1, 0)]


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
    # segmentation: a U-Net of two levels (16, 32) and a bottleneck of 64 on
    # (1, 64, 64) images, per-pixel masks of 2 classes, MONAI's DiceCE loss
    # (softmax Dice + cross-entropy) and Adam
    "unet-small": {
        "batch_size": 16,
        "input_shape": (1, 64, 64),
        "n_classes": 2,
        "target": "mask",
        "loss": "dice_ce",
        "optimizer": "adam",
        "lr": 1e-3,
        "layers": _unet_layers(1, (16, 32, 64), 2),
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
    "unet-small": {"torch": 1.7},
}


def check_workload(name):
    """``name`` if it is a workload, else ValueError listing the choices."""
    if name not in WORKLOADS:
        raise ValueError(f"workload must be one of {sorted(WORKLOADS)}, got {name!r}")
    return name


def input_shape(name):
    """One sample's shape in workload ``name``: (C, H, W) or (T, F)."""
    return tuple(WORKLOADS[name].get("input_shape", INPUT_SHAPE))


def n_classes(name):
    """The classes of workload ``name`` (10 unless it says otherwise)."""
    return WORKLOADS[name].get("n_classes", N_CLASSES)


def _shapes(name):
    """(layer, input shape (C, H, W), (T, F) or (F,)) for each layer of a
    workload, those inside a skip connection included, in order."""
    return _layer_shapes(WORKLOADS[name]["layers"], input_shape(name))[0]


def _layer_shapes(layers, shape):
    """(the (layer, input shape) pairs, the output shape) of ``layers``."""
    out = []
    for layer in layers:
        out.append((layer, shape))
        kind = layer[0]
        if kind == "flatten":
            shape = (int(np.prod(shape)),)
        elif kind == "linear":
            shape = (layer[2],)
        elif kind == "conv":
            _, _, c_out, k, pad = layer[:5]
            shape = (c_out, shape[1] + 2 * pad - k + 1, shape[2] + 2 * pad - k + 1)
        elif kind == "up":
            shape = (layer[2], 2 * shape[1], 2 * shape[2])
        elif kind == "skip":
            inner, inner_out = _layer_shapes(layer[1], shape)
            out.pop()    # the skip itself holds no weights: its layers are listed
            out.extend(inner)
            shape = (shape[0] + inner_out[0],) + shape[1:]
        elif kind == "maxpool":
            k = layer[1]
            shape = (shape[0], shape[1] // k, shape[2] // k)
        elif kind == "lstm":
            shape = (shape[0], layer[2])
        elif kind == "last":
            shape = shape[1:]
    return out, shape


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
            _, c_in, c_out, k, pad = layer[:5]
            h = shape[1] + 2 * pad - k + 1
            w = shape[2] + 2 * pad - k + 1
            macs = c_out * h * w * c_in * k * k
        elif kind == "up":
            _, c_in, c_out = layer
            macs = c_in * c_out * 4 * shape[1] * shape[2]
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
    _init_layers(WORKLOADS[name]["layers"], rng, params)
    return params


def _init_layers(layers, rng, params):
    for layer in layers:
        if layer[0] == "skip":
            _init_layers(layer[1], rng, params)
            continue
        if layer[0] == "bn":
            params.append(np.ones(layer[1], np.float32))
            params.append(np.zeros(layer[1], np.float32))
            continue
        if layer[0] == "up":
            # torch's fan-in of a transposed convolution: out_channels * kh * kw
            _, c_in, c_out = layer
            bound = 1.0 / np.sqrt(c_out * 4)
            params.append(rng.uniform(-bound, bound, size=(c_in, c_out, 2, 2)).astype(np.float32))
            params.append(rng.uniform(-bound, bound, size=(c_out,)).astype(np.float32))
            continue
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
        if layer[0] != "conv" or len(layer) < 6 or layer[5]:
            params.append(rng.uniform(-bound, bound, size=shape[:1]).astype(np.float32))


def make_data(n_samples, seed=0, name=None):
    """Random inputs and labels: X float32 (n,) + ``input_shape(name)`` in
    [0, 1) (images (n, 1, 28, 28) when name is None), y int64 (n,)."""
    rng = np.random.default_rng(seed + 1)
    shape = INPUT_SHAPE if name is None else input_shape(name)
    X = rng.random((n_samples,) + shape, dtype=np.float32)
    if name is not None and WORKLOADS[name].get("target") == "mask":
        # a per-pixel mask (n, H, W): the classes by intensity bands, so that
        # the network has something to learn
        y = np.minimum((X[:, 0] * n_classes(name)).astype(np.int64), n_classes(name) - 1)
        return X, y
    y = rng.integers(0, N_CLASSES, size=n_samples, dtype=np.int64)
    return X, y


def _layers(name, make, layers=None):
    """The workload's layers, each built by ``make[kind](*arguments)``
    (``make["skip"](list of built layers)`` for a skip connection)."""
    layers = WORKLOADS[name]["layers"] if layers is None else layers
    return [make["skip"](_layers(name, make, layer[1])) if layer[0] == "skip"
            else make[layer[0]](*layer[1:]) for layer in layers]


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
        "conv": lambda i, o, k, pad, bias=True: L.Conv2D(i, o, kernel_size=k, stride=1,
                                                         padding=pad, bias=bias),
        "maxpool": lambda k: L.MaxPool2D(kernel_size=k, stride=k),
        "lstm": lambda i, h: L.LSTM(i, h), "last": _nnfast_last_step,
        "bn": L.BatchNorm2D, "up": lambda i, o: L.ConvTranspose2D(i, o, 2, stride=2),
        "skip": lambda inner: L.SkipConnection(nf.Sequential(inner), mode="cat"),
    })
    model = nf.Sequential(layers)
    params = model.parameters()
    assert len(params) == len(weights), (len(params), len(weights))
    for p, w in zip(params, weights):
        p.value[...] = w
    spec = WORKLOADS[name]
    if spec.get("loss") == "dice_ce":
        loss = nf.losses.DiceCELoss(softmax=True, to_onehot_y=True)
    else:
        loss = nf.losses.CrossEntropyLoss()
    if spec.get("optimizer") == "adam":
        opt = nf.optim.Adam(params, lr=spec["lr"])
    else:
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
        "conv": lambda i, o, k, pad, bias=True: nn.Conv2d(i, o, kernel_size=k, stride=1,
                                                          padding=pad, bias=bias),
        "maxpool": lambda k: nn.MaxPool2d(kernel_size=k, stride=k),
        "lstm": lambda i, h: nn.LSTM(i, h, batch_first=True), "last": _torch_last_step,
        "bn": nn.BatchNorm2d, "up": lambda i, o: nn.ConvTranspose2d(i, o, 2, stride=2),
        "skip": lambda inner: _torch_skip_connection(nn.Sequential(*inner)),
    }))
    params = list(model.parameters())
    assert len(params) == len(weights), (len(params), len(weights))
    with torch.no_grad():
        for p, w in zip(params, weights):
            p.copy_(torch.from_numpy(w))
    spec = WORKLOADS[name]
    loss = _torch_dice_ce if spec.get("loss") == "dice_ce" else torch.nn.CrossEntropyLoss()
    if spec.get("optimizer") == "adam":
        opt = torch.optim.Adam(params, lr=spec["lr"])
    else:
        opt = torch.optim.SGD(params, lr=LR, momentum=MOMENTUM)
    return model, loss, opt


def _torch_skip_connection(inner):
    """A torch module: cat([x, inner(x)], dim=1), MONAI's SkipConnection."""
    import torch

    class SkipConnection(torch.nn.Module):
        def __init__(self, submodule):
            super().__init__()
            self.submodule = submodule

        def forward(self, x):
            return torch.cat([x, self.submodule(x)], dim=1)

    return SkipConnection(inner)


def _torch_dice_ce(logits, target):
    """MONAI's DiceCELoss(softmax=True, to_onehot_y=True) with its defaults,
    in plain torch (so that the benchmark needs no MONAI): the mean over
    samples and classes of 1 - (2 I + 1e-5) / (P + T + 1e-5) on the softmax,
    plus the cross-entropy. logits (N, C, H, W), target (N, H, W) int64."""
    import torch

    probs = torch.softmax(logits, dim=1)
    onehot = torch.nn.functional.one_hot(target, logits.shape[1]).permute(0, 3, 1, 2).to(probs.dtype)
    axes = (2, 3)
    inter = (probs * onehot).sum(axes)
    denom = probs.sum(axes) + onehot.sum(axes)
    dice = 1.0 - (2.0 * inter + 1e-5) / (denom + 1e-5)
    return dice.mean() + torch.nn.functional.cross_entropy(logits, target)
