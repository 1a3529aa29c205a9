"""`nnfast bench`: the instrument works (no timing is ever asserted)."""
import builtins
import copy
import io
import json

import numpy as np
import pytest

import nnfast as nf
from nnfast.benchmarks import report, runner, worker
from nnfast.benchmarks import workloads as wl
from nnfast.cli import bench


def _has_torch():
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def bench_main(argv):
    """`nnfast bench ARGV` through the `nnfast` command when it has the
    subcommand, else through the module's own entry point."""
    try:
        from nnfast.cli.main import main
    except ImportError:
        return bench.main(argv)
    return main(["bench"] + list(argv))


def test_quick_run_writes_table_chart_and_json(tmp_path, capsys):
    impls = "fast,reference,torch" if _has_torch() else "fast,reference"
    code = bench_main(["--quick", "--workloads", "mlp-lab", "--threads", "1", "--repeats", "1",
                       "--steps", "2", "--implementations", impls, "--out", str(tmp_path)])
    assert code in (0, None)
    text = (tmp_path / "bench.md").read_text()
    assert "| mlp-lab | 64 | 1 |" in text
    assert "nnfast bench --quick" in text  # the command that reproduces it
    results = json.loads((tmp_path / "bench.json").read_text())
    row = results["training"][0]
    for impl in impls.split(","):
        res = row["results"][impl]
        assert "error" not in res, res
        assert len(res["samples_per_s"]) == 1 and res["median"] > 0
    # Same data and weights everywhere: the first step's loss agrees.
    first = [res["first_loss"] for res in row["results"].values()]
    np.testing.assert_allclose(first, first[0], rtol=1e-4)
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert "matplotlib is not installed" in text
    else:
        assert (tmp_path / "bench.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| mlp-lab | 64 | 1 |" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["--threads", "0"], "--threads"),
    (["--threads", "two"], "--threads"),
    (["--workloads", "resnet"], "--workloads"),
    (["--implementations", "jax"], "--implementations"),
    (["--repeats", "0"], "repeats"),
])
def test_bad_arguments_exit_with_a_message(argv, message, capsys):
    with pytest.raises(SystemExit) as e:
        bench.main(argv)
    assert e.value.code == 2
    assert message.strip("-") in capsys.readouterr().err


@pytest.fixture
def in_process_worker():
    """``worker.serve`` run here switches the backend and thread counts as a
    worker process would: put them back afterwards."""
    backend, threads = nf.get_backend(), nf.get_num_threads()
    blas = [(lib, lib.num_threads) for lib in worker.numpy_blas_controllers()]
    yield worker.serve
    nf.set_backend(backend)
    nf.set_num_threads(threads)
    for lib, n in blas:
        lib.set_num_threads(n)


def test_worker_protocol_reports_errors_instead_of_dying(in_process_worker):
    out = io.StringIO()
    requests = [{"cmd": "nonsense"}, {"cmd": "setup", "workload": "resnet", "batch_size": 4,
                                      "threads": 1}, {"cmd": "quit"}]
    in_process_worker("reference", io.StringIO("".join(json.dumps(r) + "\n" for r in requests)), out)
    replies = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["ok"] for r in replies] == [False, False, True]
    assert "nonsense" in replies[0]["error"]
    assert "workload must be one of" in replies[1]["error"]


def _without(monkeypatch, package):
    """Imports of ``package`` and its submodules fail, as where it is not
    installed (even when it is imported already)."""
    real_import = builtins.__import__

    def blocked(name, *args, **kwargs):
        if name == package or name.startswith(package + "."):
            raise ImportError(f"No module named '{package}'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", blocked)


def test_missing_torch_is_reported_not_fatal(monkeypatch):
    _without(monkeypatch, "torch")
    out = io.StringIO()
    worker.serve("torch", io.StringIO('{"cmd": "hello"}\n'), out)
    reply = json.loads(out.getvalue())
    assert not reply["ok"] and "No module named 'torch'" in reply["error"]


