"""``nnfast bench``: training samples/s of nnfast, its NumPy reference and
PyTorch, side by side, written as a Markdown table and a PNG bar chart.

Each implementation trains in its own process (PyTorch's OpenMP runtime and
nnfast's never share one); the runs alternate and the report quotes medians.
"""
import argparse
import shlex
import sys

DEFAULTS = {"repeats": 5, "steps": None, "warmup": 3}  # steps None: runs of ~0.4 s
QUICK = {"repeats": 1, "steps": 3, "warmup": 1}


def _int_list(text, name, minimum=1):
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{name} must be comma-separated ints, got {text!r}") from None
    if not values or min(values) < minimum:
        raise argparse.ArgumentTypeError(f"{name} must be ints >= {minimum}, got {text!r}")
    return list(dict.fromkeys(values))


def _threads(text):
    return _int_list(text, "--threads")


def _positive(text):
    return _int_list(text, "this option")[0]


def _choices(allowed, name):
    def parse(text):
        values = list(allowed) if text == "all" else [v.strip() for v in text.split(",") if v.strip()]
        bad = [v for v in values if v not in allowed]
        if not values or bad:
            raise argparse.ArgumentTypeError(
                f"{name} must be 'all' or a comma-separated subset of {', '.join(allowed)}; got {text!r}")
        return list(dict.fromkeys(values))
    return parse


def add_arguments(parser):
    from nnfast.benchmarks.runner import DEFAULT_IMPLEMENTATIONS, IMPLEMENTATIONS, RUN_TIME
    from nnfast.benchmarks.workloads import WORKLOADS

    parser.add_argument("--workloads", type=_choices(list(WORKLOADS), "--workloads"),
                        default=list(WORKLOADS), metavar="LIST",
                        help=f"comma-separated, or 'all' (default): {', '.join(WORKLOADS)}")
    parser.add_argument("--threads", type=_threads, default=[1, 2], metavar="LIST",
                        help="thread counts to measure, comma-separated (default 1,2)")
    parser.add_argument("--implementations", type=_choices(list(IMPLEMENTATIONS), "--implementations"),
                        default=list(DEFAULT_IMPLEMENTATIONS), metavar="LIST",
                        help="fast, reference, torch, deterministic (default: fast, "
                             "reference, torch; torch is skipped with a note where it is not "
                             "installed; deterministic is fast under nf.set_deterministic(True), "
                             "reported as its cost against fast)")
    parser.add_argument("--repeats", type=_positive, default=None,
                        help=f"runs per implementation, alternated; the median is quoted "
                             f"(default {DEFAULTS['repeats']}, --quick {QUICK['repeats']})")
    parser.add_argument("--steps", type=_positive, default=None,
                        help=f"training steps per run (default: as many as fill ~{RUN_TIME} s, "
                             f"from the warm-up steps' time; --quick {QUICK['steps']})")
    parser.add_argument("--warmup", type=int, default=None,
                        help=f"untimed steps after setup (default {DEFAULTS['warmup']})")
    parser.add_argument("--seed", type=int, default=0, help="data and initial weights (default 0)")
    parser.add_argument("--out", default="nnfast-bench", metavar="DIR",
                        help="where bench.md, bench.png and bench.json go (default ./nnfast-bench)")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: 1 repeat of 3 steps, no memory measurement")
    parser.add_argument("--scaling", action="store_true",
                        help="also time an epoch at batch 16, 64, 256 for each thread count")
    parser.add_argument("--no-memory", dest="memory", action="store_false",
                        help="skip the peak-RSS epoch of cnn32-64 (fresh processes)")
    return parser


def add_parser(subparsers):
    """Register ``bench`` on the ``nnfast`` command's subparsers."""
    parser = subparsers.add_parser("bench", help="benchmark training against the NumPy reference and PyTorch",
                                   description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    parser.set_defaults(run=run, parser=parser)
    return parser


def reproduce_command(args, repeats, steps, warmup):
    """The ``nnfast bench`` command line that repeats this measurement."""
    parts = ["nnfast", "bench"] + (["--quick"] if args.quick else [])
    parts += ["--workloads", ",".join(args.workloads), "--threads", ",".join(map(str, args.threads)),
              "--implementations", ",".join(args.implementations),
              "--repeats", str(repeats)] + (["--steps", str(steps)] if steps else []) + [
              "--warmup", str(warmup)]
    if args.seed:
        parts += ["--seed", str(args.seed)]
    if args.scaling:
        parts.append("--scaling")
    if not args.memory and not args.quick:
        parts.append("--no-memory")
    return " ".join(shlex.quote(p) for p in parts)


def run(args, parser=None):
    """Measure, write the report, print the Markdown table; returns 0."""
    from nnfast.benchmarks.report import write_report
    from nnfast.benchmarks.runner import run_all

    preset = QUICK if args.quick else DEFAULTS
    repeats = args.repeats or preset["repeats"]
    steps = args.steps or preset["steps"]
    warmup = preset["warmup"] if args.warmup is None else max(0, args.warmup)
    memory = args.memory and not args.quick
    results = run_all(args.workloads, args.implementations, args.threads, repeats, steps,
                      warmup=warmup, seed=args.seed, memory=memory, scaling=args.scaling,
                      peak_size=512 if args.quick else 1536)
    command = reproduce_command(args, repeats, steps, warmup)
    paths = write_report(results, args.out, command=command)
    with open(paths["markdown"]) as f:
        print(f.read())
    print(f"wrote {paths['markdown']}" + (f", {paths['png']}" if paths["png"] else "")
          + f" and {paths['json']}", file=sys.stderr)
    return 0


def main(argv=None):
    """``python -m nnfast.cli.bench [options]``: the same as ``nnfast bench``."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = add_arguments(argparse.ArgumentParser(prog="nnfast bench", description=__doc__,
                                                   formatter_class=argparse.RawDescriptionHelpFormatter))
    return run(parser.parse_args(argv), parser)


if __name__ == "__main__":
    sys.exit(main())
