"""Run the training workloads side by side, one process per implementation.

The parent starts one worker process per implementation (``worker.py``),
sets every worker up on the same workload, batch size, thread count, data
and initial weights, then alternates them run by run (the order rotates each
repeat, so slow drifts of a shared machine hit every implementation alike)
and keeps the median of each implementation's runs.
"""
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

from nnfast.benchmarks import workloads as wl
from nnfast.benchmarks.worker import numpy_blas_controllers

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "worker.py")
# "deterministic" is "fast" with nf.set_deterministic(True): its column
# against "fast" is the cost of reproducible reductions. Not run by default.
IMPLEMENTATIONS = ("fast", "reference", "torch", "deterministic")
DEFAULT_IMPLEMENTATIONS = ("fast", "reference", "torch")
# Scaling and memory epochs: 6,400 samples (100 batches of 64).
EPOCH_SAMPLES = 6400
SCALING_BATCH_SIZES = (16, 64, 256)
# Seconds one timed run lasts when the step count is left to the runner:
# long enough to average over a shared machine's hiccups, short enough for
# five workloads x two thread counts x three implementations x five repeats
# to take a couple of minutes.
RUN_TIME = 0.4
# Pause before every timed run. An implementation's idle threads keep
# spinning for a while after its run (OpenBLAS's server threads for ~2^28
# cycles, OpenMP's for a spin count); on two cores they took a core from the
# next implementation's run. Measured: torch's lenet5 at 2 threads ran
# 19,264 samples/s alone and 3,344 right after the NumPy reference.
SETTLE_TIME = 0.3


class WorkerError(RuntimeError):
    """A worker failed to start or answered a request with an error."""


