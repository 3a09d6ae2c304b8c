"""Every public name is documented, with an example, and shown in the API reference.

Public names: ``neuronika.__all__`` and the ``__all__`` of ``nn``, ``nn.init``, ``nn.loss``,
``optim``, ``optim.lr_scheduler``, ``data`` and ``viz``, plus every public method and property
of ``Var``, ``VarDiff`` and ``Param``. A new op, layer or optimizer without a docstring (or
missing from docs/api.md) fails here; test_doctests.py runs the examples.
"""

from __future__ import annotations

import importlib
import inspect
import pathlib
import re

import pytest

import neuronika as nk

ROOT = pathlib.Path(__file__).resolve().parents[1]
NAMESPACES = (
    "neuronika", "neuronika.nn", "neuronika.nn.init", "neuronika.nn.loss", "neuronika.optim",
    "neuronika.optim.lr_scheduler", "neuronika.data", "neuronika.viz", "neuronika.nn.utils",
)
VARIABLE_CLASSES = (nk.Var, nk.VarDiff, nk.Param)


def _public_names() -> list[tuple[str, object]]:
    found = []
    for namespace in NAMESPACES:
        module = importlib.import_module(namespace)
        names = getattr(module, "__all__", None)
        if names is None:
            names = [n for n, v in vars(module).items() if not n.startswith("_") and getattr(v, "__module__", None) == namespace]
        found += [(f"{namespace}.{name}", getattr(module, name)) for name in names]
    return found


def _members() -> list[tuple[str, object]]:
    """The public methods and properties that Var, VarDiff and Param define themselves."""
    found = []
    for cls in VARIABLE_CLASSES:
        for name, value in vars(cls).items():
            if not name.startswith("_") and (callable(value) or isinstance(value, property)):
                found.append((f"{cls.__name__}.{name}", value))
    return found


def _needs_example(obj: object) -> bool:
    if inspect.ismodule(obj) or isinstance(obj, property):
        return False
    if isinstance(obj, type) and issubclass(obj, BaseException):
        return False
    return callable(obj)


def _doc(obj: object) -> str:
    return (obj.__doc__ or "") if not isinstance(obj, (nk.DType, nk.Device)) else type(obj).__doc__ or ""


PUBLIC = _public_names()
MEMBERS = _members()


def test_the_public_lists_are_not_empty():
    # guards the collection itself: the checks below would pass vacuously on an empty list
    assert len(PUBLIC) > 80 and len(MEMBERS) > 50
    assert "Var.relu" in dict(MEMBERS) and "neuronika.nn.Conv2d" in dict(PUBLIC)


@pytest.mark.parametrize("name, obj", PUBLIC + MEMBERS, ids=[n for n, _ in PUBLIC + MEMBERS])
def test_every_public_name_has_a_docstring(name, obj):
    assert _doc(obj).strip(), f"{name} has no docstring: add one line of what it computes, the shapes and an example"


@pytest.mark.parametrize(
    "name, obj",
    [(n, o) for n, o in PUBLIC + [m for m in MEMBERS if not m[0].startswith("Param.")] if _needs_example(o)],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_every_public_function_and_class_has_an_example(name, obj):
    assert ">>>" in _doc(obj), f"{name}: its docstring has no example (a '>>>' line, run by test_doctests.py)"


def _reference_directives() -> list[tuple[str, list[str] | None]]:
    """``(path, members or None)`` of every ``::: path`` block in docs/api.md."""
    text = (ROOT / "docs" / "api.md").read_text()
    directives = []
    for block in re.split(r"\n(?=::: )", text):
        head = re.match(r"::: ([\w.]+)", block)
        if not head:
            continue
        members = re.search(r"members: \[([^\]]*)\]", block)
        directives.append((head[1], [m.strip() for m in members[1].split(",")] if members else None))
    return directives


def _shown(name: str, obj: object, directives: list[tuple[str, list[str] | None]]) -> bool:
    """Whether a ``:::`` block renders ``obj``: the block names it, or names the module that
    defines it, or names a module that re-exports it (in ``__all__``, or in ``members``)."""
    module, qualname = obj.__module__, obj.__qualname__  # type: ignore[attr-defined]
    short = name.rsplit(".", 1)[1]
    for target, members in directives:
        if target in (name, f"{module}.{qualname}"):
            return True
        if members is None and target == module:
            return True
        try:
            owner = importlib.import_module(target)
        except ImportError:
            continue
        # mkdocstrings shows what a module re-exports in its __all__, or what ``members`` lists
        listed = short in (getattr(owner, "__all__", ()) if members is None else members)
        if listed and getattr(owner, short, None) is obj:
            return True
    return False


@pytest.mark.parametrize("name, obj", [(n, o) for n, o in PUBLIC if not inspect.ismodule(o)], ids=lambda v: v if isinstance(v, str) else "")
def test_every_public_name_is_in_the_api_reference(name, obj):
    if isinstance(obj, (nk.DType, nk.Device)):
        name, obj = "neuronika.DType" if isinstance(obj, nk.DType) else "neuronika.Device", type(obj)
    assert _shown(name, obj, _reference_directives()), (
        f"{name} (defined in {obj.__module__}) is not shown by docs/api.md: add it to a '::: {obj.__module__}' block"
    )
