"""fit(distributed=True) with a ModelCheckpoint: only rank 0 writes, and a
fit resumed from its checkpoint continues as if it had never stopped.

Three runs on every rank, each from fresh objects: 4 epochs straight; 2
epochs with ModelCheckpoint(OUT_DIR/ckpt-{epoch}.npz), every file it writes
recorded with the rank that wrote it; then 4 epochs resumed from the epoch-2
file (a model initialised differently, a new optimizer and generator: all
of it must come from the checkpoint, read by every rank). Validation data,
an EarlyStopping (it must not stop: a control-flow callback on every rank)
and a CSVLogger (rank 0 only) ride along.

usage: checkpoint_resume.py OUT_DIR     (writes OUT_DIR/result_rank<r>.json)
"""
import json
import os
import sys

import numpy as np

import nnfast as nf
from nnfast import distributed as dist
from nnfast.distributed import runtime
from models import build, data, weights

out_dir = sys.argv[1]
dist.init()
rank = dist.rank()
X, y = data(320, np.float32)
Xv, yv = X[256:], y[256:]
X, y = X[:256], y[:256]


class RecordingCheckpoint(nf.callbacks.ModelCheckpoint):
    """A ModelCheckpoint that also notes which rank wrote each file."""

    def on_checkpoint(self, epoch, logs=None):
        super().on_checkpoint(epoch, logs)
        with open(os.path.join(out_dir, f"written_by_rank{dist.rank()}.txt"), "a") as f:
            f.write(f"{self.last_path}\n")


def run(epochs, seed, callbacks=(), resume_from=None):
    model = build("mlp", np.float32, seed=seed)
    opt = nf.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    history = nf.fit(model, X, y, loss=nf.losses.CrossEntropyLoss(), optimizer=opt, epochs=epochs,
                     batch_size=16, rng=np.random.default_rng(7 if resume_from is None else 99),
                     validation_data=(Xv, yv), progress=False,
                     callbacks=[nf.callbacks.EarlyStopping(patience=10)] + list(callbacks),
                     resume_from=resume_from, distributed=True)
    return model, history


straight, straight_history = run(4, seed=0)
run(2, seed=0, callbacks=[RecordingCheckpoint(os.path.join(out_dir, "ckpt-{epoch}.npz")),
                          nf.callbacks.CSVLogger(os.path.join(out_dir, "log.csv"))])
runtime.world().comm.Barrier()     # rank 0's checkpoint is on disk before the others read it
resumed, resumed_history = run(4, seed=5, resume_from=os.path.join(out_dir, "ckpt-2.npz"))

scale = max(float(np.abs(w).max()) for w in weights(straight))
diff = max(float(np.abs(a.astype(np.float64) - b).max())
           for a, b in zip(weights(straight), weights(resumed)))
mine = np.concatenate([w.ravel() for w in weights(resumed)])
everyone = runtime.world().comm.allgather(mine)
with open(os.path.join(out_dir, f"result_rank{rank}.json"), "w") as f:
    json.dump({"world_size": dist.world_size(), "scale": scale, "max_abs_diff": diff,
               "ranks_identical": all(np.array_equal(everyone[0], w) for w in everyone[1:]),
               "epochs": [len(straight_history), len(resumed_history)],
               "val_loss": [straight_history.val_loss, resumed_history.val_loss]}, f)