class Worker:
    """A worker process for one implementation, spoken to in JSON lines."""

    def __init__(self, impl):
        if impl not in IMPLEMENTATIONS:
            raise ValueError(f"implementation must be one of {IMPLEMENTATIONS}, got {impl!r}")
        self.impl = impl
        env = dict(os.environ)
        # The worker imports the same nnfast as this process (an in-place
        # build included), whatever the working directory.
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env["PYTHONPATH"] = os.pathsep.join([root] + [p for p in [env.get("PYTHONPATH")] if p])
        self._stderr = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(
            [sys.executable, WORKER, impl], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self._stderr, env=env, text=True, bufsize=1)

    def request(self, cmd, **fields):
        """Send one request, wait for its reply; WorkerError on failure."""
        try:
            self.proc.stdin.write(json.dumps({"cmd": cmd, **fields}) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        except (BrokenPipeError, OSError):
            line = ""
        if not line:
            raise WorkerError(f"{self.impl} worker exited (code {self.proc.poll()}): {self.stderr_tail()}")
        reply = json.loads(line)
        if not reply.get("ok"):
            raise WorkerError(f"{self.impl} worker, {cmd}: {reply.get('error')}\n{reply.get('traceback', '')}")
        return reply

    def stderr_tail(self, n=2000):
        self._stderr.flush()
        self._stderr.seek(0)
        return self._stderr.read()[-n:]

    def close(self):
        if self.proc.poll() is None:
            try:
                self.request("quit")
            except WorkerError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._stderr.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _log(progress, text):
    if progress:
        print(text, file=sys.stderr, flush=True)


def start_workers(impls, progress=True):
    """{impl: Worker} for the implementations that start, {impl: reason} for the rest.

    All processes start at once (their imports overlap), then each says hello.
    """
    started = [Worker(impl) for impl in impls]
    workers, unavailable = {}, {}
    for worker in started:
        try:
            info = worker.request("hello")
        except WorkerError as e:
            worker.close()
            text = str(e)
            unavailable[worker.impl] = ("not installed" if worker.impl == "torch"
                                        and "No module named 'torch'" in text
                                        else "failed: " + text.splitlines()[0][:200])
            _log(progress, f"  {worker.impl}: {unavailable[worker.impl]}")
            continue
        worker.info = info
        workers[worker.impl] = worker
    return workers, unavailable


def sgemm_peak_gflops(threads, n=1536, repeats=5):
    """This machine's float32 GEMM rate with NumPy's BLAS on ``threads`` threads.

    The roofline the GEMM-bound workloads are measured against: best of
    ``repeats`` n x n x n products, after one warm-up.
    """
    from threadpoolctl import ThreadpoolController

    # NumPy's own BLAS; where it is shared with SciPy, that one (restored below).
    libs = numpy_blas_controllers() or ThreadpoolController().select(user_api="blas").lib_controllers
    old = [lib.num_threads for lib in libs]
    try:
        for lib in libs:
            lib.set_num_threads(threads)
        rng = np.random.default_rng(0)
        a = rng.random((n, n), dtype=np.float32)
        b = rng.random((n, n), dtype=np.float32)
        c = np.empty((n, n), dtype=np.float32)
        np.matmul(a, b, out=c)
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            np.matmul(a, b, out=c)
            best = min(best, time.perf_counter() - start)
        return 2.0 * n ** 3 / best / 1e9
    finally:
        for lib, t in zip(libs, old):
            lib.set_num_threads(t)


def machine_info():
    """CPU model, core count, OS, Python and library versions."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info = {"cpu": cpu, "cores": os.cpu_count(), "os": f"{platform.system()} {platform.release()}",
            "python": platform.python_version(), "numpy": np.__version__,
            "date": time.strftime("%Y-%m-%d %H:%M")}
    if hasattr(os, "getloadavg"):  # other work on the machine skews 2-thread runs most
        info["load_average"] = [round(x, 2) for x in os.getloadavg()]
    try:
        import nnfast as nf

        info["nnfast"] = nf.__version__
        info["openmp"] = bool(nf.openmp_enabled())
    except ImportError:
        pass
    return info


def steps_for(step_s, run_time=RUN_TIME, min_steps=3, max_steps=1000):
    """Steps that make a run last about ``run_time`` seconds."""
    if not step_s or step_s <= 0:
        return min_steps
    return int(min(max_steps, max(min_steps, round(run_time / step_s))))


def _measure(workers, name, batch_size, threads, repeats, steps, warmup, seed, n_batches,
             progress=True):
    """Median samples/s of each worker on one (workload, batch size, threads).

    ``steps`` per run: an int, or None to size each implementation's runs to
    about RUN_TIME seconds from its warm-up steps (samples/s is a rate, so
    implementations need not run the same number of steps).

    An implementation whose setup or run fails (a layer it lacks, say) gets
    {"error": ...} for this row and the others go on.
    """
    setups, errors = {}, {}
    for impl, worker in workers.items():
        try:
            setups[impl] = worker.request("setup", workload=name, batch_size=batch_size,
                                          threads=threads, seed=seed, n_batches=n_batches,
                                          warmup=warmup)
        except WorkerError as e:
            errors[impl] = str(e).splitlines()[0]
            _log(progress, f"  {name}: {errors[impl]}")
    impls = [impl for impl in workers if impl in setups]
    n_steps = {impl: steps or steps_for(setups[impl]["step_s"]) for impl in impls}
    rates = {impl: [] for impl in impls}
    losses = {impl: None for impl in impls}
    for r in range(repeats if impls else 0):
        # Rotate the order each repeat: no implementation always runs first.
        for impl in impls[r % len(impls):] + impls[:r % len(impls)]:
            if impl in errors:
                continue
            time.sleep(SETTLE_TIME)
            try:
                reply = workers[impl].request("run", steps=n_steps[impl],
                                              max_seconds=None if steps else 4 * RUN_TIME)
            except WorkerError as e:
                errors[impl] = str(e).splitlines()[0]
                _log(progress, f"  {name}: {errors[impl]}")
                continue
            rates[impl].append(reply["steps"] * batch_size / reply["seconds"])
            losses[impl] = reply["loss"]
    out = {impl: {"error": err} for impl, err in errors.items()}
    for impl in impls:
        if impl not in errors:
            out[impl] = {"samples_per_s": rates[impl], "median": statistics.median(rates[impl]),
                         "steps": n_steps[impl],
                         "first_loss": setups[impl]["first_loss"], "last_loss": losses[impl]}
    return out


def run_training(workers, names, threads_list, repeats, steps, warmup=3, seed=0,
                 n_batches=8, peaks=None, progress=True):
    """Side-by-side training throughput of every workload at each thread count.

    Returns a list of rows: workload, threads, batch_size, steps, repeats,
    flops_per_step and, per implementation, the runs' samples/s, their
    median, GFLOP/s, the fraction of the sgemm peak and the first loss (the
    same for every implementation: a check that they start alike).
    """
    rows = []
    for name in names:
        batch_size = wl.WORKLOADS[name]["batch_size"]
        flops = wl.flops_per_step(name, batch_size)
        for threads in threads_list:
            start = time.perf_counter()
            results = _measure(workers, name, batch_size, threads, repeats, steps,
                               warmup, seed, n_batches, progress)
            for impl, res in results.items():
                if "median" not in res:
                    continue
                res["gflops"] = res["median"] / batch_size * flops / 1e9
                if peaks and threads in peaks:
                    res["fraction_of_peak"] = res["gflops"] / peaks[threads]
            rows.append({"workload": name, "threads": threads, "batch_size": batch_size,
                         "steps": steps, "repeats": repeats, "flops_per_step": flops,
                         "results": results})
            _log(progress, f"  {name:9s} {threads} thread(s): " + ", ".join(
                f"{impl} {res['median']:,.0f}/s" for impl, res in results.items() if "median" in res)
                + f"  ({time.perf_counter() - start:.1f} s)")
    return rows


def run_scaling(workers, names, threads_list, batch_sizes=SCALING_BATCH_SIZES, repeats=3,
                steps=None, warmup=3, seed=0, progress=True):
    """Time per epoch (EPOCH_SAMPLES samples) at each batch size and thread count.

    Each point is the median of ``repeats`` alternated runs (of ``steps``
    steps, or about RUN_TIME seconds when None), extrapolated to an epoch:
    EPOCH_SAMPLES / (median samples/s).
    """
    rows = []
    for name in names:
        for batch_size in batch_sizes:
            for threads in threads_list:
                results = _measure(workers, name, batch_size, threads, repeats, steps,
                                   warmup, seed, n_batches=4, progress=progress)
                for res in results.values():
                    if "median" in res:
                        res["epoch_s"] = EPOCH_SAMPLES / res["median"]
                rows.append({"workload": name, "batch_size": batch_size, "threads": threads,
                             "steps": steps, "epoch_samples": EPOCH_SAMPLES, "results": results})
                _log(progress, f"  scaling {name:9s} batch {batch_size:3d}, {threads} thread(s): "
                     + ", ".join(f"{impl} {res['epoch_s']:.2f} s/epoch" for impl, res in results.items()
                                if "epoch_s" in res))
    return rows


def run_memory(impls, threads, name="cnn32-64", n_samples=EPOCH_SAMPLES, seed=0, progress=True):
    """Peak RSS of one training epoch, each implementation in a fresh process."""
    rows = {}
    for impl in impls:
        with Worker(impl) as worker:
            try:
                reply = worker.request("memory", workload=name, n_samples=n_samples,
                                       batch_size=wl.WORKLOADS[name]["batch_size"],
                                       threads=threads, seed=seed)
            except WorkerError as e:
                _log(progress, f"  memory {impl}: {e}")
                continue
        rows[impl] = {k: reply[k] for k in ("baseline_mb", "peak_mb", "growth_mb", "epoch_s", "loss")}
        _log(progress, f"  memory {name} epoch of {n_samples}, {impl}: peak {reply['peak_mb']:.0f} MB "
             f"(+{reply['growth_mb']:.0f} MB over setup), {reply['epoch_s']:.1f} s")
    return {"workload": name, "n_samples": n_samples, "threads": threads, "results": rows}


def run_all(names, impls, threads_list, repeats, steps, warmup=3, seed=0, memory=True,
            scaling=False, peak_size=1536, progress=True):
    """The whole `nnfast bench` measurement: a JSON-friendly dict."""
    for name in names:
        wl.check_workload(name)
    _log(progress, "sgemm peak (NumPy):")
    peaks = {}
    for t in threads_list:
        peaks[t] = sgemm_peak_gflops(t, n=peak_size)
        _log(progress, f"  {t} thread(s): {peaks[t]:.1f} GFLOP/s")
    _log(progress, "starting workers:")
    workers, unavailable = start_workers(impls, progress)
    try:
        out = {"machine": machine_info(), "implementations": list(workers),
               "unavailable": unavailable,
               "worker_info": {impl: w.info for impl, w in workers.items()},
               "config": {"workloads": list(names), "threads": list(threads_list),
                          "repeats": repeats, "steps": steps, "run_time": RUN_TIME,
                          "settle_time": SETTLE_TIME, "warmup": warmup, "seed": seed},
               "sgemm_peak_gflops": {str(t): p for t, p in peaks.items()}}
        if not workers:
            raise WorkerError("no implementation could start: " + json.dumps(unavailable))
        _log(progress, "training throughput:")
        out["training"] = run_training(workers, names, threads_list, repeats, steps, warmup,
                                       seed, peaks=peaks, progress=progress)
        if scaling:
            _log(progress, "scaling:")
            out["scaling"] = run_scaling(workers, names, threads_list, steps=steps, warmup=warmup,
                                         seed=seed, progress=progress)
    finally:
        for w in workers.values():
            w.close()
    if memory:
        _log(progress, "memory:")
        mem_impls = [i for i in ("fast", "torch") if i in workers]
        out["memory"] = run_memory(mem_impls, max(threads_list), seed=seed, progress=progress)
    return out
