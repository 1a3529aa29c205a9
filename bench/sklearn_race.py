"""nnfast.sklearn.MLPClassifier against sklearn.neural_network.MLPClassifier.

The same estimator parameters, the same data (the first 10,000 Fashion-MNIST
training images, flattened to 784 float32 features in [0, 1]; the 10,000
test images for accuracy), the same random_state, every epoch run (``tol=0``,
``n_iter_no_change`` above ``max_iter``), in two configurations:

- ``lab``: the MNIST lab's network, ``hidden_layer_sizes=(30,)``,
  ``solver="sgd"``, ``momentum=0.9``, ``batch_size=64``, 20 epochs: small
  batches, where scikit-learn's per-batch overhead dominates (target: nnfast
  >= 5x faster);
- ``defaults``: scikit-learn's defaults, ``(100,)``, Adam, ``batch_size=200``,
  20 epochs: where scikit-learn's NumPy BLAS does most of the work (target:
  >= 2x faster).

Each fit runs in a fresh process (no BLAS or OpenMP thread pool left over
from the other library), the two libraries alternating, ``--repeats`` times;
the table gives the median fit time (min-max), its CPU time (all threads:
on a shared machine the wall time grows with the others' load, the CPU time
much less), training samples/s and test accuracy, and the speed-up of the
median wall times. Only ``fit`` is timed.

    python bench/sklearn_race.py                        # 5 repeats, both configurations
    python bench/sklearn_race.py --repeats 3 --config lab --out bench/results/sklearn_race.md
    python bench/sklearn_race.py --threads 1            # both libraries on one thread

Without Fashion-MNIST (``apt-get install dataset-fashion-mnist`` puts it in
/usr/share/datasets/fashion-mnist; ``--data DIR`` for another copy) it falls
back to the MNIST sample bundled with nnfast (4,000 training and 1,000 test
digits) and says so.
"""
import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import time
import warnings

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FASHION = "/usr/share/datasets/fashion-mnist"
BUNDLED = os.path.join(ROOT, "nnfast", "datasets", "data", "mnist5k")
N_TRAIN = 10_000
EPOCHS = 20
CONFIGS = {
    "lab": {"hidden_layer_sizes": (30,), "solver": "sgd", "momentum": 0.9, "batch_size": 64},
    "defaults": {},
}
TARGETS = {"lab": 5.0, "defaults": 2.0}
IMPLEMENTATIONS = ("sklearn", "nnfast")


