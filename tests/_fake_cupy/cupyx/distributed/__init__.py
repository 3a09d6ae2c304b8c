"""``cupyx.distributed`` of the CuPy stand-in: ``NCCLBackend`` with CuPy 14's documented signature
and argument rules, its collectives done by mpi4py on the arrays' host payloads.

Modelled (from CuPy's ``cupyx/distributed/_nccl_comm.py`` and the NCCL API): the ``use_mpi=True``
set-up (a barrier on ``MPI.COMM_WORLD``, rank 0's NCCL id broadcast, a communicator bound to the
GPU current at creation); ``all_reduce(in_array, out_array, op='sum', stream=None)``,
``broadcast(in_out_array, root=0, stream=None)``, ``all_gather(in_array, out_array, count,
stream=None)`` and ``barrier()``; the errors CuPy raises for a non-contiguous array
(``RuntimeError``), a dtype NCCL lacks (``TypeError``) and an unknown op (``RuntimeError``); and
NCCL's refusal of an array on another GPU than the communicator's. Not modelled: the TCP-store
set-up (``use_mpi=False``), streams (the collectives are synchronous), sparse arrays and the other
collectives. It proves that neuronika calls the API as documented, not NCCL's speed or numerics.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cupy import _state
from cupy._core import ndarray

__all__ = ["NCCLBackend"]

_NCCL_DTYPES = set("bBiIlLqQefdFD")
_OPS = ("sum", "prod", "max", "min")


class NCCLBackend:
    """``NCCLBackend(n_devices, rank, host='127.0.0.1', port=13333, use_mpi=False)``."""

    def __init__(self, n_devices: int, rank: int, host: str = "127.0.0.1", port: int = 13333, use_mpi: bool = False) -> None:
        if not use_mpi:
            raise NotImplementedError("the CuPy stand-in models NCCLBackend(use_mpi=True) only (no TCP store)")
        from mpi4py import MPI

        self._MPI = MPI
        self._mpi_comm = MPI.COMM_WORLD
        if not 0 <= rank < n_devices or self._mpi_comm.Get_size() != n_devices:
            raise RuntimeError(
                f"NCCL error: invalid argument (rank {rank} of {n_devices} devices, "
                f"{self._mpi_comm.Get_size()} MPI processes)"
            )
        self._mpi_comm.Barrier()
        nccl_id = tuple(range(-64, 64)) if self._mpi_comm.Get_rank() == 0 else None
        self._nccl_id = self._mpi_comm.bcast(nccl_id, root=0)
        self.rank, self._n_devices = rank, n_devices
        self._device_id = _state.current()  # ncclCommInitRank binds the communicator to this GPU

    def _payload(self, array: Any) -> np.ndarray:
        if not isinstance(array, ndarray):
            raise TypeError(f"NCCLBackend: expected cupy.ndarray, got {type(array).__name__}")
        if not array.flags.c_contiguous and not array.flags.f_contiguous:
            raise RuntimeError("NCCL requires arrays to be either c- or f-contiguous")
        if array.dtype.char not in _NCCL_DTYPES:
            raise TypeError(f"Unknown dtype {array.dtype} for NCCL")
        if array._device_id != self._device_id:
            raise RuntimeError(
                f"NCCL error: invalid usage (an array on GPU {array._device_id} given to the "
                f"communicator of GPU {self._device_id})"
            )
        return array._a

    def _op(self, op: str) -> Any:
        if op not in _OPS:
            raise RuntimeError(f"Unknown op {op} for NCCL")
        return {"sum": self._MPI.SUM, "prod": self._MPI.PROD, "max": self._MPI.MAX, "min": self._MPI.MIN}[op]

    def all_reduce(self, in_array: Any, out_array: Any, op: str = "sum", stream: Any = None) -> None:
        source, target, mpi_op = self._payload(in_array), self._payload(out_array), self._op(op)
        if source is target:
            self._mpi_comm.Allreduce(self._MPI.IN_PLACE, target, op=mpi_op)
        else:
            self._mpi_comm.Allreduce(np.ascontiguousarray(source), target, op=mpi_op)

    def broadcast(self, in_out_array: Any, root: int = 0, stream: Any = None) -> None:
        self._mpi_comm.Bcast(self._payload(in_out_array), root=root)

    def all_gather(self, in_array: Any, out_array: Any, count: int, stream: Any = None) -> None:
        source, target = self._payload(in_array), self._payload(out_array)
        if target.size < count * self._n_devices or source.size < count:
            raise RuntimeError("NCCL error: invalid argument (all_gather buffers smaller than count)")
        self._mpi_comm.Allgather(np.ascontiguousarray(source.reshape(-1)[:count]), target.reshape(-1)[: count * self._n_devices])

    def barrier(self) -> None:
        self._mpi_comm.Barrier()
