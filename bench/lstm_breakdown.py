"""Where lstm-seq's training step goes: the recurrent layer's kernels one by one.

Times, on lstm-seq's shapes (batch 32, 50 steps, input 32, hidden 128),
the kernels an LSTM layer's forward and backward call, and a whole
training step of the ``nnfast bench`` workload around them; prints the
median per batch of

- the recurrence forward, the input projection included, and backward
  (``lstm_sequence_forward`` / ``_backward``), and within them the step
  GEMMs (forward: x_t @ W_ih.T and h @ W_hh.T): the same GEMMs timed
  (on 64-byte-aligned arrays, as the layer's)
  alone, one thread's block of rows, 50 steps per direction, on the path
  the kernels take (float32 on an AVX-512 CPU: nnfast's own GEMM,
  ``_kernels/_small_gemm``, whole blocks; else BLAS in the kernels' row
  chunks), the Python call overhead, timed on 1x1 products, taken off. The
  rest of a recurrence is its gates (on AVX-512 the forward's projection
  and gates run inside its GEMM's tiles, csrc/lstm_fused.c, so there "of
  which" is the same GEMMs without the gates),
- the weight and bias gradients (``recurrent_weights_backward``),
- the rest of the step: Python, copies, the Linear layer, loss, SGD;

and, with ``--compare``, the whole step on both GEMM paths in interleaved
rounds (nnfast's AVX-512 GEMM against BLAS everywhere), the median of the
rounds' medians: the machine's load drifts, so only interleaved figures
compare.

    python bench/lstm_breakdown.py --threads 1,2 --repeats 50
    python bench/lstm_breakdown.py --threads 1 --clock cpu
    python bench/lstm_breakdown.py --compare --rounds 30

Run it on an otherwise idle machine (with two threads, a busy core makes
every fork/join wait). On a shared one, ``--clock cpu`` at one thread times
the calling thread's CPU time (``time.thread_time``), which other processes
disturb less; with more threads it would miss the other threads' work.
"""
import argparse
import time

import numpy as np

import nnfast as nf
from nnfast import _aligned, _kernels as k
from nnfast._kernels import _small_gemm
from nnfast.benchmarks import worker, workloads

T, N, I, H = 50, 32, 32, 128
G = 4 * H
BLAS_CHUNK = 600000          # nnfast/_kernels/_recurrent_steps.pxd


CLOCK = time.perf_counter


def _median(fn, repeats):
    fn()
    times = []
    for _ in range(repeats):
        t0 = CLOCK()
        fn()
        times.append(CLOCK() - t0)
    return float(np.median(times)) * 1e3


def _trainer(n_batches=1):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N * n_batches, T, I)).astype(np.float32)
    y = rng.integers(0, 10, N * n_batches)
    trainer = worker.NnfastTrainer("fast")
    trainer.build("lstm-seq", workloads.init_weights("lstm-seq"), x, y, N)
    return trainer


