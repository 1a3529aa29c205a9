"""A workload's training step under two or more kernel settings, in
interleaved rounds in one process (so that a noisy machine's slow spells
fall on every setting alike); median and best ms per step:

    python bench/step_ab.py --workload unet-small --compare in-place,copied
    python bench/step_ab.py --workload lstm-seq --compare tiles,blas

Settings: ``tiles`` / ``blas`` (``_small_gemm.set_enabled``), ``avx512`` /
``avx2`` (``_small_gemm.set_instruction_set``, where the CPU runs it),
``in-place`` / ``copied`` (``_conv_plan.set_in_place_columns``). Each
round applies one setting (on top of the defaults) and times --steps steps.
"""
import argparse
import statistics
import time

import nnfast as nf
from nnfast._kernels import _conv_plan, _small_gemm
from nnfast.benchmarks import workloads


def _defaults():
    _small_gemm.set_enabled(True)
    _small_gemm.set_instruction_set(None)
    _conv_plan.set_in_place_columns(True)


SETTINGS = {
    "tiles": lambda: None,
    "blas": lambda: _small_gemm.set_enabled(False),
    "avx512": lambda: _small_gemm.set_instruction_set("avx512"),
    "avx2": lambda: _small_gemm.set_instruction_set("avx2"),
    "in-place": lambda: None,
    "copied": lambda: _conv_plan.set_in_place_columns(False),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", default="unet-small", choices=sorted(workloads.WORKLOADS))
    parser.add_argument("--compare", default="in-place,copied",
                        help="comma-separated settings: " + ", ".join(SETTINGS))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--steps", type=int, default=3)
    args = parser.parse_args()
    names = args.compare.split(",")
    for name in names:
        if name not in SETTINGS:
            parser.error(f"--compare: {name!r} is not one of {', '.join(SETTINGS)}")
    nf.set_num_threads(args.threads)
    model, loss, opt, _ = workloads.build_nnfast(args.workload,
                                                 workloads.init_weights(args.workload))
    batch = workloads.WORKLOADS[args.workload]["batch_size"]
    X, y = workloads.make_data(batch * 4, name=args.workload)

    def step(i):
        lo = (i % 4) * batch
        out = model.forward(X[lo:lo + batch])
        loss.forward(out, y[lo:lo + batch])
        model.backward(loss.backward())
        opt.step()
        opt.zero_grad()

    times = {name: [] for name in names}
    try:
        for i in range(args.steps):
            step(i)
        for _ in range(args.rounds):
            for name in names:
                _defaults()
                SETTINGS[name]()
                t0 = time.perf_counter()
                for i in range(args.steps):
                    step(i)
                times[name].append((time.perf_counter() - t0) / args.steps * 1e3)
    finally:
        _defaults()
    print(f"{args.workload}, {args.threads} thread(s), {args.rounds} interleaved rounds of "
          f"{args.steps} steps (ms per step)")
    for name, v in times.items():
        print(f"  {name:10s} median {statistics.median(v):8.1f}  best {min(v):8.1f}")


if __name__ == "__main__":
    main()
