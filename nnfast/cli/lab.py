"""The MNIST lab's networks and optimizers, as ``nnfast train`` builds them."""
import numpy as np

ACTIVATIONS = ("sigmoid", "relu", "tanh", "leaky_relu")
OPTIMIZERS = ("sgd", "adam", "adagrad", "rmsprop")

# The learning rate ``nnfast train`` uses without --lr, per model and optimizer.
# The MLP keeps the lab's 0.003 for every optimizer. LeNet-5 with SGD (momentum
# 0.9): 0.045, at which the default run (seed 0, 2 epochs, the bundled sample)
# reaches 0.932 test accuracy at 1 and at 2 threads, and seeds 0-7 all reach
# >= 0.90 at 2 threads (>= 0.88 over seeds 0-15 at 1 thread); 0.03 and 0.035
# fall short on more seeds, 0.04 diverged on one (python bench/lenet_default_lr.py).
# LeNet with adam and adagrad: torch.optim's defaults; rmsprop: 0.001.
DEFAULT_LR = {
    ("mlp", "sgd"): 0.003, ("mlp", "adam"): 0.003, ("mlp", "adagrad"): 0.003,
    ("mlp", "rmsprop"): 0.003,
    ("lenet", "sgd"): 0.045, ("lenet", "adam"): 0.001, ("lenet", "adagrad"): 0.01,
    ("lenet", "rmsprop"): 0.001,
}


def activation(name):
    """A new activation layer by its command-line name."""
    from nnfast import layers
    return {"sigmoid": layers.Sigmoid, "relu": layers.ReLU, "tanh": layers.Tanh,
            "leaky_relu": layers.LeakyReLU}[name]()


def build_mlp(n_inputs, n_classes, hidden_layers=1, hidden_units=30, activation_name="sigmoid",
              rng=None, dtype=np.float32):
    """Flatten, ``hidden_layers`` x (Linear, activation), Linear, LogSoftmax.

    The default is the lab's 784-30-10 sigmoid network.
    """
    from nnfast import Sequential, layers
    stack = [layers.Flatten()]
    width = n_inputs
    for _ in range(hidden_layers):
        stack += [layers.Linear(width, hidden_units, dtype=dtype, rng=rng), activation(activation_name)]
        width = hidden_units
    stack += [layers.Linear(width, n_classes, dtype=dtype, rng=rng), layers.LogSoftmax()]
    return Sequential(stack)


def build_lenet(in_channels, height, width, n_classes, rng=None, dtype=np.float32):
    """LeNet-5: conv 6@5x5 (pad 2), ReLU, maxpool 2, conv 16@5x5, ReLU,
    maxpool 2, Linear 120, ReLU, Linear 84, ReLU, Linear ``n_classes``,
    LogSoftmax (400 features into the first Linear for 28x28 input)."""
    from nnfast import Sequential, layers
    h, w = height // 2, width // 2            # conv 1 keeps the size (pad 2), pool halves it
    h, w = (h - 4) // 2, (w - 4) // 2          # conv 2 (5x5, no pad), pool
    if h < 1 or w < 1:
        raise ValueError(f"LeNet needs images of at least 12x12, got {height}x{width}")
    return Sequential([
        layers.Conv2D(in_channels, 6, kernel_size=5, padding=2, dtype=dtype, rng=rng),
        layers.ReLU(),
        layers.MaxPool2D(kernel_size=2, stride=2),
        layers.Conv2D(6, 16, kernel_size=5, dtype=dtype, rng=rng),
        layers.ReLU(),
        layers.MaxPool2D(kernel_size=2, stride=2),
        layers.Flatten(),
        layers.Linear(16 * h * w, 120, dtype=dtype, rng=rng),
        layers.ReLU(),
        layers.Linear(120, 84, dtype=dtype, rng=rng),
        layers.ReLU(),
        layers.Linear(84, n_classes, dtype=dtype, rng=rng),
        layers.LogSoftmax(),
    ])


def build_optimizer(name, params, lr, momentum=None):
    """An nnfast optimizer by its command-line name; ``momentum`` for sgd
    and rmsprop only (None: sgd's lab default 0.9, rmsprop's 0)."""
    from nnfast import optim
    if name == "sgd":
        return optim.SGD(params, lr=lr, momentum=0.9 if momentum is None else momentum)
    if name == "rmsprop":
        return optim.RMSProp(params, lr=lr, momentum=0.0 if momentum is None else momentum)
    return {"adam": optim.Adam, "adagrad": optim.Adagrad}[name](params, lr=lr)


def describe_mlp(n_inputs, n_classes, hidden_layers, hidden_units, activation_name):
    sizes = [n_inputs] + [hidden_units] * hidden_layers + [n_classes]
    return f"MLP {'-'.join(map(str, sizes))} {activation_name}"


def describe_optimizer(name, lr, momentum=None):
    """``sgd lr 0.003 momentum 0.9``: the optimizer as ``build_optimizer`` makes it."""
    text = f"{name} lr {lr:g}"
    if name == "sgd":
        text += f" momentum {0.9 if momentum is None else momentum:g}"
    elif name == "rmsprop" and momentum:
        text += f" momentum {momentum:g}"
    return text
