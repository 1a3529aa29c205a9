"""2 ranks calling fit with different data sizes: every rank must raise the
same ValueError (and exit with an error) instead of waiting for the other.

usage: mismatch.py
"""
import numpy as np

import nnfast as nf
from nnfast import distributed as dist
from models import build, data

dist.init()
X, y = data(128 + 16 * dist.rank(), np.float32)
model = build("mlp", np.float32)
try:
    nf.fit(model, X, y, loss=nf.losses.CrossEntropyLoss(),
           optimizer=nf.optim.SGD(model.parameters(), lr=0.1), progress=False, distributed=True)
except ValueError as e:
    print(f"rank {dist.rank()} refused: {e}", flush=True)
    dist.runtime.world().comm.Barrier()     # both have said so before the first abort
    raise
