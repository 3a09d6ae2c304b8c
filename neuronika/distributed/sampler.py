"""``DistributedSampler``: each rank's batches of a dataset, a disjoint shard per rank,
reshuffled every epoch with a seed all ranks share."""

from __future__ import annotations

from typing import Any, Iterator

from ..data import Dataset
from ._world import world

__all__ = ["DistributedSampler"]


class DistributedSampler:
    """The batches this rank trains on, epoch by epoch.

    Epoch ``e`` shuffles the dataset with the permutation drawn from ``seed + e`` (the same on
    every rank), gives rank ``r`` of ``W`` the samples at positions ``r, r + W, …`` of it
    (:meth:`Dataset.shard`) and cuts them into full batches of ``batch_size`` (the last partial
    batch dropped, as a replayed graph needs one batch shape). Every rank thus sees a disjoint
    shard and makes ``len(sampler)`` = ``⌊⌊N / W⌋ / batch_size⌋`` steps per epoch, the same on
    every rank, so no rank waits for another in the gradient all-reduce.

    ``rank`` and ``world_size`` default to the group's (``neuronika.distributed.init``). Call
    :meth:`set_epoch` at the start of every epoch (as with PyTorch's sampler), or iterate
    :meth:`epoch`.
    """

    def __init__(self, dataset: Dataset, batch_size: int, *, seed: int = 0,
                 rank: int | None = None, world_size: int | None = None) -> None:
        if not isinstance(dataset, Dataset):
            raise TypeError(f"DistributedSampler: expected a neuronika Dataset, got {type(dataset).__name__}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(f"DistributedSampler: batch_size must be a positive int, got {batch_size!r}")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"DistributedSampler: seed must be an int, got {seed!r}")
        group = world() if rank is None or world_size is None else None
        self.rank = rank if rank is not None else group.rank  # type: ignore[union-attr]
        self.world_size = world_size if world_size is not None else group.size  # type: ignore[union-attr]
        self.dataset, self.batch_size, self.seed = dataset, batch_size, seed
        self._epoch = 0
        dataset.shard(self.rank, self.world_size)  # validates rank / world_size / size now
        if len(self) == 0:
            raise ValueError(
                f"DistributedSampler: {len(dataset)} samples over {self.world_size} ranks give each "
                f"{len(dataset) // self.world_size}, fewer than one batch of {batch_size}; use smaller batches"
            )

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch whose shuffle the next iteration uses."""
        self._epoch = int(epoch)

    def epoch(self, epoch: int) -> Iterator[Any]:
        """The batches of ``epoch`` (sets the epoch, then iterates)."""
        self.set_epoch(epoch)
        return iter(self)

    def __len__(self) -> int:
        return (len(self.dataset) // self.world_size) // self.batch_size

    def __iter__(self) -> Iterator[Any]:
        shard = self.dataset.shard(self.rank, self.world_size, seed=self.seed + self._epoch)
        return iter(shard.batch(self.batch_size).drop_last())

    def __repr__(self) -> str:
        return (f"DistributedSampler(rank {self.rank} of {self.world_size}, {len(self)} batches of "
                f"{self.batch_size}, seed={self.seed}, epoch={self._epoch})")
