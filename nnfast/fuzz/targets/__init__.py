"""The entry points the fuzzer calls: one ``Target`` each, with the
hypothesis strategy that draws its cases and the function that runs one.

A run raises whatever the library raises (the child classifies it) and
``outcome.Garbage`` when a result fails a check.
"""
import importlib

MODULES = ("layers", "norm_recurrent", "data_loader", "transforms", "model_tools", "callbacks", "sklearn_mlp", "onnx_io", "network", "losses", "optim", "parameter", "training", "files",
           "datasets", "misc", "fau", "initializers", "selftest")


class Target:
    """One entry point (or a family of calls on one object).

    Parameters
    ----------
    name : str
        Dotted, as users call it: "layers.Linear", "nf.load", ...
    strategy : hypothesis strategy of dict
        A case's spec. ``spec["valid"]`` True says every call must succeed;
        ``spec["names"]`` adds words an expected error may name.
    run : callable(spec, ctx)
    names : tuple of str
        The entry point's argument names: an expected error names one.
    allowed : tuple of exception types
        Documented errors beyond ValueError/TypeError.
    paths : bool
        OSError is an expected error (the case passes paths or files).
    weight : float
        Share of the cases, relative to the other targets.
    hidden : bool
        Run only when asked for by name (the fuzzer's self-test).
    """

    def __init__(self, name, strategy, run, names, allowed=(), paths=False, weight=1.0,
                 hidden=False):
        self.name = name
        self.strategy = strategy
        self.run = run
        self.names = tuple(names)
        self.allowed = tuple(allowed)
        self.paths = paths
        self.weight = weight
        self.hidden = hidden

    def __repr__(self):
        return f"Target({self.name!r})"


REGISTRY = {}


def register(name, strategy, names, allowed=(), paths=False, weight=1.0, hidden=False):
    """Decorator: register ``run`` as the target ``name``."""
    def decorate(run):
        REGISTRY[name] = Target(name, strategy, run, names, allowed, paths, weight, hidden)
        return run
    return decorate


def all_targets():
    """Every registered target, by name (importing the target modules once)."""
    for module in MODULES:
        importlib.import_module(f"nnfast.fuzz.targets.{module}")
    return dict(REGISTRY)
