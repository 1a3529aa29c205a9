"""How closely nnfast's normalization and recurrent layers agree with PyTorch.

Each layer gets PyTorch's initial weights copied as plain arrays, the same
input and the same output gradient; the table gives the largest absolute
difference of the output, the input gradient and every parameter gradient
(and, in training mode, BatchNorm's running statistics), in float32 and
float64, next to the largest magnitude of the compared quantity.

    python bench/torch_agreement.py            # needs torch
"""
import argparse

import numpy as np


def _cases():
    import torch

    import nnfast as nf
    L = nf.layers
    return [
        ("BatchNorm1D (256, 6)", lambda d: L.BatchNorm1D(6, dtype=d), lambda: torch.nn.BatchNorm1d(6), (256, 6)),
        ("BatchNorm1D (32, 6, 20)", lambda d: L.BatchNorm1D(6, dtype=d), lambda: torch.nn.BatchNorm1d(6), (32, 6, 20)),
        ("BatchNorm2D (16, 8, 14, 14)", lambda d: L.BatchNorm2D(8, dtype=d), lambda: torch.nn.BatchNorm2d(8),
         (16, 8, 14, 14)),
        ("RNN tanh 32->128, T=50", lambda d: L.RNN(32, 128, dtype=d),
         lambda: torch.nn.RNN(32, 128, batch_first=True), (32, 50, 32)),
        ("RNN relu 2 layers", lambda d: L.RNN(16, 24, nonlinearity="relu", num_layers=2, dtype=d),
         lambda: torch.nn.RNN(16, 24, nonlinearity="relu", num_layers=2, batch_first=True), (8, 12, 16)),
        ("LSTM 32->128, T=50 (lstm-seq)", lambda d: L.LSTM(32, 128, dtype=d),
         lambda: torch.nn.LSTM(32, 128, batch_first=True), (32, 50, 32)),
        ("LSTM 2 layers", lambda d: L.LSTM(16, 24, num_layers=2, dtype=d),
         lambda: torch.nn.LSTM(16, 24, num_layers=2, batch_first=True), (8, 12, 16)),
        ("GRU 32->128, T=50", lambda d: L.GRU(32, 128, dtype=d),
         lambda: torch.nn.GRU(32, 128, batch_first=True), (32, 50, 32)),
        ("GRU 2 layers", lambda d: L.GRU(16, 24, num_layers=2, dtype=d),
         lambda: torch.nn.GRU(16, 24, num_layers=2, batch_first=True), (8, 12, 16)),
    ]


def compare(make_nf, make_torch, shape, dtype, seed=0):
    """{quantity: (max |nnfast - torch|, max |torch|)} for one layer."""
    import torch

    torch.manual_seed(seed)
    tdtype = torch.float64 if dtype == np.float64 else torch.float32
    tl = make_torch().to(tdtype).train()
    layer = make_nf(dtype)
    layer.train()
    named = dict(tl.named_parameters())
    params = dict(layer.named_parameters()) if hasattr(layer, "named_parameters") else {}
    for name, p in params.items():
        p.value = named[name].detach().numpy().astype(dtype)
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 2 + 0.5).astype(dtype)
    xt = torch.tensor(x, requires_grad=True)
    yt = tl(xt)
    yt = yt[0] if isinstance(yt, tuple) else yt
    g = rng.standard_normal(yt.shape).astype(dtype)
    yt.backward(torch.tensor(g))
    y = layer.forward(x)
    gx = layer.backward(g)
    out = {"output": (y, yt.detach().numpy()), "grad_input": (gx, xt.grad.numpy())}
    for name, p in params.items():
        out["grad " + name] = (p.grad, named[name].grad.numpy())
    for name in ("running_mean", "running_var"):
        if hasattr(tl, name):
            out[name] = (getattr(layer, name), getattr(tl, name).numpy())
    return {k: (float(np.max(np.abs(np.asarray(a) - b))), float(np.max(np.abs(b))))
            for k, (a, b) in out.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        import torch
    except ImportError:
        print("torch is not installed: nothing to compare with")
        return 1
    import nnfast as nf
    print(f"nnfast {nf.__version__}, torch {torch.__version__}\n")
    print("| layer | dtype | output | grad_input | worst parameter gradient | running stats |")
    print("|---|---|---|---|---|---|")
    for label, make_nf, make_torch, shape in _cases():
        for dtype in (np.float32, np.float64):
            res = compare(make_nf, make_torch, shape, dtype, args.seed)
            grads = {k: v for k, v in res.items() if k.startswith("grad ")}
            worst = max(grads, key=lambda k: grads[k][0] / max(grads[k][1], 1e-300))
            stats = [v for k, v in res.items() if k.startswith("running")]

            def cell(v):
                return f"{v[0]:.1e} (of {v[1]:.2g})"
            print(f"| {label} | {np.dtype(dtype).name} | {cell(res['output'])} | "
                  f"{cell(res['grad_input'])} | {worst[5:]}: {cell(grads[worst])} | "
                  + (", ".join(cell(v) for v in stats) if stats else "–") + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
