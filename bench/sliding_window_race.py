"""nf.inference.sliding_window against MONAI's sliding_window_inference, same U-Net weights.

One 512x512 single-channel image, windows of 96x96, overlap 0.25, batches of
4 windows per model call: MONAI's 2-D segmentation tutorials'
settings (``roi_size = (96, 96)``, ``sw_batch_size = 4``, the default overlap
0.25; tutorials/2d_segmentation/torch/unet_training_array.py and its siblings), with the
Gaussian blend (``--blend constant`` for the tutorials' default). The model
is ``nf.models.UNet(spatial_dims=2, in_channels=1, out_channels=2,
channels=(16, 32, 64), norm="batch")`` in eval mode and, for MONAI, its
PyTorch twin with the same weights (``bench/torch_unet.py``,
``torch_unet_like``). Where either is missing, ``--model small`` (a Conv
3x3 -> BatchNorm2D -> ReLU -> Conv 1x1 net and its nn.Sequential twin) is
used instead, and the table says so.

Each run is a fresh process (no thread pool left over from the other
library); the two implementations alternate run by run, ``--repeats`` times.
In a run: ``--threads`` threads (``nf.set_num_threads`` /
``torch.set_num_threads``), one warm-up call, then ``--calls`` timed calls,
whose median is the run's figure. The table gives the median over runs
(min-max), the CPU time (all threads: on a shared machine the wall time
grows with the others' load, the CPU time much less), the speed-up of the
median wall times (and of the fastest runs, the least disturbed by other
load), and the largest absolute difference between the
two outputs. ``--profile`` splits each implementation's time into the model
calls and the rest (gathering tiles, blending, dividing).

    python bench/sliding_window_race.py                       # 5 repeats, 2 threads
    python bench/sliding_window_race.py --repeats 7 --profile --out bench/results/sliding_window_race.md
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IMPLEMENTATIONS = ("monai", "nnfast")
TARGET = 1.5


# -- the model, the same weights on both sides -------------------------------------
def build_nnfast_model(kind, seed):
    import nnfast as nf
    if kind == "unet":
        from nnfast.models import UNet
        model = UNet(spatial_dims=2, in_channels=1, out_channels=2, channels=(16, 32, 64),
                     norm="batch", rng=seed)
    else:
        nf.seed(seed)
        model = nf.Sequential(nf.layers.Conv2D(1, 16, 3, padding=1), nf.layers.BatchNorm2D(16),
                              nf.layers.ReLU(), nf.layers.Conv2D(16, 2, 1))
    # running statistics away from (0, 1), so that eval-mode BatchNorm shows in the output
    rng = np.random.default_rng(seed + 1)
    for layer in _leaves(model):
        if type(layer).__name__.startswith("BatchNorm"):
            c = layer.running_mean.shape[0]
            layer.running_mean[...] = rng.normal(0, 0.1, c)
            layer.running_var[...] = rng.uniform(0.5, 2.0, c)
    return model.eval()


def _leaves(layer):
    from nnfast.state_dict import named_children
    children = named_children(layer)
    if not children:
        return [layer]
    return [leaf for _, child in children for leaf in _leaves(child)]


def torch_twin(kind, model):
    import torch
    if kind == "unet":
        sys.path.insert(0, os.path.join(ROOT, "bench"))
        from torch_unet import torch_unet_like
        return torch_unet_like(model).eval()
    twin = torch.nn.Sequential(torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.BatchNorm2d(16),
                               torch.nn.ReLU(), torch.nn.Conv2d(16, 2, 1))
    twin.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in model.state_dict().items()})
    return twin.eval()


def available_model():
    """("unet", None) where nf.models.UNet and bench/torch_unet.py are there, else
    ("small", why not)."""
    sys.path.insert(0, ROOT)
    try:
        import nnfast.models  # noqa: F401
    except ImportError:
        return "small", "nf.models.UNet is not built"
    if not os.path.isfile(os.path.join(ROOT, "bench", "torch_unet.py")):
        return "small", "bench/torch_unet.py (the U-Net's PyTorch twin) is not there"
    return "unet", None


# -- one run, in its own process --------------------------------------------------------
class Clock:
    """Seconds spent inside the wrapped model calls."""

    def __init__(self):
        self.seconds = 0.0


def worker(impl, args):
    sys.path.insert(0, ROOT)
    import nnfast as nf
    model = build_nnfast_model(args.model, args.seed)
    image = np.random.default_rng(args.seed).standard_normal((1, 1, args.size, args.size)).astype(np.float32)
    clock = Clock()
    if impl == "nnfast":
        nf.set_num_threads(args.threads)
        from nnfast.layers.base import Layer

        class Timed(Layer):
            def __init__(self, inner):
                super().__init__()
                self.inner = inner

            def parameters(self):
                return self.inner.parameters()

            def forward(self, x):
                start = time.perf_counter()
                y = self.inner.forward(x)
                clock.seconds += time.perf_counter() - start
                return y

        net = Timed(model) if args.profile else model

        def call():
            return nf.inference.sliding_window(net, image, args.roi, overlap=args.overlap,
                                               blend=args.blend, batch_size=args.batch_size)
    else:
        import torch
        from monai.inferers import sliding_window_inference
        torch.set_num_threads(args.threads)
        twin = torch_twin(args.model, model)
        x = torch.from_numpy(image)

        def timed(tiles):
            start = time.perf_counter()
            y = twin(tiles)
            clock.seconds += time.perf_counter() - start
            return y
        predictor = timed if args.profile else twin

        def call():
            with torch.no_grad():
                return sliding_window_inference(x, args.roi, args.batch_size, predictor,
                                                overlap=args.overlap, mode=args.blend).numpy()
    out = call()   # warm-up: first-touch of buffers, thread pools started
    times, cpu_times, model_times = [], [], []
    for _ in range(args.calls):
        clock.seconds = 0.0
        start, cpu = time.perf_counter(), time.process_time()
        out = call()
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu)
        model_times.append(clock.seconds)
    if args.save:
        np.save(args.save, np.asarray(out))
    print(json.dumps({"impl": impl, "seconds": statistics.median(times),
                      "cpu": statistics.median(cpu_times),
                      "model_seconds": statistics.median(model_times) if args.profile else None,
                      "calls": times}))


def run_one(impl, args, save=None):
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", impl, "--model", args.model,
           "--size", str(args.size), "--roi", str(args.roi), "--overlap", str(args.overlap),
           "--blend", args.blend, "--batch-size", str(args.batch_size), "--threads", str(args.threads),
           "--calls", str(args.calls), "--seed", str(args.seed)]
    if args.profile:
        cmd.append("--profile")
    if save:
        cmd += ["--save", save]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT).stdout
    return json.loads(out.strip().splitlines()[-1])


def windows(args):
    sys.path.insert(0, ROOT)
    from nnfast.inference.windows import window_starts
    return len(window_starts((args.size, args.size), (args.roi, args.roi), args.overlap))


def table(results, args, note, max_diff, scale, load_before, load_after):
    model = ("nf.models.UNet(spatial_dims=2, in_channels=1, out_channels=2, channels=(16, 32, 64), "
             "norm=\"batch\")" if args.model == "unet" else
             "Conv2D(1, 16, 3, padding=1) -> BatchNorm2D(16) -> ReLU -> Conv2D(16, 2, 1)")
    lines = [f"Image 1x1x{args.size}x{args.size}, roi {args.roi}x{args.roi}, overlap {args.overlap}, "
             f"{args.blend} blend, {args.batch_size} windows per model call ({windows(args)} windows); "
             f"model {model}" + (f" ({note})" if note else "") + f", float32, eval mode. Threads: "
             f"{args.threads} for both. {args.repeats} runs each, alternating, a fresh process per run, "
             f"{args.calls} timed calls per run (after one warm-up). Load average before / after: "
             f"{load_before} / {load_after}.", "",
             "| implementation | seconds per image, median (min-max) | CPU seconds (all threads) | "
             "of which model calls | tiling and blending | speed-up | target |",
             "|---|---|---|---|---|---|---|"]
    med = {}
    for impl in IMPLEMENTATIONS:
        runs = [r for r in results if r["impl"] == impl]
        secs = [r["seconds"] for r in runs]
        med[impl] = statistics.median(secs)
        if args.profile:
            model_s = statistics.median(r["model_seconds"] for r in runs)
            rest = statistics.median(r["seconds"] - r["model_seconds"] for r in runs)
            split = (f"{model_s:.4f}", f"{rest:.4f}")
        else:
            split = ("(--profile)", "(--profile)")
        med[impl + "_row"] = (min(secs), max(secs), split)
        med[impl + "_cpu"] = statistics.median(r["cpu"] for r in runs)
    speedup = med["monai"] / med["nnfast"]
    best = med["monai_row"][0] / med["nnfast_row"][0]
    for impl in IMPLEMENTATIONS:
        lo, hi, split = med[impl + "_row"]
        extra = ((f"{speedup:.2f}x (fastest runs: {best:.2f}x)", f">= {TARGET}x") if impl == "nnfast"
                 else ("", ""))
        name = "MONAI sliding_window_inference (PyTorch)" if impl == "monai" else "nf.inference.sliding_window"
        lines.append(f"| {name} | {med[impl]:.4f} ({lo:.4f}-{hi:.4f}) | {med[impl + '_cpu']:.4f} | "
                     f"{split[0]} | {split[1]} | "
                     f"{extra[0]} | {extra[1]} |")
    lines += ["", f"Largest absolute difference between the two outputs: {max_diff:.3g} "
              f"(outputs up to {scale:.3g} in magnitude)."]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--calls", type=int, default=5, help="timed calls per run (their median)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--roi", type=int, default=96)
    parser.add_argument("--overlap", type=float, default=0.25)
    parser.add_argument("--blend", choices=("constant", "gaussian"), default="gaussian")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--model", choices=("auto", "unet", "small"), default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--profile", action="store_true",
                        help="time the model calls apart from the tiling and blending")
    parser.add_argument("--out", default=None, help="also write the table to this Markdown file")
    parser.add_argument("--worker", choices=IMPLEMENTATIONS, help=argparse.SUPPRESS)
    parser.add_argument("--save", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args)
        return
    if args.repeats < 1 or args.calls < 1:
        parser.error("--repeats and --calls must be >= 1")
    note = None
    if args.model == "auto":
        args.model, note = available_model()
        if note:
            note = f"the small net: {note}"
            print(f"using the small net: {note}", flush=True)
    load_before = " ".join(f"{x:.1f}" for x in os.getloadavg())
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        saved = {impl: os.path.join(tmp, impl + ".npy") for impl in IMPLEMENTATIONS}
        for repeat in range(args.repeats):
            order = IMPLEMENTATIONS if repeat % 2 == 0 else IMPLEMENTATIONS[::-1]
            for impl in order:
                r = run_one(impl, args, save=saved[impl] if repeat == 0 else None)
                model_s = f"  model {r['model_seconds']:.4f} s" if args.profile else ""
                print(f"repeat {repeat + 1}/{args.repeats} {impl:7s} {r['seconds']:.4f} s{model_s}", flush=True)
                results.append(r)
        a, b = np.load(saved["nnfast"]), np.load(saved["monai"])
        max_diff, scale = float(np.abs(a - b).max()), float(np.abs(b).max())
    load_after = " ".join(f"{x:.1f}" for x in os.getloadavg())
    text = table(results, args, note, max_diff, scale, load_before, load_after)
    print()
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write("# nf.inference.sliding_window vs MONAI's sliding_window_inference\n\n")
            f.write(f"`python bench/sliding_window_race.py {' '.join(argv if argv is not None else sys.argv[1:])}`\n\n")
            f.write(text + "\n")


if __name__ == "__main__":
    main()
