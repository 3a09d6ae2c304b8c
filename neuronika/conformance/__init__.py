"""The backend conformance suite: does neuronika's graph, nn and optim code work on a backend?

An array-library author registers a backend (``nk.backends.register``) and runs::

    python -m neuronika.conformance mypkg.backend:create        # a factory ``create(index)``
    python -m neuronika.conformance path/to/my_backend.py:create
    python -m neuronika.conformance cpu array_api_strict         # registered device strings

or, from Python, :func:`run` (``report = run("jax"); print(report.render())``). Nothing in
neuronika's own ``tests/`` is needed. The suite checks, per backend, grouped by area:

* ``capabilities``: what the Array API standard lacks (``asarray`` from host data and from
  another library through DLPack, ``to_host``, ``owns``, ``scope``, random numbers and
  ``manual_seed`` reproducibility, ``get/set_rng_state``, scatter-add) and the declarations
  (mutable arrays, dtypes, native operations);
* ``kernels``: every named kernel as the backend runs it (its override, or the generic kernel,
  or the generic kernel's functional form on an immutable backend) against the generic kernel
  on the reference device;
* ``ops``: a table of ops, values against the reference device and a float64 gradcheck;
* ``training``: models that train (loss falls; accuracy on scikit-learn's digits, or on a
  synthetic set when scikit-learn is absent), and every optimizer's update rule;
* ``state``: parameters, optimizer state and gradients moved to and from the CPU;
* ``checkpoints``: save, load onto the device, resume bit for bit;
* ``errors``: the error contract (dtype and device mismatches, missing dtypes).

Each check ends *provided* (the backend's own implementation works), *fallback* (neuronika's
generic path runs and agrees), *skipped* (with the reason, e.g. a capability the backend
declares it lacks) or *failed* (with the first line of the error). The reference device is
``cpu`` (NumPy), or ``array_api_strict`` when the backend under test is ``cpu``.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from typing import Any, Callable, Iterable, Sequence

from .. import backends
from ._report import AREAS, Check, Outcome, Report, Skip, fallback, passed, provided

__all__ = ["AREAS", "Outcome", "Report", "Skip", "load", "run"]


def load(spec: str) -> str:
    """The device string for ``spec``: a registered device (``"cpu"``, ``"jax:1"``), or
    ``"module:factory"`` / ``"path/to/file.py:factory"``, whose module is imported (it may
    register itself) and whose ``factory(index)`` is registered under the backend's ``name``."""
    target, colon, attribute = spec.rpartition(":")
    if not colon or not attribute.isidentifier() or not target or target.isdigit():
        backends.Device(spec)  # raises ValueError listing the registered backends
        return spec
    if target.endswith(".py") or os.sep in target:
        name = os.path.splitext(os.path.basename(target))[0]
        location = importlib.util.spec_from_file_location(name, target)
        if location is None or location.loader is None:
            raise ValueError(f"conformance: cannot import {target!r}")
        module = importlib.util.module_from_spec(location)
        sys.modules[name] = module
        location.loader.exec_module(module)
    else:
        module = importlib.import_module(target)
    factory = getattr(module, attribute)
    backend = factory(0)
    if not isinstance(backend, backends.Backend):
        raise TypeError(f"conformance: {spec} returned {type(backend).__name__}, not a neuronika Backend")
    if backends._FACTORIES.get(backend.name) is not factory:
        backends.register(backend.name, factory)
    return backend.name


def run(spec: str, areas: Iterable[str] | None = None, quick: bool = False,
        progress: Callable[[str], None] | None = None) -> Report:
    """Run the suite on one backend (see :func:`load` for ``spec``); returns the :class:`Report`.

    ``areas`` limits it to some of :data:`AREAS`; ``quick`` runs fewer cases and a shorter
    training (what neuronika's CI uses); ``progress`` receives each area's name as it starts."""
    check = prepare(spec, quick)
    report = Report(check.device, check.reference, check.backend.capabilities())
    for area in AREAS if areas is None else [area for area in AREAS if area in set(areas)]:
        if progress is not None:
            progress(area)
        state = _rng_states()
        try:
            for name, function in checks(check, area):
                report.add(check.run(area, name, function))
        finally:
            backends.set_rng_state(state)
    return report


def prepare(spec: str, quick: bool = False) -> Check:
    """Load ``spec`` and choose the reference device: what every check receives."""
    backend = backends.get(load(spec))
    reference = "array_api_strict" if backend.device == backends.Device("cpu") else "cpu"
    if reference == "array_api_strict" and "array_api_strict" not in backends.available():
        reference = "cpu"
    return Check(device=str(backend.device), backend=backend, reference=reference, quick=quick)


def checks(check: Check, area: str) -> list[tuple[str, Callable[[Check], Any]]]:
    """The ``(name, function)`` checks of ``area`` on ``check``'s backend."""
    from . import capabilities, errors, kernels, ops, training

    modules = {
        "capabilities": capabilities, "kernels": kernels, "ops": ops, "training": training,
        "state": training, "checkpoints": training, "errors": errors,
    }
    entries = modules[area].CHECKS[area]
    return list(entries(check) if callable(entries) else entries)


def _rng_states() -> dict[str, Any]:
    """The generator state of every device in use that can capture it (the suite reseeds; the
    caller's random streams are restored afterwards)."""
    states = {}
    for backend in list(backends._INSTANCES.values()):
        try:
            states[str(backend.device)] = backend.get_rng_state()
        except NotImplementedError:
            continue
    return states


__all__ += ["fallback", "passed", "provided"]
