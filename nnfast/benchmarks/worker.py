"""One implementation's training loop, in a process of its own.

Run as ``python worker.py IMPL`` (IMPL: fast, reference, torch or deterministic) by
``runner.Worker``. It reads one JSON request per line on stdin and writes one
JSON reply per line on stdout:

``{"cmd": "hello"}``
    versions, thread settings, pid.
``{"cmd": "setup", "workload", "batch_size", "threads", "seed", "n_batches", "warmup"}``
    builds the model from the shared weights and data, sets the threads
    (once per setup, never per step), runs ``warmup`` steps.
``{"cmd": "run", "steps"}``
    times ``steps`` training steps: ``{"seconds", "loss"}``.
``{"cmd": "memory", "workload", "batch_size", "threads", "n_samples", "seed"}``
    peak RSS of one epoch (send it to a fresh process).
``{"cmd": "quit"}``

Each implementation runs in its own process so that PyTorch's OpenMP runtime
and nnfast's never share one, and so that one's spinning threads cannot slow
the other. The PyTorch worker never imports nnfast: it loads ``workloads.py``
by file path.
"""
import importlib.util
import json
import os
import platform
import resource
import sys
import time
import traceback

# As runner.IMPLEMENTATIONS (this file is run without importing nnfast
# for the torch worker, so the tuple is repeated here).
IMPLEMENTATIONS = ("fast", "reference", "torch", "deterministic")


