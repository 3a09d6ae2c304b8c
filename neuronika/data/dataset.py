"""``Dataset`` and ``LabeledDataset``: records (and labels) on a device, with shuffling,
batching, splitting and k-fold cross-validation.

A dataset holds its arrays on the device it was built for (a NumPy array for ``"cpu"``, a CuPy
array for ``"cuda"``, ...). Its first axis counts the samples: records have shape
``(N, *record_shape)`` and labels ``(N, *label_shape)``. Every operation works on the backend's
arrays through the Array API (``take``, slicing, ``concat``), so a GPU dataset never goes back to
the host. Arrays are never modified in place: ``shuffle`` rebinds, ``split`` and ``kfold`` build
new datasets, and ``batch`` yields copies, so a batch handed to ``Var.assign`` cannot alias the
dataset.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Generic, Iterator, Sequence, TypeVar


from .._args import is_integer
from ..backends._values import inspect, to_array
from .. import backends
from ..autograd import Var, from_ndarray
from ..backends import Backend, Device, DType, float32, host, to_dtype

__all__ = ["Batch", "Dataset", "KFold", "LabeledDataset"]

_D = TypeVar("_D", bound="Dataset")


def _on_device(name: str, array: Any, backend: Backend, dtype: DType) -> Any:
    """``array`` (a Var, any backend's array, nested lists) as ``backend``'s array of ``dtype``."""
    if isinstance(array, Var):
        array = array.data
    inspect(name, array)  # before any host copy, which would drop a mask or hide a dtype
    if not backend.owns(array):
        try:
            array = backends.to_host(array)
        except TypeError:
            pass  # nested lists, scalars or a foreign array: the backend converts them
    value = to_array(backend, array, dtype, name, copy=False)
    if len(value.shape) == 0:
        raise ValueError(f"{name}: must have at least one axis (the samples), got a 0-d value")
    return value


class Dataset:
    """Unlabeled records: an array of shape ``(N, *record_shape)`` on one device.

    ``Dataset(records, dtype=None, device=None)`` builds one from a NumPy, CuPy or Array API
    array, a ``Var`` or nested lists; ``dtype`` defaults to ``float32`` (as the crate's ``f32``,
    whatever the input's dtype) and ``device`` to the default device. ``DataLoader.from_csv``
    builds one from a file.

    >>> nk.data.Dataset([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]).records.shape
    (3, 2)
    """

    _names: tuple[str, ...] = ("records",)

    def __init__(self, records: Any, *, dtype: "DType | str | None" = None, device: "str | Device | None" = None) -> None:
        backend = backends.get(device)
        dt = to_dtype(dtype) if dtype is not None else float32
        self._init(backend, dt, (_on_device(f"{type(self).__name__}: records", records, backend, dt),))

    def _init(self, backend: Backend, dtype: DType, arrays: tuple[Any, ...]) -> None:
        self._backend = backend
        self._dtype = dtype
        self._arrays = arrays

    def _new(self: _D, arrays: tuple[Any, ...]) -> _D:
        """A dataset of the same kind, backend and dtype holding ``arrays`` (no conversion)."""
        other = object.__new__(type(self))
        other._init(self._backend, self._dtype, arrays)
        return other

    # --- what it holds ------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self._arrays[0].shape[0])

    def is_empty(self) -> bool:
        """Whether the dataset holds no sample."""
        return len(self) == 0

    @property
    def records(self) -> Var:
        """The records, ``(N, *record_shape)``, as a new non-differentiable leaf (a copy)."""
        return from_ndarray(self._arrays[0], dtype=self._dtype, device=self.device)

    @property
    def record_shape(self) -> tuple[int, ...]:
        """The shape of one record (the records' shape without the first axis)."""
        return tuple(int(d) for d in self._arrays[0].shape[1:])

    @property
    def device(self) -> Device:
        """The device the arrays live on."""
        return self._backend.device  # type: ignore[no-any-return]

    @property
    def dtype(self) -> DType:
        """The element type of records (and labels)."""
        return self._dtype

    def to(self: _D, device: "str | Device") -> _D:
        """A copy of the dataset on another device (the same one: ``self``)."""
        backend = backends.get(device)
        if backend is self._backend:
            return self
        other = object.__new__(type(self))
        arrays = tuple(backend.asarray(self._backend.to_host(a), self._dtype) for a in self._arrays)
        other._init(backend, self._dtype, arrays)
        return other

    def __repr__(self) -> str:
        shapes = ", ".join(f"{name}={tuple(a.shape)}" for name, a in zip(self._names, self._arrays))
        return f"{type(self).__name__}(len={len(self)}, {shapes}, dtype={self._dtype}, device={self.device})"

    # --- reordering and partitioning ----------------------------------------------------------
    def shuffle(self: _D, seed: int | None = None) -> _D:
        """Shuffle the samples **in place** (as the crate) and return the dataset, for chaining.

        Records and labels are permuted together, so pairs stay together. With ``seed=None`` the
        permutation comes from the device's generator (``nk.manual_seed`` makes it
        reproducible); with an integer seed from an independent generator seeded with it, which
        gives the same order on every backend.
        """
        n = len(self)
        if n < 2:
            return self
        if seed is None:
            order = self._backend.permutation(n)
        else:
            if not is_integer(seed):
                raise TypeError(f"shuffle: seed must be an int or None, got {seed!r}")
            if seed < 0:
                raise ValueError(f"shuffle: seed must be a non-negative int (or None), got {seed}")
            order = host.permutation(n, int(seed))
        self._arrays = self._take(order)
        return self

    def _take(self, order: Any) -> tuple[Any, ...]:
        index = self._backend.asarray(host.index_array(order))
        xp = self._backend.xp
        with self._backend.scope():
            return tuple(xp.take(a, index, axis=0) for a in self._arrays)

    def _slice(self, start: int, stop: int) -> tuple[Any, ...]:
        return tuple(a[start:stop, ...] for a in self._arrays)

    def shard(self: _D, rank: int, world_size: int, seed: int | None = None) -> _D:
        """The part of the samples that process ``rank`` of ``world_size`` trains on.

        Shards are disjoint and of equal length ``⌊N / world_size⌋``: shard ``r`` holds samples
        ``r, r + W, r + 2W, …`` (W = ``world_size``) of the dataset, or of a permutation drawn
        from ``seed`` when one is given (the same on every rank, so the shards still partition
        the data; pass ``seed + epoch`` to reshuffle every epoch). The ``N mod W`` samples left
        over are dropped (a different few each epoch when shuffled), so every rank makes the same
        number of steps. The dataset itself is left unchanged.
        """
        for name, value in (("rank", rank), ("world_size", world_size)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise TypeError(f"shard: {name} must be an int, got {value!r}")
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(f"shard: need world_size >= 1 and 0 <= rank < world_size, got rank={rank}, world_size={world_size}")
        n = len(self)
        if n < world_size:
            raise ValueError(f"shard: {n} samples cannot give each of {world_size} ranks at least one")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
            raise TypeError(f"shard: seed must be an int or None, got {seed!r}")
        order = host.permutation(n, int(seed)) if seed is not None else list(range(n))
        per_rank = n // world_size
        return self._new(self._take(order[rank : per_rank * world_size : world_size]))

    def split(self: _D, lengths: Sequence[int | float]) -> list[_D]:
        """Split into consecutive, non-overlapping datasets (in order, without shuffling:
        ``shuffle`` first for a random split).

        ``lengths`` is either sample counts (ints) summing to ``len(self)``, e.g. ``[120, 30]``,
        or fractions (floats) summing to 1, e.g. ``[0.8, 0.2]``: each split gets
        ``floor(fraction · N)`` samples and the samples left over go one each to the first
        splits. The dataset itself is left unchanged.
        """
        n = len(self)
        sizes = _split_sizes(lengths, n)
        out, start = [], 0
        for size in sizes:
            out.append(self._new(self._slice(start, start + size)))
            start += size
        return out

    def kfold(self: _D, k: int) -> "KFold[_D]":
        """K-fold cross-validation: ``k`` pairs ``(train, test)`` of datasets.

        The samples are cut, in order and without shuffling (as the crate does), into ``k``
        consecutive folds; the first ``N mod k`` folds hold ``⌈N/k⌉`` samples and the others
        ``⌊N/k⌋``. Fold ``i`` is the test set of pair ``i`` and the other folds, in order, its
        training set, so every sample is tested exactly once. Requires ``2 ≤ k ≤ N``.
        """
        return KFold(self, k)

    def batch(self, size: int) -> "Batch":
        """Batches of ``size`` consecutive samples (the last one may be smaller; see
        :meth:`Batch.drop_last`). Iterating yields backend arrays (``Dataset``) or
        ``(records, labels)`` pairs of them (``LabeledDataset``), ready for ``Var.assign``."""
        return Batch(self, size)


class LabeledDataset(Dataset):
    """Records ``(N, *record_shape)`` and their labels ``(N, *label_shape)`` on one device.

    ``LabeledDataset(records, labels, dtype=None, device=None)``: both converted to ``dtype``
    (default ``float32``; class indices are exact in it up to 2²⁴) on ``device``. They must have
    the same number of samples.

    >>> data = nk.data.LabeledDataset(nk.zeros((4, 3)), [0, 1, 0, 1]); data.records.shape, data.labels.shape
    ((4, 3), (4,))
    """

    _names = ("records", "labels")

    def __init__(
        self,
        records: Any,
        labels: Any,
        *,
        dtype: "DType | str | None" = None,
        device: "str | Device | None" = None,
    ) -> None:
        backend = backends.get(device)
        dt = to_dtype(dtype) if dtype is not None else float32
        name = type(self).__name__
        arrays = (_on_device(f"{name}: records", records, backend, dt), _on_device(f"{name}: labels", labels, backend, dt))
        if arrays[0].shape[0] != arrays[1].shape[0]:
            raise ValueError(
                f"{name}: records have {arrays[0].shape[0]} samples (shape {tuple(arrays[0].shape)}) "
                f"but labels have {arrays[1].shape[0]} (shape {tuple(arrays[1].shape)}); "
                f"the first axis counts the samples in both"
            )
        self._init(backend, dt, arrays)

    @property
    def labels(self) -> Var:
        """The labels, ``(N, *label_shape)``, as a new non-differentiable leaf (a copy)."""
        return from_ndarray(self._arrays[1], dtype=self._dtype, device=self.device)

    @property
    def label_shape(self) -> tuple[int, ...]:
        """The shape of one label (the labels' shape without the first axis)."""
        return tuple(int(d) for d in self._arrays[1].shape[1:])


def _split_sizes(lengths: Sequence[int | float], n: int) -> list[int]:
    lengths = list(lengths)
    if not lengths:
        raise ValueError("split: lengths is empty; give sample counts (e.g. [120, 30]) or fractions (e.g. [0.8, 0.2])")
    if all(is_integer(x) for x in lengths):
        counts = [int(x) for x in lengths]
        if any(c < 0 for c in counts) or sum(counts) != n:
            raise ValueError(
                f"split: lengths {counts} must be non-negative and sum to the dataset's length {n} "
                f"(they sum to {sum(counts)}); or give fractions summing to 1"
            )
        return counts
    if all(isinstance(x, float) for x in lengths):
        if any(not 0.0 <= x <= 1.0 for x in lengths) or not math.isclose(sum(lengths), 1.0, abs_tol=1e-6):
            raise ValueError(
                f"split: fractions {lengths} must lie in [0, 1] and sum to 1 (they sum to {sum(lengths)}); "
                f"or give sample counts summing to {n}"
            )
        sizes = [math.floor(x * n) for x in lengths]
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
        return sizes
    raise TypeError(
        f"split: lengths must be all ints (sample counts) or all floats (fractions), got {lengths!r}"
    )


_T = TypeVar("_T", bound=Dataset)


class Batch:
    """The batches of a dataset, in order: ``size`` samples each, the last one possibly fewer.

    Iterable any number of times (one pass per epoch); each pass reads the dataset as it is then,
    so a ``shuffle()`` between epochs shows in the next pass. ``len()`` is the number of batches.
    Items are backend arrays ``(size, *record_shape)`` for a ``Dataset`` and pairs
    ``(records, labels)`` for a ``LabeledDataset``; each is a fresh copy.

    >>> [tuple(b.shape) for b in nk.data.Dataset(nk.zeros((5, 2))).batch(2)]
    [(2, 2), (2, 2), (1, 2)]
    """

    def __init__(self, dataset: Dataset, size: int, drop_last: bool = False) -> None:
        if not is_integer(size) or size <= 0:
            raise ValueError(f"batch: the batch size must be a positive int, got {size!r}")
        self.dataset = dataset
        self.size = int(size)
        self._drop_last = drop_last

    def drop_last(self) -> "Batch":
        """The same batches without the last one when it is incomplete (a graph built once for
        ``size`` samples cannot take a smaller batch)."""
        return Batch(self.dataset, self.size, drop_last=True)

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.size if self._drop_last else -(-n // self.size)

    def __iter__(self) -> Iterator[Any]:
        dataset = self.dataset
        arrays, backend = dataset._arrays, dataset._backend
        xp = backend.xp
        labeled = len(arrays) > 1
        n = int(arrays[0].shape[0])
        for start in range(0, len(self) * self.size, self.size):
            stop = min(start + self.size, n)
            with backend.scope():
                parts = tuple(xp.asarray(a[start:stop, ...], copy=True) for a in arrays)
            yield parts if labeled else parts[0]

    def __repr__(self) -> str:
        return f"Batch(size={self.size}, batches={len(self)}, drop_last={self._drop_last})"


class KFold(Generic[_T]):
    """``k`` cross-validation pairs ``(train, test)`` of a dataset (see :meth:`Dataset.kfold`).

    Iterable any number of times; ``len()`` is ``k``; :meth:`compute_fold` builds pair ``i``
    alone. Each pass reads the dataset as it is then.

    >>> [(len(train), len(test)) for train, test in nk.data.Dataset(nk.zeros((6, 1))).kfold(3)]
    [(4, 2), (4, 2), (4, 2)]
    """

    def __init__(self, dataset: _T, k: int) -> None:
        n = len(dataset)
        if not is_integer(k) or k < 2:
            raise ValueError(f"kfold: k must be an int >= 2, got {k!r}")
        k = int(k)
        if k > n:
            raise ValueError(f"kfold: k={k} folds need at least {k} samples, the dataset has {n}")
        self.dataset = dataset
        self.k = k

    def fold_bounds(self, i: int) -> tuple[int, int]:
        """``(start, stop)``: the samples ``start ≤ j < stop`` form test fold ``i``."""
        n, k = len(self.dataset), self.k
        small, extra = divmod(n, k)
        start = i * small + min(i, extra)
        return start, start + small + (1 if i < extra else 0)

    def compute_fold(self, i: int) -> tuple[_T, _T]:
        """Pair ``i`` (``0 ≤ i < k``): ``(train, test)``, test being fold ``i``."""
        if not is_integer(i) or not 0 <= i < self.k:
            raise IndexError(f"compute_fold: fold index must be an int in [0, {self.k}), got {i!r}")
        dataset = self.dataset
        start, stop = self.fold_bounds(i)
        n = len(dataset)
        xp = dataset._backend.xp
        with dataset._backend.scope():
            train = tuple(
                xp.concat([a[:start, ...], a[stop:n, ...]], axis=0) for a in dataset._arrays
            )
        return dataset._new(train), dataset._new(dataset._slice(start, stop))

    def __len__(self) -> int:
        return self.k

    def __iter__(self) -> Iterator[tuple[_T, _T]]:
        for i in range(self.k):
            yield self.compute_fold(i)

    def __repr__(self) -> str:
        return f"KFold(k={self.k}, samples={len(self.dataset)})"
