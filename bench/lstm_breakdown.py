"""Where lstm-seq's training step goes: the recurrent layer's kernels one by one.

Times, on lstm-seq's shapes (batch 32, 50 steps, input 32, hidden 128),
the kernels an LSTM layer's forward and backward call, and a whole
training step of the ``nnfast bench`` workload around them; prints the
median per batch of

- the input projection (one GEMM over all steps, ``linear_forward``),
- the recurrence forward and backward (``lstm_sequence_forward`` /
  ``_backward``), and within them the step GEMMs: the same GEMMs timed
  alone (one thread's block of rows, in the kernels' row chunks, 50 steps
  per direction; the Python call overhead, timed on 1x1 products, taken
  off); the rest of a recurrence is its gates,
- the weight and bias gradients (``recurrent_weights_backward``),
- the rest of the step: Python, copies, the Linear layer, loss, SGD.

    python bench/lstm_breakdown.py --threads 1,2 --repeats 50
    python bench/lstm_breakdown.py --threads 1 --clock cpu

Run it on an otherwise idle machine (with two threads, a busy core makes
every fork/join wait). On a shared one, ``--clock cpu`` at one thread times
the calling thread's CPU time (``time.thread_time``), which other processes
disturb less; with more threads it would miss the other threads' work.
"""
import argparse
import time

import numpy as np

import nnfast as nf
from nnfast import _kernels as k
from nnfast.benchmarks import worker, workloads

T, N, I, H = 50, 32, 32, 128
G = 4 * H
SMALL_GEMM = 600000          # nnfast/_kernels/_recurrent_steps.pxd


CLOCK = time.perf_counter


def _median(fn, repeats):
    fn()
    times = []
    for _ in range(repeats):
        t0 = CLOCK()
        fn()
        times.append(CLOCK() - t0)
    return float(np.median(times)) * 1e3


def breakdown(threads, repeats):
    """{row label: median ms per batch} at ``threads`` threads."""
    nf.set_num_threads(threads)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, T, I)).astype(np.float32)
    y = rng.integers(0, 10, N)
    # the training step of nnfast bench's worker
    trainer = worker.NnfastTrainer("fast")
    trainer.build("lstm-seq", workloads.init_weights("lstm-seq"), x, y, N)
    lstm = trainer.model.layers[0]

    def step():
        trainer.step(0)

    w_ih, w_hh = lstm.weight_ih_l0.value, lstm.weight_hh_l0.value
    inp = rng.standard_normal((T * N, I)).astype(np.float32)
    x_proj = np.empty((T, N, G), np.float32)
    bias = np.zeros(G, np.float32)
    lengths = np.full(N, T, np.int64)
    gates = np.empty((T, N, G), np.float32)
    h = np.zeros((T + 1, N, H), np.float32)
    c = np.zeros((T + 1, N, H), np.float32)
    grad = np.zeros((T, N, H), np.float32)
    grad[-1] = rng.standard_normal((N, H))      # lstm-seq: only the last output
    grad_h, grad_c = np.zeros((N, H), np.float32), np.zeros((N, H), np.float32)
    grad_gates = np.empty((T, N, G), np.float32)
    g_ih, g_hh = np.zeros_like(w_ih), np.zeros_like(w_hh)
    g_b1, g_b2 = np.zeros(G, np.float32), np.zeros(G, np.float32)
    rows = -(-N // threads)                     # one thread's block
    chunks = int(rows * G * H / SMALL_GEMM) + 1  # as _recurrent_steps.pxd's chunk_rows
    chunk = -(-rows // chunks)
    blocks = [(i, min(i + chunk, rows)) for i in range(0, rows, chunk)]
    w_hh_t = np.ascontiguousarray(w_hh.T)
    grad_block = np.zeros((rows, H), np.float32)
    k.linear_forward(inp, w_ih, bias, x_proj.reshape(T * N, G), False)
    k.lstm_sequence_forward(x_proj, w_hh, lengths, gates, h, c)
    one = np.ones((1, 1), np.float32)

    def step_gemms_forward():
        for _ in range(T):
            for lo, hi in blocks:
                k.gemm(h[0, lo:hi], w_hh_t, gates[0, lo:hi], False, False, 1.0, 0.0)

    def step_gemms_backward():
        for _ in range(T):
            for lo, hi in blocks:
                k.gemm(gates[0, lo:hi], w_hh, grad_block[lo:hi], False, False, 1.0, 1.0)

    def call_overhead():
        for _ in range(T * len(blocks)):
            k.gemm(one, one, one, False, False, 1.0, 1.0)

    overhead = _median(call_overhead, repeats)
    rows_ = {
        "training step (all)": _median(step, repeats),
        "input projection": _median(
            lambda: k.linear_forward(inp, w_ih, bias, x_proj.reshape(T * N, G), False), repeats),
        "recurrence forward": _median(
            lambda: k.lstm_sequence_forward(x_proj, w_hh, lengths, gates, h, c), repeats),
        "  of which step GEMMs": _median(step_gemms_forward, repeats) - overhead,
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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--repeats", type=int, default=50)
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    args = ap.parse_args()
    global CLOCK
    CLOCK = time.thread_time if args.clock == "cpu" else time.perf_counter
    counts = [int(t) for t in args.threads.split(",")]
    results = {nt: breakdown(nt, args.repeats) for nt in counts}
    print("| ms per batch | " + " | ".join(f"{nt} thread{'s' * (nt > 1)}" for nt in counts) + " |")
    print("|---|" + "---|" * len(counts))
    for label in results[counts[0]]:
        print(f"| {label.rstrip()} | "
              + " | ".join(f"{results[nt][label]:.2f}" for nt in counts) + " |")


if __name__ == "__main__":
    main()
