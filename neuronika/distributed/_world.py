"""The process group: who we are (rank, size), the MPI communicator, and one collective
communicator per array backend.

``init()`` joins the processes that ``mpiexec`` started (detected from the launcher's
environment variables, so a plain ``python train.py`` never loads MPI) or, outside a launcher,
sets up a group of one process in which every collective is the identity.

Each backend gets its communicator on first use: the backend's own (``Backend.communicator``:
NCCL for CuPy arrays, its unique id exchanged over MPI) or, when the backend has none or
``init(communicator="mpi")`` asked for it, the host MPI communicator, which reduces NumPy arrays
in place and other arrays through a host copy.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from .. import backends
from ..backends import Backend, host

__all__ = ["World", "init", "world", "is_initialized", "launched_by_mpi"]

#: environment variables that MPI launchers set in every process they start
_LAUNCHER_VARIABLES = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS")
_INSTALL_HINT = 'install MPI support with pip install "neuronika[distributed]" (mpi4py and an MPI wheel)'
_OPS = ("sum", "mean", "max", "min")
_COMMUNICATORS = ("auto", "mpi")


def launched_by_mpi() -> bool:
    """Whether this process was started by an MPI launcher (``mpiexec``, ``mpirun``, ``srun``)."""
    return any(name in os.environ for name in _LAUNCHER_VARIABLES)


class LocalCommunicator:
    """The communicator of a group of one process: every collective returns its input."""

    name = "local"

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def all_reduce(self, array: Any, op: str) -> Any:
        return array

    def broadcast(self, array: Any, root: int) -> Any:
        return array

    def all_gather(self, array: Any) -> Any:
        with self.backend.scope():
            return self.backend.xp.expand_dims(array, axis=0)

    def barrier(self) -> None:
        pass


class MpiCommunicator:
    """Collectives of one backend's arrays over MPI (mpi4py's buffer interface).

    Arrays that are host buffers (``Backend.host_view``: NumPy) are reduced and broadcast in
    place, with no copy; any other array goes to the host (``to_host``), through MPI, and back
    (``asarray``), and the result is a new array.
    """

    name = "mpi"

    def __init__(self, comm: Any, backend: Backend) -> None:
        from mpi4py import MPI

        self.comm = comm
        self.backend = backend
        self._ops = {"sum": MPI.SUM, "max": MPI.MAX, "min": MPI.MIN}
        self._in_place = MPI.IN_PLACE

    def _host(self, array: Any) -> tuple[Any, bool]:
        view = self.backend.host_view(array)
        if view is not None:
            return view, True
        return host.contiguous(self.backend.to_host(array)), False

    def all_reduce(self, array: Any, op: str) -> Any:
        buffer, in_place = self._host(array)
        self.comm.Allreduce(self._in_place, buffer, op=self._ops[op])
        return array if in_place else self.backend.asarray(buffer)

    def broadcast(self, array: Any, root: int) -> Any:
        buffer, in_place = self._host(array)
        self.comm.Bcast(buffer, root=root)
        return array if in_place else self.backend.asarray(buffer)

    def all_gather(self, array: Any) -> Any:
        buffer, _ = self._host(array)
        out = host.empty((self.comm.Get_size(), *buffer.shape), like=buffer)
        self.comm.Allgather(buffer, out)
        return self.backend.asarray(out)

    def barrier(self) -> None:
        self.comm.Barrier()


class World:
    """The group of processes training together.

    ``comm`` is the mpi4py communicator (None for a group of one), ``rank`` this process's
    index in ``[0, size)``. ``communicator(backend)`` gives the collectives for that backend's
    arrays (cached).
    """

    def __init__(self, comm: Any, choice: str) -> None:
        self.comm = comm
        self.choice = choice
        self.rank = 0 if comm is None else int(comm.Get_rank())
        self.size = 1 if comm is None else int(comm.Get_size())
        self._communicators: dict[int, Any] = {}
        self._local_rank: int | None = None

    @property
    def local_rank(self) -> int:
        """This process's index among the ranks on the same machine (to choose its GPU)."""
        if self._local_rank is None:
            if self.comm is None:
                self._local_rank = 0
            else:
                from mpi4py import MPI

                node = self.comm.Split_type(MPI.COMM_TYPE_SHARED)
                self._local_rank = int(node.Get_rank())
                node.Free()
        return self._local_rank

    def communicator(self, backend: Backend) -> Any:
        found = self._communicators.get(id(backend))
        if found is None:
            if self.comm is None:
                found = LocalCommunicator(backend)
            else:
                found = backend.communicator(self.comm) if self.choice == "auto" else None
                if found is None:
                    found = MpiCommunicator(self.comm, backend)
            self._communicators[id(backend)] = found
        return found

    def all_objects(self, value: Any) -> list[Any]:
        """Every rank's ``value`` (small picklable Python objects), in rank order."""
        return [value] if self.comm is None else list(self.comm.allgather(value))

    def share(self, value: Any, root: int) -> Any:
        """Rank ``root``'s ``value`` (a small picklable object) on every rank."""
        return value if self.comm is None else self.comm.bcast(value, root=root)

    def barrier(self) -> None:
        if self.comm is not None:
            self.comm.Barrier()

    def abort(self, code: int = 1) -> None:
        if self.comm is not None:
            self.comm.Abort(code)


