"""NCCL collectives for CuPy arrays, through ``cupyx.distributed.NCCLBackend``.

The arrays never leave the GPU: NCCL reduces them device to device (NVLink, PCIe or the network
with GPU-direct). The NCCL unique id is exchanged over MPI (``use_mpi=True``: rank 0 of
``MPI.COMM_WORLD`` creates it and mpi4py broadcasts it), so no TCP rendezvous server is started.
Each collective is enqueued on the current CUDA stream of the backend's device, after the
kernels of the backward pass that produced the gradients (same stream, so in order).

``neuronika.distributed`` picks this communicator for CuPy arrays through
``CupyBackend.communicator``; ``init(communicator="mpi")`` bypasses it (host copies over MPI).
"""

from __future__ import annotations

from typing import Any

import cupy

from ._base import Backend

_HINT = 'use neuronika.distributed.init(communicator="mpi") to send CuPy arrays through MPI instead'


class NcclCommunicator:
    """All-reduce, broadcast, all-gather and barrier of one CuPy device's arrays over NCCL."""

    name = "nccl"

    def __init__(self, world: Any, backend: Backend) -> None:
        from mpi4py import MPI

        if world.Compare(MPI.COMM_WORLD) not in (MPI.IDENT, MPI.CONGRUENT):
            raise RuntimeError(
                "distributed: NCCL through cupyx.distributed exchanges its id over MPI.COMM_WORLD, "
                f"but the group is another communicator; {_HINT}"
            )
        try:
            from cupyx.distributed import NCCLBackend
        except ImportError as error:
            raise RuntimeError(f"distributed: cupyx.distributed (NCCL) is unavailable: {error}; {_HINT}") from error
        self.backend = backend
        self.size = int(world.Get_size())
        with backend.native_device:
            self._nccl = NCCLBackend(self.size, int(world.Get_rank()), use_mpi=True)

    def _contiguous(self, array: Any) -> Any:
        return array if array.flags.c_contiguous else cupy.ascontiguousarray(array)

    def all_reduce(self, array: Any, op: str) -> Any:
        with self.backend.native_device:
            buffer = self._contiguous(array)
            self._nccl.all_reduce(buffer, buffer, op)
            return buffer

    def broadcast(self, array: Any, root: int) -> Any:
        with self.backend.native_device:
            buffer = self._contiguous(array)
            self._nccl.broadcast(buffer, root)
            return buffer

    def all_gather(self, array: Any) -> Any:
        with self.backend.native_device:
            buffer = self._contiguous(array)
            out = cupy.empty((self.size, *buffer.shape), dtype=buffer.dtype)
            self._nccl.all_gather(buffer, out, buffer.size)
            return out

    def barrier(self) -> None:
        self._nccl.barrier()
