"""Train 2 ranks for 5 epochs, rank 0 checkpointing after each epoch; rank 1
fails in epoch 3 (it raises, or it exits at once). Every rank must then exit
with an error, and the checkpoint of epoch 2 must be intact.

usage: fail_mid_run.py MODE OUT_DIR     (MODE: raise | exit)
"""
import json
import os
import sys

import numpy as np

import nnfast as nf
from nnfast import distributed as dist
from models import build, data

mode, out_dir = sys.argv[1], sys.argv[2]
dist.init()
BATCH, EPOCHS = 16, 5
X, y = data(256, np.float32)
steps_per_epoch = len(X) // (BATCH * dist.world_size())
fail_at = 2 * steps_per_epoch + 3          # the 4th step of epoch 3


class FailingLoss(nf.losses.CrossEntropyLoss):
    calls = 0

    def forward(self, pred, target):
        self.calls += 1
        if dist.rank() == 1 and self.calls == fail_at:
            if mode == "exit":
                os._exit(3)
            raise RuntimeError("injected failure on rank 1")
        return super().forward(pred, target)


model = build("mlp", np.float32)
opt = nf.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)


def checkpoint(history):
    """Runs on rank 0 only (fit's callback)."""
    epoch = history.epoch[-1]
    model.save(os.path.join(out_dir, "checkpoint.npz"), optimizer=opt)
    with open(os.path.join(out_dir, "checkpoint.json"), "w") as f:
        json.dump({"epoch": epoch, "rank": dist.rank(),
                   "weight_sum": float(sum(p.value.astype(np.float64).sum() for p in model.parameters()))}, f)


nf.fit(model, X, y, loss=FailingLoss(), optimizer=opt, epochs=EPOCHS, batch_size=BATCH,
       rng=0, progress=False, callback=checkpoint, distributed=True)
with open(os.path.join(out_dir, f"finished_rank{dist.rank()}"), "w") as f:
    f.write("the failure did not stop this rank\n")