def test_workload_weights_and_flops():
    for name, spec in wl.WORKLOADS.items():
        weights = wl.init_weights(name, seed=3)
        assert all(w.dtype == np.float32 for w in weights)
        np.testing.assert_array_equal(weights[0], wl.init_weights(name, seed=3)[0])
        assert wl.flops_per_step(name, 2 * spec["batch_size"]) == 2 * wl.flops_per_step(name, spec["batch_size"])
    # mlp-lab: forward 2*N*(784*30 + 30*10), weight grads the same, input grad of the second layer only
    n = 64
    assert wl.flops_per_step("mlp-lab", n) == 4 * n * 784 * 30 + 6 * n * 30 * 10
    with pytest.raises(ValueError, match="workload must be one of"):
        wl.check_workload("resnet")


@pytest.mark.parametrize("name", list(wl.WORKLOADS))
def test_workloads_are_the_same_network_in_nnfast_and_torch(torch, name):
    """Same weights and batch: the same logits, loss and parameter gradients."""
    from conftest import assert_close

    weights = wl.init_weights(name)
    X, y = wl.make_data(4, name=name)
    model, loss, _, backward = wl.build_nnfast(name, weights)
    tmodel, tloss, _ = wl.build_torch(name, weights)
    logits = model.forward(X)
    expected = (4, wl.n_classes(name)) + (wl.input_shape(name)[1:]
                                           if wl.WORKLOADS[name].get("target") == "mask" else ())
    assert logits.dtype == np.float32 and logits.shape == expected
    value = loss.forward(logits, y)
    assert backward(loss.backward()) is None  # stops at the first layer with parameters
    tlogits = tmodel(torch.from_numpy(X))
    tvalue = tloss(tlogits, torch.from_numpy(y))
    tvalue.backward()
    assert_close(logits, tlogits.detach().numpy(), np.float32)
    assert value == pytest.approx(tvalue.item(), rel=1e-4)
    for p, tp in zip(model.parameters(), tmodel.parameters()):
        assert_close(p.grad, tp.grad.numpy(), np.float32)


def _fake_results():
    rows = []
    for name, fast, ref, tor in [("mlp-lab", 90000.0, 20000.0, 30000.0),
                                 ("mlp-wide", 6000.0, 3000.0, 5500.0)]:
        for t in (1, 2):
            res = {"fast": {"median": fast * t, "samples_per_s": [fast * t], "first_loss": 2.3,
                            "gflops": 10.0 * t, "fraction_of_peak": 0.1 * t},
                   "reference": {"median": ref * t, "samples_per_s": [ref * t], "first_loss": 2.3},
                   "torch": {"median": tor * t, "samples_per_s": [tor * t], "first_loss": 2.3}}
            rows.append({"workload": name, "threads": t, "batch_size": 64, "steps": 20,
                         "repeats": 5, "flops_per_step": 1e6, "results": res})
    return {"machine": {"cpu": "Test CPU", "cores": 2, "os": "Linux", "python": "3",
                        "numpy": "2", "openmp": True, "date": "today"},
            "implementations": ["fast", "reference", "torch"], "unavailable": {},
            "config": {"threads": [1, 2], "repeats": 5, "steps": 20},
            "sgemm_peak_gflops": {"1": 50.0, "2": 100.0}, "training": rows,
            "memory": {"workload": "cnn32-64", "n_samples": 6400, "threads": 2,
                       "results": {"fast": {"peak_mb": 100.0, "baseline_mb": 90.0, "growth_mb": 10.0,
                                            "epoch_s": 1.0},
                                   "torch": {"peak_mb": 300.0, "baseline_mb": 250.0, "growth_mb": 50.0,
                                             "epoch_s": 2.0}}},
            "scaling": [{"workload": "mlp-lab", "batch_size": b, "threads": t, "epoch_samples": 6400,
                         "results": {"fast": {"median": 1000.0 * b, "epoch_s": 6.4 / b}}}
                        for b in (16, 64, 256) for t in (1, 2)]}


