"""The `nnfast bench` report: a Markdown table and a PNG bar chart.

matplotlib is optional and imported only when the chart is drawn; without
it the report is the table alone, with a note saying so.
"""
import os

from nnfast.benchmarks import workloads as wl

IMPL_ORDER = ("fast", "deterministic", "reference", "torch")
IMPL_COLORS = {"fast": "#d9534f", "deterministic": "#a94442", "reference": "#5bc0de",
               "torch": "#f0ad4e"}


def _fmt_rate(x):
    return f"{x:,.0f}"


def _ratio(a, b):
    return a / b if a and b else None


def _fmt_ratio(r):
    return "–" if r is None else f"{r:.2f}x"


def _impls(results):
    return [i for i in IMPL_ORDER if i in results["implementations"]]


def _cell(row, impl, unavailable):
    res = row["results"].get(impl)
    if res is None:
        return unavailable.get(impl, "–")
    if "median" not in res:
        return "error"
    return _fmt_rate(res["median"])


def training_table(results):
    """Markdown rows: median samples/s per implementation, ratios, GFLOP/s."""
    unavailable = results.get("unavailable", {})
    shown = [i for i in IMPL_ORDER if i in results["implementations"] or i in unavailable]
    head = (["workload", "batch", "threads"] + [f"{i} (samples/s)" for i in shown]
            + ["fast/torch", "fast/reference", "fast GFLOP/s", "fast / sgemm peak"])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in results["training"]:
        res = row["results"]
        fast = res.get("fast", {}).get("median")
        cells = [row["workload"], str(row["batch_size"]), str(row["threads"])]
        cells += [_cell(row, i, unavailable) for i in shown]
        cells.append(_fmt_ratio(_ratio(fast, res.get("torch", {}).get("median"))))
        cells.append(_fmt_ratio(_ratio(fast, res.get("reference", {}).get("median"))))
        if "median" in res.get("fast", {}):
            cells.append(f"{res['fast']['gflops']:.1f}")
            frac = res["fast"].get("fraction_of_peak")
            cells.append("–" if frac is None else f"{100 * frac:.0f} %")
        else:
            cells += ["–", "–"]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def deterministic_table(results):
    """Markdown rows: the cost of deterministic mode, fast vs deterministic."""
    lines = ["Cost of `nf.set_deterministic(True)` (the same kernels, reductions in a fixed "
             "number of parts):", "",
             "| workload | threads | fast (samples/s) | deterministic (samples/s) | cost |",
             "|---|---|---|---|---|"]
    for row in results["training"]:
        fast = row["results"].get("fast", {}).get("median")
        det = row["results"].get("deterministic", {}).get("median")
        if fast and det:
            lines.append(f"| {row['workload']} | {row['threads']} | {_fmt_rate(fast)} | "
                         f"{_fmt_rate(det)} | {100 * (fast / det - 1):+.1f} % |")
    return lines


def target_rows(results):
    """(workload, threads, target text, measured text, met: True/False/None).

    The targets are set at the most threads measured; the rows at fewer
    threads show how far the same ratios hold there.
    """
    rows = []
    for row in sorted(results["training"], key=lambda r: -r["threads"]):
        res = row["results"]
        fast = res.get("fast", {}).get("median")
        for key, goal in wl.TARGETS.get(row["workload"], {}).items():
            if key == "roofline":
                value = res.get("fast", {}).get("fraction_of_peak")
                target = f"fast >= {100 * goal:.0f} % of sgemm peak"
                measured = "–" if value is None else f"{100 * value:.0f} %"
            else:
                value = _ratio(fast, res.get(key, {}).get("median"))
                target = f"fast >= {goal:g}x {key}"
                measured = _fmt_ratio(value)
            met = None if value is None else value >= goal
            rows.append((row["workload"], row["threads"], target, measured, met))
    return rows


