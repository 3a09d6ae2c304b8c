"""Data parallelism as an optimizer hook: parameters broadcast once, gradients averaged in
buckets before every ``step``.

Why a hook on the optimizer rather than a ``DistributedDataParallel(module)`` wrapper: in
neuronika the model is called once to *build* a graph that is then replayed (``assign`` →
``forward`` → ``backward`` → ``step``), so a wrapper around the module would see only that one
call, never the replays. ``optimizer.step()`` is the one call a training loop makes on every
iteration, whether it replays a graph or rebuilds it, and by then every gradient is final (also
after several ``backward`` calls that accumulate: one all-reduce per step, not per backward).
"""

from __future__ import annotations

import time
from typing import Any, Sequence

from ..autograd import Param
from ._buckets import Bucket, make_buckets
from ._world import World, world

__all__ = ["GradientAllReduce", "broadcast_parameters", "sync_buffers"]


def broadcast_parameters(params: Sequence[Param], root: int = 0) -> None:
    """Overwrite every parameter with rank ``root``'s value (same order on every rank)."""
    group = world()
    if group.size == 1:
        return
    for param in params:
        node = param._node
        communicator = group.communicator(node.backend)
        with node.backend.scope():
            value = communicator.broadcast(node.value, root)
        node.set_value(value)


def sync_buffers(module: Any, root: int = 0) -> int:
    """Overwrite every buffer of ``module`` with rank ``root``'s (PyTorch DDP's default for
    BatchNorm running statistics); returns how many buffers were synchronised.

    Buffers are what ``module.named_buffers()`` yields as ``(name, variable)`` pairs
    (``Module.register_buffer``); an object without that method, or a module without buffers,
    has nothing to synchronise and this returns 0.
    """
    named = getattr(module, "named_buffers", None)
    group = world()
    if named is None or group.size == 1:
        return 0
    count = 0
    for _, buffer in named():
        node = buffer._node
        with node.backend.scope():
            value = group.communicator(node.backend).broadcast(node.value, root)
        node.set_value(value)
        count += 1
    return count


class GradientAllReduce:
    """Make ``optimizer`` train data-parallel across the processes of the group.

    At construction (collectively, on every rank): checks that every rank has the same
    parameters (count, shapes, dtypes), broadcasts them from rank ``root``, and the buffers of
    ``module`` if given. Then, before each ``optimizer.step()`` (a step pre-hook), the gradients
    are averaged across ranks::

        g ← (1/P) · Σ_ranks g_rank

    one collective per bucket of at most ``bucket_cap_mb`` MiB (PyTorch's 25 by default), not
    one per parameter; and ``module``'s buffers are broadcast from ``root`` (so the next forward
    sees rank ``root``'s running statistics, as PyTorch's DDP does at each forward).

    With a batch of B per rank this gives the update that one process would compute from the
    combined batch of P·B when the loss is a mean over the batch.

    In a group of one process nothing is registered and the optimizer is unchanged.

    Attributes: ``buckets``; ``allreduce_seconds`` (total time in the collectives, including
    packing) and ``calls`` (steps reduced), for measuring.
    """

    def __init__(self, optimizer: Any, module: Any = None, bucket_cap_mb: float = 25.0, root: int = 0) -> None:
        if not hasattr(optimizer, "register_step_pre_hook"):
            raise TypeError(
                f"GradientAllReduce: expected a neuronika optimizer (optim.SGD, optim.Adam, ...), "
                f"got {type(optimizer).__name__}"
            )
        if isinstance(bucket_cap_mb, bool) or not isinstance(bucket_cap_mb, (int, float)) or not bucket_cap_mb > 0:
            raise ValueError(f"GradientAllReduce: bucket_cap_mb must be a positive number, got {bucket_cap_mb!r}")
        self.group: World = world()
        if not 0 <= root < self.group.size:
            raise ValueError(f"GradientAllReduce: root must be a rank in [0, {self.group.size}), got {root!r}")
        self.optimizer, self.module, self.root = optimizer, module, root
        params = optimizer.params
        _check_same_parameters(self.group, params)
        broadcast_parameters(params, root)
        if module is not None:
            sync_buffers(module, root)
        self.buckets: list[Bucket] = make_buckets(params, int(bucket_cap_mb * 2**20))
        self.allreduce_seconds = 0.0
        self.calls = 0
        self._handle = optimizer.register_step_pre_hook(self._before_step) if self.group.size > 1 else None

    def _before_step(self, optimizer: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.reduce_gradients()
        if self.module is not None:
            sync_buffers(self.module, self.root)

    def reduce_gradients(self) -> None:
        """Average every parameter's gradient across ranks, bucket by bucket (what the hook does
        before each step; call it yourself to inspect the averaged gradients)."""
        start = time.perf_counter()
        size, group = self.group.size, self.group
        for bucket in self.buckets:
            backend = bucket.backend
            communicator = group.communicator(backend)
            flat = bucket.pack()
            with backend.scope():
                reduced = communicator.all_reduce(flat, "sum")
                reduced /= size
            bucket.unpack(reduced)
        self.allreduce_seconds += time.perf_counter() - start
        self.calls += 1

    def remove(self) -> None:
        """Stop averaging: the optimizer steps on local gradients again."""
        if self._handle is not None:
            self._handle.remove()
            self._handle = None

    def __repr__(self) -> str:
        total = sum(bucket.nbytes for bucket in self.buckets) / 2**20
        return (f"GradientAllReduce(rank {self.group.rank} of {self.group.size}, "
                f"{len(self.buckets)} bucket(s), {total:.2f} MiB of gradients)")


def _check_same_parameters(group: World, params: Sequence[Param]) -> None:
    """Raise on every rank (the same error) unless all ranks hold the same parameter list."""
    mine = [(param.shape, param.dtype.name) for param in params]
    everyone = group.all_objects(mine)
    reference = everyone[0]
    for rank, theirs in enumerate(everyone):
        if theirs == reference:
            continue
        if len(theirs) != len(reference):
            detail = f"rank 0 has {len(reference)} parameters, rank {rank} has {len(theirs)}"
        else:
            index = next(i for i, (a, b) in enumerate(zip(reference, theirs)) if a != b)
            detail = (f"parameter {index} is {reference[index][0]} {reference[index][1]} on rank 0 "
                      f"but {theirs[index][0]} {theirs[index][1]} on rank {rank}")
        raise ValueError(
            f"GradientAllReduce: the ranks do not train the same model: {detail}; build the same "
            f"model and optimizer on every rank"
        )
