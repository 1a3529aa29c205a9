"""``nnfast-fuzz``: draw cases, run them in child processes, print the totals.

Exit status 0 when no case crashed, hung, raised an error of the wrong kind
or returned garbage; 1 otherwise; 2 when the fuzzer itself could not run.
"""
import argparse
import os
import sys
import time
import traceback
from collections import Counter, defaultdict


def build_parser():
    p = argparse.ArgumentParser(
        prog="nnfast-fuzz",
        description="Fuzz nnfast's public entry points with bad and edge inputs; each case "
                    "runs in a child process, so that crashes and hangs are counted.")
    p.add_argument("--cases", type=int, default=1000, help="number of cases (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the case generator (default 0)")
    p.add_argument("--timeout", type=float, default=30.0,
                   help="seconds a case may run before it counts as a hang (default 30)")
    p.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                   help="child processes at once (default: 2, or 1 on one core)")
    p.add_argument("--batch-size", type=int, default=100, help="cases per child (default 100)")
    p.add_argument("--memory-limit", type=int, default=4096, metavar="MB",
                   help="address-space limit of each child in MiB, 0 for none (default 4096)")
    p.add_argument("--target", action="append", default=[], metavar="NAME",
                   help="only targets whose name contains NAME (repeatable)")
    p.add_argument("--list-targets", action="store_true", help="list the targets and exit")
    p.add_argument("--show", type=int, default=40,
                   help="print at most this many bad cases (default 40)")
    p.add_argument("--replay", metavar="CASE_ID",
                   help="run one case (as drawn with the same --cases, --seed and --target) in "
                        "this process, with its traceback")
    return p


def _select(targets, patterns):
    """The targets whose names hold one of ``patterns`` (all but the hidden
    ones when there are none; a hidden one only when named in full)."""
    if not patterns:
        return [t for t in targets.values() if not t.hidden]
    return [t for name, t in targets.items()
            if any(p == name or (p in name and not t.hidden) for p in patterns)]


def _bad(results):
    from nnfast.fuzz.outcome import BAD_CLASSES
    return [r for r in results if r.cls in BAD_CLASSES]


def format_report(results, seconds=None):
    """Totals per class and per target, then the bad cases, as text."""
    from nnfast.fuzz.outcome import CLASSES
    totals = Counter(r.cls for r in results)
    per_target = defaultdict(Counter)
    for r in results:
        per_target[r.target][r.cls] += 1
    lines = []
    head = f"nnfast-fuzz: {len(results)} cases"
    if seconds is not None:
        head += f" in {seconds:.0f} s"
    lines.append(head)
    lines.append("  " + "  ".join(f"{c}={totals.get(c, 0)}" for c in CLASSES))
    width = max([len(t) for t in per_target] + [10])
    lines.append("")
    lines.append(f"{'entry point':<{width}}  " + "  ".join(f"{c:>10}" for c in CLASSES))
    for target in sorted(per_target):
        counts = per_target[target]
        lines.append(f"{target:<{width}}  " + "  ".join(f"{counts.get(c, 0):>10}" for c in CLASSES))
    return "\n".join(lines)


def format_bad(results, cases_by_id, limit):
    lines = []
    bad = _bad(results)
    for r in bad[:limit]:
        spec = cases_by_id.get(r.case_id)
        lines.append(f"{r.cls:>10}  {r.case_id}: {r.detail}")
        if spec is not None:
            text = repr(spec)
            lines.append(f"            spec: {text[:600]}{'...' if len(text) > 600 else ''}")
    if len(bad) > limit:
        lines.append(f"... and {len(bad) - limit} more")
    return "\n".join(lines)


def replay(case, targets):
    """Run one case here, printing the outcome and any traceback."""
    from nnfast.fuzz.child import Context, _State, run_case
    import tempfile
    case_id, target_name, spec = case
    print(f"{case_id}: {spec!r}")
    target = targets[target_name]
    with tempfile.TemporaryDirectory() as root:
        ctx = Context(root)
        state = _State()
        cls, detail = run_case(target, spec, case_id, ctx, state)
        print(f"-> {cls}: {detail}")
        if cls != "ok":
            state.apply(spec, case_id)
            try:
                with ctx.case(case_id):
                    target.run(spec, ctx)
            except BaseException:
                traceback.print_exc()
            finally:
                state.restore()
    return cls


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        import hypothesis  # noqa: F401  (the test extra: say so before anything fails)
    except ImportError:
        print("nnfast-fuzz needs hypothesis: pip install 'nnfast[test]'", file=sys.stderr)
        return 2
    from nnfast.fuzz.generate import generate
    from nnfast.fuzz.runner import HarnessError, run_cases
    from nnfast.fuzz.targets import all_targets

    targets = all_targets()
    if args.list_targets:
        for name in sorted(targets):
            print(name + ("  (hidden: the fuzzer's self-test)" if targets[name].hidden else ""))
        return 0
    chosen = _select(targets, args.target)
    if not chosen:
        print(f"no target matches {args.target}", file=sys.stderr)
        return 2
    if args.cases < 1 or args.jobs < 1 or args.batch_size < 1 or args.timeout <= 0:
        print("--cases, --jobs and --batch-size must be >= 1 and --timeout > 0", file=sys.stderr)
        return 2
    start = time.monotonic()
    cases = generate(chosen, args.cases, args.seed)
    if args.replay:
        match = [c for c in cases if c[0] == args.replay]
        if not match:
            print(f"no case {args.replay!r} among the {len(cases)} drawn", file=sys.stderr)
            return 2
        return 0 if replay(match[0], targets) in ("ok", "expected") else 1
    print(f"nnfast-fuzz: {len(cases)} cases over {len(chosen)} entry points drawn in "
          f"{time.monotonic() - start:.0f} s (seed {args.seed}); running "
          f"{args.jobs} child process(es) at a time, timeout {args.timeout:g} s per case",
          flush=True)
    last = [0.0]

    def progress(done, total):
        now = time.monotonic()
        if sys.stderr.isatty() and now - last[0] > 1.0:
            last[0] = now
            print(f"\r{done}/{total}", end="", file=sys.stderr, flush=True)

    try:
        results = run_cases(cases, timeout=args.timeout, jobs=args.jobs,
                            batch_size=args.batch_size, memory_mb=args.memory_limit,
                            progress=progress)
    except HarnessError as e:
        print(f"nnfast-fuzz: {e}", file=sys.stderr)
        return 2
    if sys.stderr.isatty():
        print("\r", end="", file=sys.stderr)
    print(format_report(results, time.monotonic() - start))
    bad = _bad(results)
    if bad:
        print("\nbad cases:")
        print(format_bad(results, {c[0]: c[2] for c in cases}, args.show))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
