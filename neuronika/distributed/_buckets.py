"""Gradient buckets: many parameters' gradients packed into one flat buffer, so that one
collective call moves them all.

A bucket holds parameters of one backend and one dtype, in the order given (the optimizer's
order reversed, as PyTorch's DDP does: the last layers' gradients are the first ones backward
finishes), up to ``cap_bytes`` of gradients; a parameter larger than the cap gets a bucket of
its own. ``pack`` copies every gradient into the bucket's flat buffer (zeros for a parameter
that received none, which the optimizers read as zeros anyway); ``unpack`` points each
parameter's gradient at its slice of the reduced buffer (a view, no copy). The packing is the
same for every communicator, MPI or NCCL.
"""

from __future__ import annotations

from typing import Any, Sequence

from ..autograd import Param
from ..autograd.node import Leaf
from ..backends import Backend, DType

__all__ = ["Bucket", "make_buckets"]


class Bucket:
    """Parameters of one backend and dtype whose gradients travel together."""

    __slots__ = ("backend", "dtype", "nodes", "slices", "shapes", "numel", "flat")

    def __init__(self, backend: Backend, dtype: DType, nodes: Sequence[Leaf]) -> None:
        self.backend, self.dtype, self.nodes = backend, dtype, list(nodes)
        self.slices: list[slice] = []
        self.shapes = [node.shape for node in self.nodes]
        offset = 0
        for shape in self.shapes:
            size = _numel(shape)
            self.slices.append(slice(offset, offset + size))
            offset += size
        self.numel = offset
        with backend.scope():
            self.flat = backend.xp.zeros(
                (offset,), dtype=backend.dtype(dtype), device=backend.native_device
            )

    @property
    def nbytes(self) -> int:
        return self.numel * self.dtype.itemsize

    def pack(self) -> Any:
        """Copy every gradient into the flat buffer and return it."""
        flat, xp = self.flat, self.backend.xp
        with self.backend.scope():
            for node, where in zip(self.nodes, self.slices):
                grad = node.grad
                if grad is None:
                    flat[where] = 0.0
                else:
                    flat[where] = xp.reshape(grad, (-1,))
        return flat

    def unpack(self, reduced: Any) -> None:
        """Make each parameter's gradient its slice of ``reduced`` (a view of it)."""
        xp = self.backend.xp
        with self.backend.scope():
            for node, where, shape in zip(self.nodes, self.slices, self.shapes):
                node.grad = xp.reshape(reduced[where], shape)
                node.owns_grad = False  # the next backward adds into a fresh array, not the bucket

    def __repr__(self) -> str:
        return (f"Bucket({len(self.nodes)} parameters, {self.numel} {self.dtype} values, "
                f"{self.nbytes / 2**20:.2f} MiB, {self.backend.device})")


def make_buckets(params: Sequence[Param], cap_bytes: int) -> list[Bucket]:
    """Buckets of ``params`` taken in reverse order, grouped by backend and dtype, each up to
    ``cap_bytes`` of gradients (a larger parameter alone)."""
    open_groups: dict[tuple[int, str], list[Leaf]] = {}
    sizes: dict[tuple[int, str], int] = {}
    order: list[tuple[Backend, DType, list[Leaf]]] = []
    for param in reversed(list(params)):
        node = param._node
        key = (id(node.backend), node.dtype.name)
        nbytes = _numel(node.shape) * node.dtype.itemsize
        group = open_groups.get(key)
        if group is None or (group and sizes[key] + nbytes > cap_bytes):
            group = open_groups[key] = []
            sizes[key] = 0
            order.append((node.backend, node.dtype, group))
        group.append(node)
        sizes[key] += nbytes
    return [Bucket(backend, dtype, nodes) for backend, dtype, nodes in order]


def _numel(shape: Sequence[int]) -> int:
    size = 1
    for dim in shape:
        size *= dim
    return size