# -- data (read here, so that the scikit-learn process never imports nnfast) --
def read_idx(path):
    """An IDX file (the MNIST format), gzip or not, as a uint8 array."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def find(directory, base):
    for name in (base, base + ".gz", base.replace("-idx", ".idx", 1), base.replace("-idx", ".idx", 1) + ".gz"):
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            return path
    raise FileNotFoundError(f"no {base} in {directory}")


def load(directory):
    """(X_train, y_train, X_test, y_test): the first N_TRAIN training images."""
    names = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
    Xtr, ytr, Xte, yte = (read_idx(find(directory, n)) for n in names)
    def images(a):
        return (a.reshape(len(a), -1).astype(np.float32) / np.float32(255.0))
    return images(Xtr[:N_TRAIN]), ytr[:N_TRAIN].astype(np.int64), images(Xte), yte.astype(np.int64)


def data_directory(requested):
    if requested:
        return requested, requested
    if os.path.isdir(FASHION):
        return FASHION, "Fashion-MNIST (first 10,000 training images; 10,000 test images)"
    return BUNDLED, ("the bundled MNIST sample (4,000 training, 1,000 test digits): Fashion-MNIST "
                     f"is not installed at {FASHION}")


# -- the floor: what the fit's matrix products alone take -----------------------
def gemm_floor(X, config, seed, threads):
    """Seconds that the matrix products of every training step take alone, and
    with each step's batch gathered as the fits gather it (random rows).

    The same shapes as the fit (batch x features through the hidden layers to
    the 10 classes: the forward products, the weight gradients, the input
    gradients of all but the first layer), on NumPy's sgemm in float32, the
    same number of steps; no activation, loss or update. A fit cannot be
    faster than this on the same BLAS, so ``sklearn seconds / floor`` bounds
    the speed-up any implementation could show.
    """
    from threadpoolctl import threadpool_limits

    params = CONFIGS[config]
    sizes = [X.shape[1], *params.get("hidden_layer_sizes", (100,)), 10]
    batch = params.get("batch_size", 200)
    rng = np.random.default_rng(seed)
    weights = [rng.standard_normal((a, b)).astype(np.float32) for a, b in zip(sizes, sizes[1:])]
    n = X.shape[0]
    out = {}
    with threadpool_limits(threads) if threads else warnings.catch_warnings():
        for gather in (False, True):
            start, cpu = time.perf_counter(), time.process_time()
            for _ in range(EPOCHS):
                order = rng.permutation(n)
                for lo in range(0, n, batch):
                    x = X[order[lo:lo + batch]] if gather else X[lo:lo + batch]
                    acts = [x]
                    for w in weights:
                        acts.append(acts[-1] @ w)
                    grad = acts[-1]
                    for k in reversed(range(len(weights))):
                        acts[k].T @ grad                      # weight gradient
                        if k:
                            grad = grad @ weights[k].T        # input gradient
            key = "gather" if gather else "gemm"
            out[key] = time.perf_counter() - start
            out[key + "_cpu"] = time.process_time() - cpu
    return out


# -- one fit, in its own process ------------------------------------------------
def worker(impl, config, seed, directory, threads):
    X, y, Xt, yt = load(directory)
    if impl == "floor":
        floor = gemm_floor(X, config, seed, threads)
        print(json.dumps({"impl": impl, "config": config, "seed": seed, **floor}))
        return
    params = dict(CONFIGS[config], max_iter=EPOCHS, tol=0.0, n_iter_no_change=EPOCHS + 1,
                  random_state=seed)
    if impl == "sklearn":
        from sklearn.neural_network import MLPClassifier
        from threadpoolctl import threadpool_limits
        limits = threadpool_limits(threads) if threads else None
    else:
        sys.path.insert(0, ROOT)
        from nnfast.sklearn import MLPClassifier
        params["n_jobs"] = threads
        limits = None
    clf = MLPClassifier(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: every epoch is run on purpose
        start, cpu = time.perf_counter(), time.process_time()
        clf.fit(X, y)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    if limits is not None:
        limits.restore_original_limits()
    print(json.dumps({"impl": impl, "config": config, "seed": seed, "seconds": seconds, "cpu": cpu,
                      "n_iter": clf.n_iter_, "samples_per_second": X.shape[0] * clf.n_iter_ / seconds,
                      "accuracy": float(clf.score(Xt, yt)), "loss": float(clf.loss_)}))


def run_one(impl, config, seed, directory, threads):
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", impl, config, str(seed),
           "--data", directory]
    if threads:
        cmd += ["--threads", str(threads)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT).stdout
    return json.loads(out.strip().splitlines()[-1])


# -- the race -------------------------------------------------------------------
def floor_lines(results, configs):
    """The floor per config (median seconds) and the speed-up it leaves room for."""
    lines = ["", "Floor: the fit's matrix products alone (NumPy sgemm, float32, the same shapes "
             "and steps; see `gemm_floor`), and with each batch gathered from random rows as "
             "the fits do. A fit is not faster than that on the same BLAS:", "",
             "| config | products (s) | products + gathers (s) | sklearn (s) | largest speed-up "
             "the floor allows | the same in CPU seconds | target |", "|---|---|---|---|---|---|---|"]
    for config in configs:
        floors = [r for r in results if r["impl"] == "floor" and r["config"] == config]
        sk = [r["seconds"] for r in results if r["impl"] == "sklearn" and r["config"] == config]
        if not floors or not sk:
            continue
        gemm = statistics.median(r["gemm"] for r in floors)
        gather = statistics.median(r["gather"] for r in floors)
        gather_cpu = statistics.median(r["gather_cpu"] for r in floors)
        sk_cpu = statistics.median(r["cpu"] for r in results
                                   if r["impl"] == "sklearn" and r["config"] == config)
        sk = statistics.median(sk)
        lines.append(f"| {config} | {gemm:.3f} | {gather:.3f} | {sk:.3f} | {sk / gather:.2f}x "
                     f"(products alone: {sk / gemm:.2f}x) | {sk_cpu / gather_cpu:.2f}x | "
                     f">= {TARGETS[config]:.0f}x |")
    return lines


def table(results, configs, data_note, threads, load_before, load_after):
    lines = [f"Data: {data_note}. {EPOCHS} epochs, every one run (tol=0). Threads: "
             f"{threads or 'each library default'}. Load average before / after: "
             f"{load_before} / {load_after}.", "",
             "| config | library | fit seconds, median (min-max) | CPU seconds | samples/s | test accuracy "
             "| speed-up | target |",
             "|---|---|---|---|---|---|---|---|"]
    for config in configs:
        medians = {}
        for impl in IMPLEMENTATIONS:
            runs = [r for r in results if r["impl"] == impl and r["config"] == config]
            secs = [r["seconds"] for r in runs]
            medians[impl] = statistics.median(secs)
            medians[impl + "_acc"] = statistics.median(r["accuracy"] for r in runs)
            medians[impl + "_sps"] = statistics.median(r["samples_per_second"] for r in runs)
            medians[impl + "_spread"] = (min(secs), max(secs))
            medians[impl + "_cpu"] = statistics.median(r["cpu"] for r in runs)
        speedup = medians["sklearn"] / medians["nnfast"]
        gap = 100 * (medians["nnfast_acc"] - medians["sklearn_acc"])
        for impl in IMPLEMENTATIONS:
            lo, hi = medians[impl + "_spread"]
            extra = (f"{speedup:.2f}x", f">= {TARGETS[config]:.0f}x, accuracy within 1 point "
                     f"({gap:+.2f} points)") if impl == "nnfast" else ("", "")
            lines.append(f"| {config} | {impl} | {medians[impl]:.3f} ({lo:.3f}-{hi:.3f}) | "
                         f"{medians[impl + '_cpu']:.3f} | {medians[impl + '_sps']:,.0f} | {medians[impl + '_acc']:.4f} | {extra[0]} | {extra[1]} |")
    lines += floor_lines(results, configs)
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--config", choices=sorted(CONFIGS) + ["both"], default="both")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for both libraries (default: each one's default)")
    parser.add_argument("--data", default=None, help="a directory with the four MNIST-format files")
    parser.add_argument("--out", default=None, help="also write the table to this Markdown file")
    parser.add_argument("--floor", action="store_true",
                        help="also time the fit's matrix products alone (the floor of any fit)")
    parser.add_argument("--worker", nargs=3, metavar=("IMPL", "CONFIG", "SEED"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        impl, config, seed = args.worker
        worker(impl, config, int(seed), args.data, args.threads)
        return
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")
    directory, note = data_directory(args.data)
    configs = sorted(CONFIGS) if args.config == "both" else [args.config]
    load_before = " ".join(f"{x:.1f}" for x in os.getloadavg())
    results = []
    for repeat in range(args.repeats):
        for config in configs:
            order = IMPLEMENTATIONS if repeat % 2 == 0 else IMPLEMENTATIONS[::-1]
            for impl in order:
                r = run_one(impl, config, repeat, directory, args.threads)
                print(f"repeat {repeat + 1}/{args.repeats} {config:8s} {impl:7s} {r['seconds']:7.3f} s  "
                      f"accuracy {r['accuracy']:.4f}", flush=True)
                results.append(r)
            if args.floor:
                r = run_one("floor", config, repeat, directory, args.threads)
                print(f"repeat {repeat + 1}/{args.repeats} {config:8s} floor   {r['gemm']:7.3f} s  "
                      f"with gathers {r['gather']:.3f} s", flush=True)
                results.append(r)
    load_after = " ".join(f"{x:.1f}" for x in os.getloadavg())
    text = table(results, configs, note, args.threads, load_before, load_after)
    print()
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write("# nnfast.sklearn.MLPClassifier vs sklearn.neural_network.MLPClassifier\n\n")
            f.write(f"`python bench/sklearn_race.py {' '.join(argv if argv is not None else sys.argv[1:])}`\n\n")
            f.write(text + "\n")


if __name__ == "__main__":
    main()
