"""Does the DataLoader's background thread overlap data preparation with
training? Epoch time of one model with the same batches prepared inline
(prefetch=0) and ahead in the background (prefetch=2).

    python bench/dataloader_overlap.py --threads 1 --repeats 3

Three kinds of preparation: a transform that sleeps a known time per sample
(it holds no core, but each of the 64 wake-ups per batch needs the GIL and,
on a busy machine, a core), the same time slept once per batch, and real
augmentation (RandomFlip +
RandomAffine + GaussianNoise through scipy.ndimage, which takes a core and,
between its NumPy calls, the GIL). Perfect overlap would save the shorter
of "preparing alone" and "training alone"; the last column is the share of
that saved.
The model is LeNet-5 on the bundled MNIST sample, batch 64, 1 epoch.
"""
import argparse
import time

import numpy as np

import nnfast as nf
from nnfast.cli import lab
from nnfast.data import DataLoader, transforms


def sleeping(seconds, every=1):
    """Sleep ``every * seconds`` on every ``every``-th sample: the same total
    time per batch, in fewer (64 -> 1) wake-ups."""
    count = [0]

    def transform(x, y, rng):
        if count[0] % every == 0:
            time.sleep(seconds * every)
        count[0] += 1
        return x, y
    return transform


def augment():
    t = transforms.Compose([transforms.RandomFlip(axes=(1,)), transforms.RandomAffine(degrees=10, translate=0.05),
                            transforms.GaussianNoise(0.02)])
    return lambda x, y, rng: t(x, y, rng)


def epoch_seconds(X, y, transform, prefetch, n):
    model = lab.build_lenet(1, 28, 28, 10, rng=np.random.default_rng(0))
    opt = lab.build_optimizer("sgd", model.parameters(), 0.045)
    loader = DataLoader((X[:n], y[:n]), batch_size=64, shuffle=True, seed=0, transform=transform,
                        prefetch=prefetch)
    start = time.perf_counter()
    nf.fit(model, loader, loss=nf.losses.NLLLoss(), optimizer=opt, epochs=1, verbose=0)
    return time.perf_counter() - start


def prepare_seconds(X, y, transform, n):
    loader = DataLoader((X[:n], y[:n]), batch_size=64, shuffle=True, seed=0, transform=transform,
                        prefetch=0)
    start = time.perf_counter()
    for _ in loader:
        pass
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--samples", type=int, default=2048)
    parser.add_argument("--sleep-ms", type=float, default=0.2, help="per sample (default 0.2)")
    args = parser.parse_args()
    nf.set_num_threads(args.threads)
    (X, y), _ = nf.datasets.load_mnist()
    n = args.samples
    cases = [("none", None),
             (f"sleep {args.sleep_ms:g} ms per sample", sleeping(args.sleep_ms / 1000)),
             (f"sleep {64 * args.sleep_ms:g} ms per batch of 64", sleeping(args.sleep_ms / 1000, 64)),
             ("flip+affine+noise", augment())]
    train_only = min(epoch_seconds(X, y, None, 0, n) for _ in range(args.repeats))
    print(f"LeNet-5, {n} samples, batch 64, {args.threads} thread(s), best of {args.repeats}; "
          f"training alone (no transform): {train_only:.3f} s")
    print("| preparation | preparing alone (s) | prefetch=0 (s) | prefetch=2 (s) | saved (s) | of the most "
          "that can be saved |")
    print("|---|---|---|---|---|---|")
    for name, transform in cases[1:]:
        prep = min(prepare_seconds(X, y, transform, n) for _ in range(args.repeats))
        inline = min(epoch_seconds(X, y, transform, 0, n) for _ in range(args.repeats))
        ahead = min(epoch_seconds(X, y, transform, 2, n) for _ in range(args.repeats))
        # perfect overlap saves the shorter of preparing and training
        most = min(prep, train_only)
        print(f"| {name} | {prep:.3f} | {inline:.3f} | {ahead:.3f} | {inline - ahead:.3f} | "
              f"{100 * (inline - ahead) / most:.0f} % |", flush=True)


if __name__ == "__main__":
    main()
