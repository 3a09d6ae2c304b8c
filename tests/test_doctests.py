"""The examples in the package's docstrings (``>>>``) run and print what they say."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import neuronika

SKIP = ("neuronika.backends.cupy", "neuronika.backends._cupy_kernels", "neuronika.backends._nccl")  # need CuPy and a GPU
MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(neuronika.__path__, "neuronika.")
    if not info.name.startswith(SKIP)
)


@pytest.mark.parametrize("name", ["neuronika", *MODULES])
def test_docstring_examples(name):
    module = importlib.import_module(name)
    # ``nk`` is in every example's namespace, so one-line examples need no import line
    result = doctest.testmod(module, extraglobs={"nk": neuronika}, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