def _load_workloads():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "workloads.py")
    spec = importlib.util.spec_from_file_location("_nnfast_bench_workloads", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


workloads = _load_workloads()


def numpy_blas_controllers():
    """threadpoolctl controllers of NumPy's own BLAS (not the one nnfast calls)."""
    import numpy as np
    from threadpoolctl import ThreadpoolController

    numpy_dir = os.path.dirname(os.path.dirname(os.path.abspath(np.__file__)))
    numpy_own = (os.path.join(numpy_dir, "numpy.libs"), os.path.join(numpy_dir, "numpy") + os.sep)
    blas = ThreadpoolController().select(user_api="blas")
    return [lib for lib in blas.lib_controllers
            if os.path.abspath(lib.filepath).startswith(numpy_own)]


def peak_rss_mb():
    """Peak resident set size of this process so far, in MB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return peak / (1024.0 * 1024.0) if sys.platform == "darwin" else peak / 1024.0


class NnfastTrainer:
    """nnfast on its compiled kernels ("fast") or on the NumPy twins ("reference")."""

    def __init__(self, backend, deterministic=False):
        import nnfast as nf

        self.nf = nf
        self.backend = backend
        nf.set_backend(backend)
        nf.set_deterministic(deterministic)

    def info(self):
        import numpy as np

        return {"nnfast": self.nf.__version__, "numpy": np.__version__,
                "openmp": bool(self.nf.openmp_enabled()), "backend": self.nf.get_backend(),
                "deterministic": self.nf.get_deterministic()}

    def set_threads(self, n):
        # nnfast's OpenMP threads; NumPy's BLAS (which the reference kernels
        # use) gets the same count. Set here, once per setup: threadpoolctl
        # costs ~0.7 ms a call.
        self.nf.set_num_threads(n)
        for lib in numpy_blas_controllers():
            lib.set_num_threads(n)

    def build(self, name, weights, X, y, batch_size):
        self.model, self.loss, self.opt, self.backward = workloads.build_nnfast(name, weights)
        self.batches = [(X[i:i + batch_size].copy(), y[i:i + batch_size].copy())
                        for i in range(0, len(X) - batch_size + 1, batch_size)]

    def step(self, i):
        x, y = self.batches[i % len(self.batches)]
        value = self.loss.forward(self.model.forward(x), y)
        self.backward(self.loss.backward())
        self.opt.step()
        self.opt.zero_grad()
        return value

    def loss_value(self, value):
        return float(value)


class TorchTrainer:
    """The same network in torch.nn, torch.optim.SGD and CrossEntropyLoss."""

    def __init__(self):
        import torch

        self.torch = torch

    def info(self):
        import numpy as np

        return {"torch": self.torch.__version__, "numpy": np.__version__,
                "parallel": self.torch.__config__.parallel_info().splitlines()[:6]}

    def set_threads(self, n):
        self.torch.set_num_threads(n)

    def build(self, name, weights, X, y, batch_size):
        torch = self.torch
        self.model, self.loss, self.opt = workloads.build_torch(name, weights)
        self.batches = [(torch.from_numpy(X[i:i + batch_size].copy()),
                         torch.from_numpy(y[i:i + batch_size].copy()))
                        for i in range(0, len(X) - batch_size + 1, batch_size)]

    def step(self, i):
        x, y = self.batches[i % len(self.batches)]
        value = self.loss(self.model(x), y)
        value.backward()
        self.opt.step()
        self.opt.zero_grad()
        return value

    def loss_value(self, value):
        return float(value.item())


def make_trainer(impl):
    if impl == "torch":
        return TorchTrainer()
    if impl in ("fast", "reference"):
        return NnfastTrainer(impl)
    if impl == "deterministic":
        return NnfastTrainer("fast", deterministic=True)
    raise ValueError(f"implementation must be one of {IMPLEMENTATIONS}, got {impl!r}")


class Session:
    """The state of one worker process: its trainer and the current workload."""

    def __init__(self, impl):
        self.impl = impl
        self.trainer = make_trainer(impl)
        self.step_index = 0

    def hello(self, msg):
        return {"impl": self.impl, "pid": os.getpid(), "python": platform.python_version(),
                **self.trainer.info()}

    def _build(self, msg, n_samples):
        name = workloads.check_workload(msg["workload"])
        seed = int(msg.get("seed", 0))
        self.trainer.set_threads(int(msg["threads"]))
        X, y = workloads.make_data(n_samples, seed, name)
        self.trainer.build(name, workloads.init_weights(name, seed), X, y, int(msg["batch_size"]))
        self.step_index = 0

    def setup(self, msg):
        start = time.perf_counter()
        batch_size = int(msg["batch_size"])
        self._build(msg, batch_size * int(msg.get("n_batches", 8)))
        # At least one step: its loss checks that every implementation
        # starts alike; the later ones (the first pays for lazy set-up) say
        # how long a step takes, from which the parent sizes its runs.
        times = []
        for k in range(max(1, int(msg.get("warmup", 2)))):
            start_step = time.perf_counter()
            value = self.trainer.step(self.step_index)
            times.append(time.perf_counter() - start_step)
            if k == 0:
                first_loss = self.trainer.loss_value(value)
            self.step_index += 1
        step_s = min(times[1:]) if len(times) > 1 else times[0]
        return {"first_loss": first_loss, "step_s": step_s,
                "setup_s": time.perf_counter() - start}

    def run(self, msg):
        """Time ``steps`` steps, or fewer (at least one) once ``max_seconds``
        have passed: a run sized from a quick warm-up must not drag on when
        the machine gets busy."""
        steps = int(msg["steps"])
        deadline = msg.get("max_seconds")
        trainer = self.trainer
        i = self.step_index
        start = time.perf_counter()
        end = start + float(deadline) if deadline is not None else float("inf")
        done = 0
        while done < steps:
            value = trainer.step(i + done)
            done += 1
            if time.perf_counter() > end:
                break
        seconds = time.perf_counter() - start
        self.step_index = i + done
        return {"seconds": seconds, "steps": done, "loss": trainer.loss_value(value)}

    def memory(self, msg):
        """Peak RSS of one epoch over ``n_samples``, and its growth over setup."""
        n_samples = int(msg["n_samples"])
        batch_size = int(msg["batch_size"])
        self._build(msg, n_samples)
        baseline = peak_rss_mb()
        start = time.perf_counter()
        for k in range(n_samples // batch_size):
            value = self.trainer.step(k)
        seconds = time.perf_counter() - start
        peak = peak_rss_mb()
        return {"baseline_mb": baseline, "peak_mb": peak, "growth_mb": peak - baseline,
                "epoch_s": seconds, "loss": self.trainer.loss_value(value)}


def serve(impl, stdin, stdout):
    """Answer requests from ``stdin`` on ``stdout`` until "quit" or EOF."""
    # Import the implementation before the first request arrives, so that
    # workers started together import in parallel; a failure (no torch, say)
    # is the answer to every request.
    try:
        session, failure = Session(impl), None
    except Exception as e:
        session, failure = None, {"ok": False, "error": f"{type(e).__name__}: {e}",
                                  "traceback": traceback.format_exc()}
    for line in stdin:
        line = line.strip()
        if not line:
            continue
        cmd = None
        try:
            msg = json.loads(line)
            cmd = msg.get("cmd")
            if cmd == "quit":
                reply = {"ok": True}
            elif failure is not None:
                reply = failure
            elif cmd not in ("hello", "setup", "run", "memory"):
                raise ValueError(f"unknown command {cmd!r}")
            else:
                reply = {"ok": True, **getattr(session, cmd)(msg)}
        except Exception as e:  # reported to the parent, which decides
            reply = {"ok": False, "error": f"{type(e).__name__}: {e}",
                     "traceback": traceback.format_exc()}
        stdout.write(json.dumps(reply) + "\n")
        stdout.flush()
        if cmd == "quit":
            break


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or argv[0] not in IMPLEMENTATIONS:
        print(f"usage: worker.py {{{','.join(IMPLEMENTATIONS)}}}", file=sys.stderr)
        return 2
    # Replies go to a private copy of stdout; anything else that prints
    # (Python or C) lands on stderr and cannot corrupt the protocol.
    protocol = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    serve(argv[0], sys.stdin, protocol)
    return 0


if __name__ == "__main__":
    sys.exit(main())
