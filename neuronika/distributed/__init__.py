"""Data-parallel training across processes and machines, on MPI (host arrays) and NCCL (CuPy
arrays).

Start one process per device with an MPI launcher; every process runs the same script::

    mpiexec -n 2 python examples/distributed_digits.py

and in the script::

    import neuronika as nk
    from neuronika import distributed as dist

    dist.init()                                           # the group mpiexec started (or one process)
    model = MLP(); optimizer = nk.optim.Adam(model.parameters())
    dist.GradientAllReduce(optimizer, module=model)       # broadcast once, average every step
    for records, labels in dist.DistributedSampler(train, 32).epoch(e): ...
    dist.save(checkpoint, "ckpt.npz")                     # rank 0 writes, the others wait

Collectives on arrays (``all_reduce``, ``broadcast``, ``all_gather``) take the communicator of
the array's backend: NCCL through ``cupyx.distributed`` for CuPy arrays, MPI through mpi4py for
the others (``init(communicator="mpi")`` sends CuPy arrays through MPI too). Without a launcher
the group is this process alone and every collective returns its input.
"""

from __future__ import annotations

import os
from typing import Any, Sequence

from ._world import World, init, is_initialized, launched_by_mpi, world
from ._world import backend_of as _backend_of
from ._world import check_op as _check_op
from ._reduce import GradientAllReduce, broadcast_parameters, sync_buffers
from ._buckets import Bucket, make_buckets

__all__ = [
    "Bucket", "DistributedSampler", "GradientAllReduce", "World",
    "all_gather", "all_reduce", "barrier", "broadcast", "broadcast_parameters", "init",
    "get_rng_states", "is_initialized", "launched_by_mpi", "local_rank", "make_buckets", "rank", "save",
    "set_rng_states", "sync_buffers",
    "world", "world_size",
]


def rank() -> int:
    """This process's index in the group, ``0 ≤ rank < world_size()``."""
    return world().rank


def world_size() -> int:
    """How many processes train together (1 without an MPI launcher)."""
    return world().size


def local_rank() -> int:
    """This process's index among the ranks on its machine: with one GPU per process, use
    ``device=f"cuda:{dist.local_rank()}"``."""
    return world().local_rank


def barrier() -> None:
    """Wait until every rank has reached this call."""
    world().barrier()


def all_reduce(array: Any, op: str = "sum") -> Any:
    """Combine ``array`` (the same shape and dtype on every rank) across ranks; every rank gets
    the result: ``op`` is ``"sum"`` (Σ_ranks), ``"mean"`` (Σ / world_size), ``"max"`` or ``"min"``.

    Works in place where the communicator can (NumPy and CuPy arrays) and always returns the
    result: use the return value.
    """
    _check_op(op)
    backend = _backend_of("all_reduce", array)
    group = world()
    with backend.scope():
        out = group.communicator(backend).all_reduce(array, "sum" if op == "mean" else op)
        if op == "mean" and group.size > 1:
            out /= group.size
    return out


def broadcast(array: Any, root: int = 0) -> Any:
    """Rank ``root``'s ``array`` on every rank (same shape and dtype everywhere); in place where
    the communicator can, and always returned."""
    backend = _backend_of("broadcast", array)
    group = world()
    if not 0 <= root < group.size:
        raise ValueError(f"broadcast: root must be a rank in [0, {group.size}), got {root!r}")
    with backend.scope():
        return group.communicator(backend).broadcast(array, root)


def all_gather(array: Any) -> Any:
    """Every rank's ``array`` stacked along a new first axis: shape ``(world_size, *shape)``,
    row ``r`` from rank ``r``, on every rank."""
    backend = _backend_of("all_gather", array)
    with backend.scope():
        return world().communicator(backend).all_gather(array)


def save(obj: Any, path: "str | os.PathLike[str]", root: int = 0) -> None:
    """Write a checkpoint from one rank: rank ``root`` calls ``nk.save(obj, path)``, the others
    wait until the file is complete. If the write fails, every rank raises (rank ``root`` the
    original error, the others a ``RuntimeError`` naming it), so none waits forever.

    Load it on every rank with ``nk.load(path)`` (the file must be visible to all of them: a
    shared file system across machines).
    """
    from ..io import save as save_one

    group = world()
    failure, error = None, None
    if group.rank == root:
        try:
            save_one(obj, path)
        except Exception as caught:  # reported to every rank, then re-raised here
            failure, error = f"{type(caught).__name__}: {caught}", caught
    failure = group.share(failure, root)
    if error is not None:
        raise error
    if failure is not None:
        raise RuntimeError(f"distributed.save: rank {root} could not write {os.fspath(path)!r}: {failure}")


def get_rng_states() -> list[Any]:
    """Every rank's ``nk.get_rng_state()``, in rank order, on every rank (a collective): put it
    in the checkpoint that :func:`save` writes, so that each rank resumes its own random
    numbers (dropout masks, shuffles) with :func:`set_rng_states`."""
    from .. import backends

    return world().all_objects(backends.get_rng_state())


def set_rng_states(states: Sequence[Any]) -> None:
    """Restore this rank's generators from :func:`get_rng_states`'s list (entry ``rank()``).
    Raises ValueError when the list was saved by a different number of ranks."""
    from .. import backends

    group = world()
    if isinstance(states, (str, bytes)) or not isinstance(states, Sequence) or len(states) != group.size:
        count = len(states) if isinstance(states, Sequence) else type(states).__name__
        raise ValueError(
            f"set_rng_states: expected the list of {group.size} states that get_rng_states() "
            f"returns on {group.size} ranks, got {count}; resume with as many ranks as saved"
        )
    backends.set_rng_state(states[group.rank])


def __getattr__(name: str) -> Any:
    if name == "DistributedSampler":  # imports neuronika.data only when asked for
        from .sampler import DistributedSampler

        return DistributedSampler
    raise AttributeError(f"module 'neuronika.distributed' has no attribute {name!r}")
