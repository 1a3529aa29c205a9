"""Data-parallel training over MPI: 1 and 2 ranks of 1 thread, against 1 process of 2 threads.

    python bench/distributed.py [--workloads mlp-wide,lenet5,cnn32-64] [--rounds 3]
                                [--bucket-bytes 1048576] [--yield-when-idle]
                                [--out bench/results/distributed.md]

For each workload of nnfast/benchmarks/workloads.py, three configurations,
each in fresh processes, alternated round by round:

- 1 rank x 1 thread: ``mpiexec -n 1``, the workload's batch size B;
- 2 ranks x 1 thread: ``mpiexec -n 2``, B per rank (a step trains on 2B samples);
- 1 process x 2 threads: plain ``python``, batch 2B (the same steps as 2 ranks).

Each run is ``nf.fit(..., distributed=True)`` over an epoch-sized random data
set streamed as fit does (a warm-up epoch of 10 steps first, not timed), with
the workload's SGD. Reported: training samples/s over all ranks (median of
the rounds, with the range), scaling efficiency (2-rank samples/s over twice
the 1-rank samples/s), and the fraction of the epoch each rank spent in
``DistributedOptimizer`` blocked waiting for reductions (and in all
communication work: packing, starting, waiting, unpacking), the mean over
ranks. Ranks are not bound to cores (``--bind-to none``): on a shared machine
a rank pinned to a busy core cannot move. ``--yield-when-idle`` makes a rank
waiting in MPI yield its core instead of spinning (Open MPI's
``mpi_yield_when_idle``, on by default only when oversubscribed).

A worker is this script with ``--worker``; it prints one JSON line.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

WORKLOADS = ("mlp-wide", "lenet5", "cnn32-64")
# Timed steps per run: about a second of training at 1 thread here
# (bench/results/bench.md: mlp-wide ~3 ms, lenet5 ~3 ms, cnn32-64 ~20 ms a step).
STEPS = {"mlp-wide": 300, "lenet5": 300, "cnn32-64": 50}
WARMUP_STEPS = 10
CONFIGS = (("1 rank x 1 thread", 1, 1), ("2 ranks x 1 thread", 2, 1), ("1 process x 2 threads", 1, 2))


# -- the worker: one measured fit on this rank ------------------------------
def worker(name, threads, batch_size, steps, bucket_bytes):
    import nnfast as nf
    from nnfast import distributed as dist
    from nnfast.benchmarks import workloads as W
    from nnfast.distributed.collectives import allreduce_sum

    dist.init()
    nf.set_num_threads(threads)
    p = dist.world_size()
    global_batch = p * batch_size
    X, y = W.make_data(steps * global_batch)
    model, loss, opt, _ = W.build_nnfast(name, W.init_weights(name))
    opt = dist.DistributedOptimizer(opt, bucket_bytes=bucket_bytes)
    n_warm = WARMUP_STEPS * global_batch
    nf.fit(model, X[:n_warm], y[:n_warm], loss=loss, optimizer=opt, epochs=1,
           batch_size=batch_size, rng=0, progress=False, distributed=True)
    opt.reset_timings()
    history = nf.fit(model, X, y, loss=loss, optimizer=opt, epochs=1, batch_size=batch_size,
                     rng=1, progress=False, distributed=True)
    seconds = history.seconds[0]
    t = opt.timings
    total = allreduce_sum([seconds, t["wait_seconds"], t["comm_seconds"]])
    if dist.rank() == 0:
        print(json.dumps({
            "workload": name, "ranks": p, "threads": threads, "batch_per_rank": batch_size,
            "steps": t["steps"], "samples": int(X.shape[0]),
            # rank 0's epoch: the ranks meet at every step's reductions
            "samples_per_second": X.shape[0] / seconds,
            "wait_fraction": float(total[1] / total[0]),
            "comm_fraction": float(total[2] / total[0]),
            "buckets": [b.n_bytes for b in opt.buckets] if p > 1 else [],
            "loss": history.loss[0],
        }), flush=True)


# -- the driver ------------------------------------------------------------
def _mpiexec():
    beside = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    if os.path.isfile(beside):
        return beside
    from shutil import which
    return which("mpiexec")


def _run(name, ranks, threads, batch_size, steps, bucket_bytes, yield_when_idle=False):
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", name, "--threads", str(threads),
           "--batch-size", str(batch_size), "--steps", str(steps), "--bucket-bytes", str(bucket_bytes)]
    if ranks > 1 or threads == 1:
        mpiexec = _mpiexec()
        if mpiexec is None:
            raise SystemExit("mpiexec not found: pip install 'nnfast[mpi]'")
        flags = ["--bind-to", "none", "--oversubscribe"]
        if yield_when_idle:
            flags += ["--mca", "mpi_yield_when_idle", "1"]
        if os.geteuid() == 0:
            flags.append("--allow-run-as-root")
        cmd = [mpiexec, "-n", str(ranks), *flags, *cmd]
    env = dict(os.environ, OMP_NUM_THREADS=str(threads),
               PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=900)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode != 0 or not lines:
        raise SystemExit(f"{' '.join(cmd)} failed ({out.returncode}):\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    return json.loads(lines[-1])


def _cell(values, fmt):
    med = statistics.median(values)
    if len(values) == 1:
        return fmt.format(med)
    return f"{fmt.format(med)} ({fmt.format(min(values))}–{fmt.format(max(values))})"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=None, help="timed steps per run (default: per workload)")
    parser.add_argument("--bucket-bytes", type=int, default=None)
    parser.add_argument("--yield-when-idle", action="store_true",
                        help="ranks waiting in MPI yield their core instead of spinning")
    parser.add_argument("--out", default=None, help="also write the Markdown report here")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--batch-size", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()

    from nnfast.benchmarks.workloads import WORKLOADS as SPECS, check_workload
    from nnfast.distributed.buckets import DEFAULT_BUCKET_BYTES
    bucket_bytes = DEFAULT_BUCKET_BYTES if args.bucket_bytes is None else args.bucket_bytes
    if args.worker is not None:
        worker(check_workload(args.worker), args.threads, args.batch_size, args.steps, bucket_bytes)
        return

    names = [check_workload(n) for n in args.workloads.split(",")]
    load_before = os.getloadavg()
    results = {(n, c[0]): [] for n in names for c in CONFIGS}
    for r in range(args.rounds):
        for name in names:
            batch = SPECS[name]["batch_size"]
            steps = args.steps or STEPS[name]
            for label, ranks, threads in CONFIGS:
                per_rank = batch * 2 if threads == 2 else batch
                res = _run(name, ranks, threads, per_rank, steps, bucket_bytes, args.yield_when_idle)
                results[(name, label)].append(res)
                print(f"round {r + 1}: {name:9} {label:22} {res['samples_per_second']:9,.0f} samples/s  "
                      f"wait {res['wait_fraction']:.1%}", file=sys.stderr, flush=True)
    load_after = os.getloadavg()

    lines = [
        "# Data-parallel training over MPI on this machine",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M')} on {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, shared with other users' jobs: load average (1, 5, 15 min) "
        f"{', '.join(f'{v:.2f}' for v in load_before)} at the start, "
        f"{', '.join(f'{v:.2f}' for v in load_after)} at the end, so the figures are noisy.",
        "",
        f"Reproduce: `python bench/distributed.py --workloads {','.join(names)} --rounds {args.rounds}"
        + (f" --steps {args.steps}" if args.steps is not None else "")
        + (f" --bucket-bytes {bucket_bytes}" if args.bucket_bytes is not None else "")
        + (" --yield-when-idle" if args.yield_when_idle else "") + "`",
        "",
        f"`nf.fit(..., distributed=True)`, float32, SGD (lr 0.003, momentum 0.9), buckets of "
        f"{bucket_bytes:,} bytes; Open MPI {_ompi_version()} over shared memory, ranks not bound "
        f"to cores{', waiting ranks yield their core' if args.yield_when_idle else ''}. Median of the rounds (range in brackets), each configuration in fresh processes, "
        "alternated round by round. Samples/s: over all ranks. Wait: the fraction of the epoch a rank "
        "spent blocked waiting for its reductions in `step`; comm: all communication work "
        "(packing, starting, testing, waiting, unpacking), mean over ranks.",
        "",
        "| workload | configuration | batch per rank | samples/s | scaling efficiency | wait | comm | buckets (bytes) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in names:
        one = statistics.median(r["samples_per_second"] for r in results[(name, CONFIGS[0][0])])
        for label, ranks, threads in CONFIGS:
            rs = results[(name, label)]
            sps = [r["samples_per_second"] for r in rs]
            eff = ""
            if ranks == 2 or threads == 2:
                eff = _cell([s / (2 * one) for s in sps], "{:.0%}")
            wait = _cell([r["wait_fraction"] for r in rs], "{:.1%}") if ranks > 1 else "–"
            comm = _cell([r["comm_fraction"] for r in rs], "{:.1%}") if ranks > 1 else "–"
            buckets = ", ".join(f"{b:,}" for b in rs[0]["buckets"]) or "–"
            lines.append(f"| {name} | {label} | {rs[0]['batch_per_rank']} | {_cell(sps, '{:,.0f}')} | "
                         f"{eff} | {wait} | {comm} | {buckets} |")
    lines += ["", "Scaling efficiency: samples/s over twice the 1-rank x 1-thread figure (1 process x "
              "2 threads: the same ratio for threads instead of ranks)."]
    report = "\n".join(lines) + "\n"
    print(report)
    if args.out:
        with open(args.out, "w") as f:
            f.write(report)


def _ompi_version():
    try:
        out = subprocess.run([_mpiexec(), "--version"], capture_output=True, text=True, timeout=60).stdout
        return out.split("\n")[0].split(")")[-1].strip()
    except (OSError, TypeError, subprocess.TimeoutExpired):
        return "?"


if __name__ == "__main__":
    main()
