"""ShardPlan and shard_indices: every sample once per epoch, the same number
of non-empty steps on every rank, rank batches that make up the global batch."""
import numpy as np
import pytest

from nnfast.distributed import ShardPlan, shard_indices


@pytest.mark.parametrize("seed", range(40))
def test_every_sample_once_and_equal_steps(seed):
    rng = np.random.default_rng(seed)
    world_size = int(rng.integers(1, 9))
    batch_size = int(rng.integers(1, 40))
    n = int(rng.integers(world_size, 600))
    order = rng.permutation(n)
    per_rank = [shard_indices(order, batch_size, r, world_size) for r in range(world_size)]
    steps = {len(batches) for batches in per_rank}
    assert len(steps) == 1
    everything = np.concatenate([idx for batches in per_rank for idx in batches])
    assert np.array_equal(np.sort(everything), np.arange(n))
    plan = ShardPlan(n, batch_size, 0, world_size)
    for b in range(plan.n_batches):
        parts = [batches[b] for batches in per_rank]
        assert all(p.size > 0 for p in parts)
        assert max(p.size for p in parts) <= batch_size + 1
        # the ranks' parts of step b are the global batch b of that order
        glob = order[plan.bounds[b]:plan.bounds[b + 1]]
        assert np.array_equal(np.sort(np.concatenate(parts)), np.sort(glob))
        assert sum(p.size for p in parts) == plan.global_size(b)
    for r, batches in enumerate(per_rank):
        assert ShardPlan(n, batch_size, r, world_size).local_samples == sum(b.size for b in batches)


def test_global_batches_are_those_of_one_process_with_the_global_batch_size():
    order = np.random.default_rng(0).permutation(1000)
    single = shard_indices(order, 64, 0, 1)
    parts = [shard_indices(order, 32, r, 2) for r in range(2)]
    assert len(single) == len(parts[0]) == 16
    for b, idx in enumerate(single):
        assert np.array_equal(idx, order[b * 64:(b + 1) * 64])
        assert np.array_equal(np.sort(np.concatenate([parts[0][b], parts[1][b]])), np.sort(idx))


def test_a_last_batch_smaller_than_the_world_joins_the_one_before():
    # 2 ranks x 8: global batches of 16; 33 samples leave 1 over, which no
    # rank could hold alone: it joins the second batch (17 samples).
    plan = ShardPlan(33, 8, 0, 2)
    assert plan.n_batches == 2 and list(plan.bounds) == [0, 16, 33]
    assert [plan.batch(None, b).size for b in range(2)] == [8, 9]
    assert [ShardPlan(33, 8, 1, 2).batch(None, b).size for b in range(2)] == [8, 8]


def test_unshuffled_order_and_int_order():
    assert [list(i) for i in shard_indices(7, 2, 1, 2)] == [[1, 3], [5]]
    assert [list(i) for i in shard_indices(np.arange(7), 2, 0, 2)] == [[0, 2], [4, 6]]


def test_bad_input():
    with pytest.raises(ValueError, match="at least one sample per rank"):
        ShardPlan(3, 8, 0, 4)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        ShardPlan(10, 0, 0, 2)
    with pytest.raises(ValueError, match="rank must be <= 1"):
        ShardPlan(10, 4, 2, 2)
    with pytest.raises(ValueError, match="world_size must be >= 1"):
        ShardPlan(10, 4, 0, 0)
    with pytest.raises(TypeError, match="order must be an int"):
        shard_indices(np.zeros((2, 3), dtype=np.int64), 4, 0, 1)
    with pytest.raises(TypeError, match="order must be an int"):
        shard_indices(np.linspace(0, 1, 5), 4, 0, 1)
