"""Test accuracy of ``nnfast train --model lenet --epochs 2`` per learning rate,
seed and thread count: the measurement behind LeNet's default --lr
(nnfast/cli/lab.py DEFAULT_LR).

    python bench/lenet_default_lr.py --lrs 0.01,0.02,0.03,0.05 --seeds 0,1,2,3,4 --threads 1,2

Each run is what the command does with ``--lr LR --seed SEED --threads T``
(SGD momentum 0.9, batch 64, NLLLoss, the bundled sample, weights from SEED,
batch order from SEED + 1).
"""
import argparse

import numpy as np

import nnfast as nf
from nnfast.cli import lab


def run(lr, seed, epochs, X, y, Xt, yt):
    model = lab.build_lenet(1, 28, 28, 10, rng=np.random.default_rng(seed))
    opt = lab.build_optimizer("sgd", model.parameters(), lr)
    try:
        h = nf.fit(model, X, y, loss=nf.losses.NLLLoss(), optimizer=opt, epochs=epochs, batch_size=64,
                   validation_data=(Xt, yt), verbose=0, rng=np.random.default_rng(seed + 1))
    except FloatingPointError:
        return float("nan")
    return h.val_accuracy[-1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lrs", default="0.01,0.02,0.03,0.05,0.1")
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    (X, y), (Xt, yt) = nf.datasets.load_mnist()
    seeds = [int(s) for s in args.seeds.split(",")]
    print("| threads | lr | " + " | ".join(f"seed {s}" for s in seeds) + " | min |")
    print("|---|---|" + "---|" * (len(seeds) + 1))
    for threads in map(int, args.threads.split(",")):
        nf.set_num_threads(threads)
        for lr in map(float, args.lrs.split(",")):
            acc = [run(lr, s, args.epochs, X, y, Xt, yt) for s in seeds]
            print(f"| {threads} | {lr:g} | " + " | ".join(f"{a:.3f}" for a in acc)
                  + f" | {min(acc):.3f} |", flush=True)


if __name__ == "__main__":
    main()
