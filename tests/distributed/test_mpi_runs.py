"""Runs under ``mpiexec``: 2 ranks x batch 32 train to the weights of 1 process
x batch 64; reductions start during the backward pass; a rank that fails
stops every rank (no hang), and the last checkpoint resumes.

Each test launches a script of tests/distributed/ranks/ with a timeout, and
skips where mpi4py or mpiexec is missing.
"""
import os

import pytest

from mpi_launch import read_json, run_ranks

# 20 steps from identical weights, only the order of the sums over the batch
# differing (the GEMMs over 64 rows vs two halves of 32, then one addition).
# Measured here, as a fraction of the largest weight: float32 3e-7 (SGD) and
# 2e-6 (Adam), float64 5e-16 and 1e-13; the tolerances are DESIGN.md's
# float32 rtol and, for float64, 10x the Adam figure.
TOLERANCE = {"float32": 1e-4, "float64": 1e-12}
VARIANTS = ("fit", "fit_small_buckets", "own_loop_adam", "fit_partial_last_batch")


@pytest.mark.parametrize("n_ranks, kind, dtype", [
    (2, "mlp", "float32"), (2, "lenet", "float32"), (2, "mlp", "float64"), (3, "mlp", "float64"),
])
def test_ranks_train_to_the_weights_of_one_process(tmp_path, n_ranks, kind, dtype):
    out = tmp_path / "result.json"
    code, output, _ = run_ranks(n_ranks, "equal_weights.py", kind, dtype, out)
    assert code == 0, output[-4000:]
    result = read_json(out)
    assert result["world_size"] == n_ranks and result["steps"] == 20
    for name in VARIANTS:
        r = result[name]
        assert r["ranks_identical"], (name, "the ranks' weights differ")
        assert r["moved"] > 100 * TOLERANCE[dtype] * r["scale"], (name, "training did not move every weight")
        assert r["max_abs_diff"] <= TOLERANCE[dtype] * r["scale"], (name, r)
    for key, (distributed, single) in result["fit"]["history"].items():
        assert distributed == pytest.approx(single, rel=TOLERANCE[dtype], abs=TOLERANCE[dtype]), key


def test_reductions_start_during_the_backward_pass(tmp_path):
    out = tmp_path / "overlap.json"
    code, output, _ = run_ranks(2, "overlap.py", out)
    assert code == 0, output[-4000:]
    r = read_json(out)
    # the MLP's Linear layers are 1, 3, 5: layers 5 and 3 share a 16 KiB bucket, layer 1 is its own
    assert r["buckets"] == [3, 1]
    started = {first_done: n for first_done, n in r["events"]}
    assert started[5] == 0          # the bucket of layers 5 and 3 waits for layer 3
    assert started[3] == 1          # ... and starts while layers 2, 1 still run backward
    assert started[1] == 2
    assert r["started_before_step"] == 2
    assert r["grad_was_local"] and r["grad_is_mean"]
    assert r["accumulated_is_mean"]


@pytest.mark.parametrize("mode", ["raise", "exit"])
def test_a_failing_rank_stops_every_rank_and_the_checkpoint_resumes(tmp_path, mode):
    code, output, _ = run_ranks(2, "fail_mid_run.py", mode, tmp_path)
    assert code != 0, output[-4000:]
    if mode == "raise":
        assert "injected failure on rank 1" in output
    assert not any(name.startswith("finished_rank") for name in os.listdir(tmp_path)), \
        "a rank went on after the other failed"
    assert read_json(tmp_path / "checkpoint.json")["epoch"] == 2
    code, output, _ = run_ranks(2, "resume.py", tmp_path)
    assert code == 0, output[-4000:]
    resumed = read_json(tmp_path / "resumed.json")
    assert resumed["from_epoch"] == 2 and resumed["world_size"] == 2


def test_ranks_that_disagree_on_the_data_all_refuse(tmp_path):
    code, output, _ = run_ranks(2, "mismatch.py")
    assert code != 0
    for rank in (0, 1):
        assert (f"rank {rank} refused: fit(..., distributed=True) needs the same n_samples on "
                "every rank, got rank 0: 128, rank 1: 144") in output


def test_checkpoints_are_written_by_rank_0_alone_and_resume(tmp_path):
    code, output, _ = run_ranks(2, "checkpoint_resume.py", tmp_path)
    assert code == 0, output[-4000:]
    files = sorted(os.listdir(tmp_path))
    assert "written_by_rank1.txt" not in files, "rank 1 ran the ModelCheckpoint"
    written = (tmp_path / "written_by_rank0.txt").read_text().split()
    assert [os.path.basename(p) for p in written] == ["ckpt-1.npz", "ckpt-2.npz"]
    assert [f for f in files if f.startswith("ckpt-")] == ["ckpt-1.npz", "ckpt-2.npz"]
    assert len((tmp_path / "log.csv").read_text().splitlines()) == 3    # header + 2 epochs, once
    for rank in (0, 1):
        r = read_json(tmp_path / f"result_rank{rank}.json")
        assert r["world_size"] == 2 and r["ranks_identical"]
        assert r["epochs"] == [4, 4]
        # 2 epochs + 2 resumed equal 4 straight: float32 tolerance (DESIGN.md's 1e-4)
        assert r["max_abs_diff"] <= 1e-4 * r["scale"], r
        straight, resumed = r["val_loss"]
        assert resumed == pytest.approx(straight, rel=1e-4)