def test_report_markdown_ratios_targets_memory_scaling():
    text = report.markdown(_fake_results(), command="nnfast bench", chart="bench.png")
    assert "| mlp-lab | 64 | 2 | 180,000 | 40,000 | 60,000 | 3.00x | 4.50x | 20.0 | 20 % |" in text
    assert "| mlp-lab | 2 | fast >= 2x torch | 3.00x | yes |" in text
    assert "| mlp-wide | 2 | fast >= 1.2x torch | 1.09x | no |" in text
    assert "| mlp-wide | 2 | fast >= 75 % of sgemm peak | 20 % | no |" in text
    assert "| mlp-wide | 1 | fast >= 75 % of sgemm peak | 10 % | no |" in text
    assert "not higher than PyTorch's (100 vs 300 MB)" in text
    assert "| mlp-lab | fast | 2 | 0.4 | 0.1 | 0.025 |" in text  # three significant digits
    assert "Reproduce: `nnfast bench`" in text


def test_report_states_the_cost_of_deterministic_mode():
    results = _fake_results()
    results["implementations"].append("deterministic")
    for row in results["training"]:
        fast = row["results"]["fast"]["median"]
        row["results"]["deterministic"] = {"median": fast / 1.1, "samples_per_s": [fast / 1.1],
                                           "first_loss": 2.3}
    text = report.markdown(results, command="nnfast bench", chart="bench.png")
    assert "Cost of `nf.set_deterministic(True)`" in text
    assert "| mlp-lab | 2 | 180,000 | 163,636 | +10.0 % |" in text
    # without the deterministic column there is no such table
    assert "Cost of" not in report.markdown(_fake_results(), command="nnfast bench",
                                            chart="bench.png")


def test_deterministic_worker_trains_in_deterministic_mode(tmp_path):
    code = bench_main(["--quick", "--workloads", "mlp-lab", "--threads", "2", "--repeats", "1",
                       "--steps", "2", "--implementations", "fast,deterministic",
                       "--out", str(tmp_path)])
    assert code in (0, None)
    results = json.loads((tmp_path / "bench.json").read_text())
    assert results["worker_info"]["deterministic"]["deterministic"] is True
    assert results["worker_info"]["fast"]["deterministic"] is False
    row = results["training"][0]
    assert row["results"]["deterministic"]["median"] > 0
    # the same kernels from the same start: the first losses agree
    np.testing.assert_allclose(row["results"]["deterministic"]["first_loss"],
                               row["results"]["fast"]["first_loss"], rtol=1e-5)
    assert "Cost of `nf.set_deterministic(True)`" in (tmp_path / "bench.md").read_text()


def test_report_without_matplotlib_is_the_table_and_a_note(tmp_path, monkeypatch):
    _without(monkeypatch, "matplotlib")
    paths = report.write_report(copy.deepcopy(_fake_results()), str(tmp_path))
    assert paths["png"] is None and not (tmp_path / "bench.png").exists()
    assert "matplotlib is not installed" in (tmp_path / "bench.md").read_text()


def test_errors_of_one_implementation_leave_the_others(tmp_path):
    results = _fake_results()
    results["training"][0]["results"]["reference"] = {"error": "AttributeError: no Conv2D"}
    text = report.markdown(results, chart=None)
    assert "| mlp-lab | 64 | 1 | 90,000 | error | 30,000 | 3.00x | – |" in text
    assert "no Conv2D" in text


def test_worker_run_stops_at_its_time_limit(in_process_worker):
    """A run sized from a quick warm-up stops after max_seconds (at least one step)."""
    requests = [{"cmd": "setup", "workload": "mlp-lab", "batch_size": 4, "threads": 1,
                 "n_batches": 2, "warmup": 2},
                {"cmd": "run", "steps": 10 ** 6, "max_seconds": 0.0},
                {"cmd": "run", "steps": 3}]
    out = io.StringIO()
    in_process_worker("reference", io.StringIO("".join(json.dumps(r) + "\n" for r in requests)), out)
    setup, limited, full = [json.loads(line) for line in out.getvalue().splitlines()]
    assert setup["ok"] and setup["step_s"] > 0 and np.isfinite(setup["first_loss"])
    assert limited["ok"] and limited["steps"] == 1
    assert full["ok"] and full["steps"] == 3 and np.isfinite(full["loss"])


def test_in_process_worker_leaves_the_fast_backend():
    assert nf.get_backend() == "fast"