def memory_table(memory):
    lines = [f"Peak RSS of one training epoch of {memory['workload']} on {memory['n_samples']:,} "
             f"samples ({memory['threads']} threads), each implementation in a fresh process:", "",
             "| implementation | peak RSS (MB) | after setup (MB) | growth during the epoch (MB) | epoch (s) |",
             "|---|---|---|---|---|"]
    for impl in IMPL_ORDER:
        r = memory["results"].get(impl)
        if r:
            lines.append(f"| {impl} | {r['peak_mb']:.0f} | {r['baseline_mb']:.0f} | "
                         f"{r['growth_mb']:.0f} | {r['epoch_s']:.2f} |")
    fast, torch = memory["results"].get("fast"), memory["results"].get("torch")
    if fast and torch:
        verdict = "not higher" if fast["peak_mb"] <= torch["peak_mb"] else "HIGHER"
        lines += ["", f"nnfast's peak is {verdict} than PyTorch's "
                  f"({fast['peak_mb']:.0f} vs {torch['peak_mb']:.0f} MB)."]
    return lines


def _fmt_seconds(s):
    """Three significant digits: an MLP's epoch is hundredths of a second."""
    return f"{s:.3g}" if s < 100 else f"{s:.0f}"


def scaling_table(scaling, impls):
    batch_sizes = sorted({r["batch_size"] for r in scaling})
    head = ["workload", "implementation", "threads"] + [f"batch {b}" for b in batch_sizes]
    lines = [f"Seconds per epoch of {scaling[0].get('epoch_samples', 6400):,} samples (extrapolated from median samples/s):", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    by_key = {}
    for r in scaling:
        for impl, res in r["results"].items():
            if "epoch_s" in res:
                by_key.setdefault((r["workload"], impl, r["threads"]), {})[r["batch_size"]] = res["epoch_s"]
    names = list(dict.fromkeys(r["workload"] for r in scaling))
    threads = sorted({r["threads"] for r in scaling})
    for name in names:
        for impl in impls:
            for t in threads:
                times = by_key.get((name, impl, t))
                if times:
                    lines.append("| " + " | ".join([name, impl, str(t)] + [
                        _fmt_seconds(times[b]) if b in times else "–" for b in batch_sizes]) + " |")
    return lines


def markdown(results, command=None, chart=None):
    """The whole report as Markdown text."""
    m = results["machine"]
    cfg = results["config"]
    lines = ["# nnfast bench", ""]
    lines.append(f"Measured {m.get('date', '')} on {m['cpu']}, {m['cores']} cores, {m['os']}; "
                 f"Python {m['python']}, NumPy {m['numpy']}"
                 + "".join(f", {k} {v}" for k, v in _versions(results).items())
                 + f"; nnfast built {'with' if m.get('openmp') else 'WITHOUT'} OpenMP.")
    if m.get("load_average"):
        lines[-1] += (" Load average when the run started (1, 5, 15 min): "
                      + ", ".join(f"{x:.2f}" for x in m["load_average"]) + ".")
    if command:
        lines += ["", f"Reproduce: `{command}`"]
    peaks = results.get("sgemm_peak_gflops", {})
    if peaks:
        lines += ["", "sgemm peak (NumPy's BLAS, same run): " + ", ".join(
            f"{p:.1f} GFLOP/s on {t} thread(s)" for t, p in peaks.items()) + "."]
    runs = (f"{cfg['steps']} steps" if cfg.get("steps") else
            f"about {cfg.get('run_time', 0.4):g} s (steps per run in bench.json)")
    lines += ["", f"Training samples/s: median of {cfg['repeats']} runs of {runs} each, "
              "implementations alternated run by run, each in its own process, each run "
              f"after a {cfg.get('settle_time', 0.3):g} s pause (the last run's idle threads "
              "stop spinning); "
              "softmax cross-entropy, SGD lr 0.003 momentum 0.9 (unet-small: per-pixel masks, "
              "DiceCE with softmax, Adam lr 0.001), float32, the same data and "
              "initial weights for every implementation.", ""]
    lines += training_table(results)
    errors = [f"- {impl}, {row['workload']} ({row['threads']} threads): {res['error']}"
              for row in results["training"] for impl, res in row["results"].items() if "error" in res]
    if errors:
        lines += ["", "Errors:", ""] + errors
    if "deterministic" in results["implementations"] and "fast" in results["implementations"]:
        lines += ["", *deterministic_table(results)]
    rows = target_rows(results)
    if rows:
        lines += ["", "Targets:", "", "| workload | threads | target | measured | met |",
                  "|---|---|---|---|---|"]
        for name, threads, target, measured, met in rows:
            verdict = "–" if met is None else ("yes" if met else "no")
            lines.append(f"| {name} | {threads} | {target} | {measured} | {verdict} |")
    start = _start_check(results)
    if start:
        lines += ["", start]
    if results.get("memory"):
        lines += [""] + memory_table(results["memory"])
    if results.get("scaling"):
        lines += [""] + scaling_table(results["scaling"], _impls(results))
    if chart:
        lines += ["", f"![samples/s per workload]({chart})"]
    elif chart is None:
        lines += ["", "(No chart: matplotlib is not installed.)"]
    return "\n".join(lines) + "\n"


def _versions(results):
    out = {}
    for info in results.get("worker_info", {}).values():
        for k in ("torch", "nnfast"):
            if k in info:
                out[k] = info[k]
    return out


def _start_check(results):
    """A sentence on whether every implementation started from the same loss."""
    worst = 0.0
    for row in results["training"]:
        losses = [r["first_loss"] for r in row["results"].values() if r.get("first_loss") is not None]
        if len(losses) > 1:
            worst = max(worst, (max(losses) - min(losses)) / max(abs(min(losses)), 1e-30))
    if worst == 0.0:
        return ""
    return (f"Same start check: the first step's loss differs by at most {worst:.1e} (relative) "
            "between implementations.")


def bar_chart(results, path):
    """Samples/s per workload, per implementation and thread count, as a PNG.

    Returns False (and draws nothing) when matplotlib is not installed.
    """
    try:
        import matplotlib
    except ImportError:
        return False
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(r["workload"] for r in results["training"]))
    threads = sorted({r["threads"] for r in results["training"]})
    impls = _impls(results)
    series = [(impl, t) for impl in impls for t in threads]
    width = 0.8 / max(1, len(series))
    fig, ax = plt.subplots(figsize=(max(6, 1.8 * len(names) + 2), 4.5))
    for k, (impl, t) in enumerate(series):
        values = []
        for name in names:
            row = next((r for r in results["training"]
                        if r["workload"] == name and r["threads"] == t), None)
            values.append(row["results"].get(impl, {}).get("median", 0) if row else 0)
        xs = [i + (k - (len(series) - 1) / 2) * width for i in range(len(names))]
        ax.bar(xs, values, width, color=IMPL_COLORS.get(impl, "grey"),
               alpha=1.0 if t == max(threads) else 0.55, hatch=None if t == max(threads) else "//",
               label=f"{impl}, {t} thread{'s' if t > 1 else ''}", edgecolor="black", linewidth=0.4)
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names)
    ax.set_yscale("log")
    ax.set_ylabel("training samples/s (median, log scale)")
    m = results["machine"]
    ax.set_title(f"nnfast bench: {m['cpu'][:48]}, {m['cores']} cores", fontsize=10)
    ax.legend(fontsize=8, ncol=max(1, len(impls)))
    ax.grid(axis="y", which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def write_report(results, out_dir, command=None):
    """Write bench.md, bench.png (if matplotlib) and bench.json into ``out_dir``.

    Returns {"markdown": path, "png": path or None, "json": path}.
    """
    import json

    os.makedirs(out_dir, exist_ok=True)
    paths = {"json": os.path.join(out_dir, "bench.json"),
             "markdown": os.path.join(out_dir, "bench.md"),
             "png": os.path.join(out_dir, "bench.png")}
    with open(paths["json"], "w") as f:
        json.dump(results, f, indent=1)
    drawn = bar_chart(results, paths["png"])
    if not drawn:
        paths["png"] = None
    text = markdown(results, command=command, chart="bench.png" if drawn else None)
    with open(paths["markdown"], "w") as f:
        f.write(text)
    return paths