_WORLD: list[World | None] = [None]


def init(communicator: str = "auto", *, comm: Any = None, abort_on_error: bool = True) -> World:
    """Join the group of processes (idempotent: later calls return the same group).

    Under an MPI launcher (``mpiexec -n 4 python train.py``) the group is ``MPI.COMM_WORLD`` (or
    ``comm``, an mpi4py communicator of your own); otherwise it is this process alone, and every
    collective returns its input, so one script runs both ways.

    ``communicator`` chooses how arrays travel: ``"auto"`` lets each backend bring its own
    (NCCL for CuPy arrays) and sends the others through MPI; ``"mpi"`` sends every array through
    MPI (CuPy arrays via a host copy, for machines without NCCL).

    With ``abort_on_error`` (the default), an exception that ends any rank prints the rank and
    the error and calls ``MPI.Abort``, which stops every rank instead of leaving the others
    waiting forever in their next collective.
    """
    if communicator not in _COMMUNICATORS:
        raise ValueError(f"distributed.init: communicator must be one of {_COMMUNICATORS}, got {communicator!r}")
    current = _WORLD[0]
    if current is not None:
        if current.choice != communicator:
            raise RuntimeError(
                f"distributed.init: already initialised with communicator={current.choice!r}; "
                f"call init() once, before any collective"
            )
        return current
    if comm is None and launched_by_mpi():
        try:
            from mpi4py import MPI
        except ImportError as error:
            raise RuntimeError(
                f"distributed.init: this process was started by an MPI launcher but mpi4py is "
                f"missing ({error}); {_INSTALL_HINT}"
            ) from error
        comm = MPI.COMM_WORLD
    group = World(comm, communicator)
    _WORLD[0] = group
    if abort_on_error and group.size > 1:
        _install_abort_hook(group)
    return group


def world() -> World:
    """The current group, initialised on first use (see :func:`init`)."""
    current = _WORLD[0]
    return current if current is not None else init()


def is_initialized() -> bool:
    """Whether :func:`init` has run in this process."""
    return _WORLD[0] is not None


def _install_abort_hook(group: World) -> None:
    previous = sys.excepthook

    def abort_every_rank(kind: type[BaseException], error: BaseException, trace: Any) -> None:
        try:
            previous(kind, error, trace)
            sys.stderr.write(
                f"neuronika.distributed: rank {group.rank} of {group.size} stopped with "
                f"{kind.__name__}: {error}; aborting all {group.size} ranks (MPI.Abort) so that "
                f"none waits forever in a collective\n"
            )
            sys.stderr.flush()
        finally:
            group.abort(1)

    sys.excepthook = abort_every_rank


def check_op(op: str) -> str:
    if op not in _OPS:
        raise ValueError(f"all_reduce: op must be one of {_OPS}, got {op!r}")
    return op


def backend_of(owner: str, array: Any) -> Backend:
    try:
        return backends.owner(array)
    except TypeError:
        raise TypeError(
            f"{owner}: expected an array of a neuronika backend (var.data, a NumPy or CuPy "
            f"array), got {type(array).__name__}"
        ) from None
