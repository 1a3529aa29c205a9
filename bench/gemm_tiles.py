"""GFLOP/s of nnfast's register-tile GEMMs on a U-Net's convolution shapes,
one thread, in every instruction set this CPU runs them in:

    python bench/gemm_tiles.py [--calls 300]

For each (output channels, input channels) of unet-small's 3x3 layers, at a
block of 6 output rows of a 64-wide image: ``small_gemm_rows`` (the forward
reading the padded sample in place, one pointer per kernel tap), the same
product through ``small_gemm`` on a copied column matrix, and ``dot_gemm``
(the weight gradient, (out, span) @ (ckk, span).T); small_gemm_rows has
AVX2 kernels only, so it runs in AVX2 under either set. The best of ``--calls``
timings (thread CPU time, 4 calls each), as the call overhead of a few
microseconds is in every one of them.
"""
import argparse
import time

import numpy as np

from nnfast._kernels import _small_gemm

SHAPES = [(16, 16), (16, 32), (32, 32), (32, 64), (64, 64)]   # (out, in) channels
WIDTH_PAD, ROWS = 66, 6


def best(f, calls):
    t = float("inf")
    for _ in range(calls):
        t0 = time.thread_time()
        f(); f(); f(); f()
        t = min(t, (time.thread_time() - t0) / 4)
    return t


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    span = WIDTH_PAD * ROWS - 2
    if not _small_gemm.available():
        print("this CPU runs no register-tile GEMM (neither AVX-512F nor AVX2 with FMA)")
        return
    old = _small_gemm.set_instruction_set(None)
    try:
        for isa in _small_gemm.instruction_sets():
            _small_gemm.set_instruction_set(isa)
            print(f"{isa}: GFLOP/s, one thread, m = out, k = 9 * in, n = {span}")
            for out, inp in SHAPES:
                k = 9 * inp
                plane = WIDTH_PAD * (ROWS + 2)
                src = rng.standard_normal(inp * plane + WIDTH_PAD).astype(np.float32)
                offsets = [c * plane + i * WIDTH_PAD + j
                           for c in range(inp) for i in range(3) for j in range(3)]
                cols = np.stack([src[o:o + span] for o in offsets])
                w = rng.standard_normal((out, k)).astype(np.float32)
                g = rng.standard_normal((out, span)).astype(np.float32)
                c = np.zeros((out, span), np.float32)
                cw = np.zeros((k, out), np.float32)
                flops = 2.0 * out * k * span / 1e9
                row = []
                if _small_gemm.small_gemm_rows_into(w, src, offsets, span, c):
                    row.append(("rows (in AVX2)", best(lambda: _small_gemm.small_gemm_rows_into(
                        w, src, offsets, span, c), args.calls)))
                row.append(("copied", best(lambda: _small_gemm.small_gemm_into(w, cols, c),
                                           args.calls)))
                row.append(("dot", best(lambda: _small_gemm.dot_gemm_into(cols, g, cw),
                                        args.calls)))
                print(f"  {inp:3d}->{out:<3d} " + "  ".join(
                    f"{name} {flops / t:6.1f}" for name, t in row))
    finally:
        _small_gemm.set_instruction_set(old)


if __name__ == "__main__":
    main()
