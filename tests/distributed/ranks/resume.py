"""Load the checkpoint fail_mid_run.py left (rank 0's model and optimizer,
on every rank), check it is the last completed epoch's, and train on.

usage: resume.py OUT_DIR
"""
import json
import os
import sys

import numpy as np

import nnfast as nf
from nnfast import distributed as dist
from models import data

out_dir = sys.argv[1]
dist.init()
model, opt = nf.load(os.path.join(out_dir, "checkpoint.npz"), with_optimizer=True)
with open(os.path.join(out_dir, "checkpoint.json")) as f:
    saved = json.load(f)
weight_sum = float(sum(p.value.astype(np.float64).sum() for p in model.parameters()))
if weight_sum != saved["weight_sum"]:
    raise RuntimeError(f"checkpoint weights {weight_sum} are not those of epoch {saved['epoch']}")
if not opt.state[opt.params[0]]:
    raise RuntimeError("the optimizer's momentum was not restored")
X, y = data(256, np.float32)
loss = nf.losses.CrossEntropyLoss()
history = nf.fit(model, X, y, loss=loss, optimizer=opt, epochs=1, batch_size=16, rng=1,
                 progress=False, distributed=True)
if dist.rank() == 0:
    with open(os.path.join(out_dir, "resumed.json"), "w") as f:
        json.dump({"from_epoch": saved["epoch"], "loss": history.loss[-1],
                   "world_size": dist.world_size()}, f)
