"""2 ranks, one training step of an MLP with small buckets: record, at each
layer the backward pass finishes, how many buckets have been started; then
a step after two backward passes (accumulated gradients). Rank 0 writes
what it saw to OUT.json.

usage: overlap.py OUT.json
"""
import json
import sys

import numpy as np

import nnfast as nf
from nnfast import distributed as dist
from models import build, data

dist.init()
model = build("mlp", np.float32)
opt = dist.DistributedOptimizer(nf.optim.SGD(model.parameters(), lr=0.1), model=model,
                                bucket_bytes=16 * 1024)
events = []
hook = model.after_layer_backward


def recording(first_done):
    hook(first_done)
    events.append([first_done, opt._reducer._next])


model.after_layer_backward = recording
X, y = data(64, np.float32)
loss = nf.losses.CrossEntropyLoss()
opt.zero_grad()
loss.forward(model.forward(X[dist.rank()::2]), y[dist.rank()::2])
model.backward(loss.backward())
local = [p.grad.copy() for p in model.parameters()]
started_before_step = opt._reducer._next
first_step_events = list(events)
opt.step()
mean = [p.grad.copy() for p in model.parameters()]
everyone = dist.runtime.world().comm.gather(local, root=0)

# Two backward passes before one step: the mean of the accumulated gradients.
opt.zero_grad()
for half in (0, 1):
    rows = slice(2 * half + dist.rank(), None, 4)
    loss.forward(model.forward(X[rows]), y[rows])
    model.backward(loss.backward())
accumulated = [p.grad.copy() for p in model.parameters()]
opt.step()
accumulated_mean = [p.grad.copy() for p in model.parameters()]
everyone_accumulated = dist.runtime.world().comm.gather(accumulated, root=0)
if dist.rank() == 0:
    expected = [(a + b) / 2 for a, b in zip(*everyone)]
    expected_accumulated = [(a + b) / 2 for a, b in zip(*everyone_accumulated)]
    with open(sys.argv[1], "w") as f:
        json.dump({
            "buckets": [b.first_layer for b in opt.buckets],
            "bucket_bytes": [b.n_bytes for b in opt.buckets],
            "events": first_step_events,
            "started_before_step": started_before_step,
            "grad_is_mean": all(np.allclose(m, e, rtol=1e-6, atol=1e-8) for m, e in zip(mean, expected)),
            "grad_was_local": not all(np.array_equal(a, b) for a, b in zip(*everyone)),
            "accumulated_is_mean": all(np.allclose(m, e, rtol=1e-6, atol=1e-8)
                                       for m, e in zip(accumulated_mean, expected_accumulated)),
            "timings": opt.timings,
        }, f)