def _step_gemm(rows, n, k_):
    """One thread's step GEMM (rows, k_) @ (k_, n) as the kernels run it:
    a function of (a, b, c, beta) that does it."""
    if _small_gemm.enabled():
        return lambda a, b, c, beta: _small_gemm.small_gemm_into(a, b, c, False, beta != 0)
    chunks = int(rows * n * k_ / BLAS_CHUNK) + 1   # as _recurrent_steps.pxd's chunk_rows
    chunk = -(-rows // chunks)
    blocks = [(i, min(i + chunk, rows)) for i in range(0, rows, chunk)]

    def run(a, b, c, beta):
        for lo, hi in blocks:
            k.gemm(a[lo:hi], b, c[lo:hi], False, False, 1.0, beta)
    return run


def breakdown(threads, repeats):
    """{row label: median ms per batch} at ``threads`` threads."""
    nf.set_num_threads(threads)
    rng = np.random.default_rng(0)
    trainer = _trainer()
    lstm = trainer.model.layers[0]

    def step():
        trainer.step(0)

    w_ih, w_hh = lstm.weight_ih_l0.value, lstm.weight_hh_l0.value
    inp = _aligned.copy(rng.standard_normal((T * N, I)).astype(np.float32))
    x = inp.reshape(T, N, I)
    bias = np.zeros(G, np.float32)
    lengths = np.full(N, T, np.int64)
    gates = _aligned.empty((T, N, G), np.float32)
    h = _aligned.zeros((T + 1, N, H), np.float32)
    c = _aligned.zeros((T + 1, N, H), np.float32)
    grad = _aligned.zeros((T, N, H), np.float32)
    grad[-1] = rng.standard_normal((N, H))      # lstm-seq: only the last output
    grad_h, grad_c = _aligned.zeros((N, H), np.float32), _aligned.zeros((N, H), np.float32)
    grad_gates = _aligned.empty((T, N, G), np.float32)
    g_ih, g_hh = _aligned.zeros(w_ih.shape), _aligned.zeros(w_hh.shape)
    g_b1, g_b2 = np.zeros(G, np.float32), np.zeros(G, np.float32)
    rows = -(-N // threads)                     # one thread's block
    w_hh_t = _aligned.copy(w_hh.T)
    grad_block = _aligned.zeros((rows, H), np.float32)
    w_ih_t = _aligned.copy(w_ih.T)
    k.lstm_sequence_forward(x, w_ih, bias, w_hh, lengths, gates, h, c)
    one = np.ones((1, 1), np.float32)
    forward_gemm, backward_gemm = _step_gemm(rows, G, H), _step_gemm(rows, H, G)
    projection_gemm = _step_gemm(rows, G, I)

    def step_gemms_forward():
        for _ in range(T):
            projection_gemm(x[0, :rows], w_ih_t, gates[0, :rows], 0.0)
            forward_gemm(h[0, :rows], w_hh_t, gates[0, :rows], 1.0)

    def step_gemms_backward():
        for _ in range(T):
            backward_gemm(gates[0, :rows], w_hh, grad_block, 1.0)

    def call_overhead():
        tiny = _step_gemm(1, 1, 1)
        for _ in range(T):
            tiny(one, one, one, 1.0)

    overhead = _median(call_overhead, repeats)
    rows_ = {
        "training step (all)": _median(step, repeats),
        "recurrence forward, input projection included": _median(
            lambda: k.lstm_sequence_forward(x, w_ih, bias, w_hh, lengths, gates, h, c), repeats),
        "  of which step GEMMs": _median(step_gemms_forward, repeats) - 2 * overhead,
        "recurrence backward": _median(
            lambda: k.lstm_sequence_backward(gates, c, grad, w_hh, lengths, grad_h, grad_c,
                                             grad_gates), repeats),
        "  of which step GEMMs ": _median(step_gemms_backward, repeats) - overhead,
        "weight and bias gradients": _median(
            lambda: k.recurrent_weights_backward(
                inp, h[:-1].reshape(T * N, H), grad_gates.reshape(T * N, G),
                grad_gates.reshape(T * N, G), w_ih, None, g_ih, g_hh, g_b1, g_b2), repeats),
    }
    kernels = sum(v for key, v in rows_.items() if not key.startswith(("  ", "training")))
    rows_["rest (Python, copies, Linear, loss, SGD)"] = rows_["training step (all)"] - kernels
    return rows_


def compare(threads, rounds, steps=16):
    """(median ms per step with nnfast's AVX-512 GEMM, with BLAS): each round
    times ``steps`` steps on each path, the paths alternating."""
    nf.set_num_threads(threads)
    trainer = _trainer(n_batches=8)
    medians = {True: [], False: []}
    try:
        for _ in range(rounds):
            for flag in (True, False):
                _small_gemm.set_enabled(flag)
                trainer.step(0)
                times = []
                for i in range(steps):
                    t0 = CLOCK()
                    trainer.step(i)
                    times.append(CLOCK() - t0)
                medians[flag].append(np.median(times) * 1e3)
    finally:
        _small_gemm.set_enabled(True)
    return float(np.median(medians[True])), float(np.median(medians[False]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--repeats", type=int, default=50)
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    ap.add_argument("--compare", action="store_true",
                    help="the whole step on both GEMM paths, interleaved")
    ap.add_argument("--rounds", type=int, default=30)
    args = ap.parse_args()
    global CLOCK
    CLOCK = time.thread_time if args.clock == "cpu" else time.perf_counter
    counts = [int(t) for t in args.threads.split(",")]
    print(f"GEMM path: {'nnfast AVX-512 (small_gemm)' if _small_gemm.enabled() else 'BLAS'}\n")
    if args.compare:
        if not _small_gemm.available():
            raise SystemExit("--compare needs an AVX-512 CPU: there is one path here")
        print("| threads | step, nnfast GEMM (ms) | step, BLAS (ms) | BLAS / nnfast |")
        print("|---|---|---|---|")
        for nt in counts:
            ours, blas = compare(nt, args.rounds)
            print(f"| {nt} | {ours:.2f} | {blas:.2f} | {blas / ours:.3f} |")
        return
    results = {nt: breakdown(nt, args.repeats) for nt in counts}
    print("| ms per batch | " + " | ".join(f"{nt} thread{'s' * (nt > 1)}" for nt in counts) + " |")
    print("|---|" + "---|" * len(counts))
    for label in results[counts[0]]:
        print(f"| {label.rstrip()} | "
              + " | ".join(f"{results[nt][label]:.2f}" for nt in counts) + " |")


if __name__ == "__main__":
    main()
