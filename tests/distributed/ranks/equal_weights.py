"""On every rank: train with 2 ranks x batch 32 three ways (fit with
distributed=True, fit with a DistributedOptimizer of tiny buckets, and a loop
of one's own with allreduce_gradients and Adam); on rank 0 also train the
same model in this process alone with batch 64. Rank 0 writes, per variant,
the largest difference from the single-process weights and whether every
rank holds bit-identical weights.

usage: equal_weights.py KIND DTYPE OUT.json    (KIND: mlp | lenet; DTYPE: float32 | float64)
"""
import json
import sys

import numpy as np

import nnfast as nf
from nnfast import distributed as dist
from models import build, data, weights

kind, dtype, out_path = sys.argv[1], np.dtype(sys.argv[2]).type, sys.argv[3]
dist.init()
comm = dist.runtime.world().comm
P = dist.world_size()
LOCAL, STEPS, SEED = 32, 20, 7
N = LOCAL * P * STEPS                      # one epoch of 20 steps
X, y = data(N + 33, dtype)                 # 33 more for an epoch with a partial last batch
Xv, yv = data(600, dtype)
Xv, yv = Xv[-300:], yv[-300:]
loss = nf.losses.CrossEntropyLoss()


def sgd(model):
    return nf.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)


def adam(model):
    return nf.optim.Adam(model.parameters(), lr=1e-3)


def own_loop(model, opt, batch_size, n, distributed):
    """20 steps of one's own loop: shuffled, the same order on every rank."""
    order = np.random.default_rng(SEED).permutation(n)
    if distributed:
        dist.broadcast_parameters(model)
        batches = dist.shard_indices(order, batch_size)
    else:
        batches = [order[i:i + batch_size] for i in range(0, n, batch_size)]
    model.layers[0].requires_input_grad = False
    for idx in batches:
        opt.zero_grad()
        loss.forward(model.forward(X[idx]), y[idx])
        model.backward(loss.backward())
        if distributed:
            dist.allreduce_gradients(model)
        opt.step()
    model.layers[0].requires_input_grad = True
    return model


def fit(model, opt, batch_size, n, distributed, **kw):
    h = nf.fit(model, X[:n], y[:n], loss=loss, optimizer=opt, epochs=1, batch_size=batch_size,
               rng=SEED, progress=False, distributed=distributed, **kw)
    return model, h


variants = {}
m = build(kind, dtype)
m, h = fit(m, sgd(m), LOCAL, N, True, validation_data=(Xv, yv))
variants["fit"] = (weights(m), h)
m = build(kind, dtype)
m, _ = fit(m, dist.DistributedOptimizer(sgd(m), bucket_bytes=2048), LOCAL, N, True)
variants["fit_small_buckets"] = (weights(m), None)
m = build(kind, dtype)
variants["own_loop_adam"] = (weights(own_loop(m, adam(m), LOCAL, N, True)), None)
m = build(kind, dtype)
m, _ = fit(m, sgd(m), LOCAL, N + 33, True)
variants["fit_partial_last_batch"] = (weights(m), None)

result = {"world_size": P, "steps": STEPS}
if dist.rank() == 0:
    initial = weights(build(kind, dtype))
    m = build(kind, dtype)
    m, h1 = fit(m, sgd(m), LOCAL * P, N, False, validation_data=(Xv, yv))
    reference = {"fit": (weights(m), h1), "fit_small_buckets": (weights(m), None)}
    m = build(kind, dtype)
    reference["own_loop_adam"] = (weights(own_loop(m, adam(m), LOCAL * P, N, False)), None)
    m = build(kind, dtype)
    reference["fit_partial_last_batch"] = (weights(fit(m, sgd(m), LOCAL * P, N + 33, False)[0]), None)
for name, (w, h) in variants.items():
    everyone = comm.gather(w, root=0)
    if dist.rank() != 0:
        continue
    ref, ref_h = reference[name]
    r = {
        "ranks_identical": all(all(np.array_equal(a, b) for a, b in zip(everyone[0], other))
                               for other in everyone[1:]),
        "max_abs_diff": max(float(np.max(np.abs(a - b))) for a, b in zip(w, ref)),
        "max_rel_diff": max(float(np.max(np.abs(a - b)) / np.max(np.abs(b))) for a, b in zip(w, ref)),
        "moved": min(float(np.max(np.abs(a - b))) for a, b in zip(ref, initial)),
        "scale": max(float(np.max(np.abs(b))) for b in ref),
    }
    if h is not None:
        r["history"] = {k: [h[k][0], ref_h[k][0]] for k in ("loss", "accuracy", "val_loss", "val_accuracy")}
    result[name] = r
if dist.rank() == 0:
    with open(out_path, "w") as f:
        json.dump(result, f, indent=1)
