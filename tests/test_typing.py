"""mypy, with the strict settings of pyproject.toml, passes on the package and on the typed user
code of tests/typing/ (whose ``assert_type`` lines state what a checker infers for common calls).

The cache lives in the system's temporary directory, so a second run takes well under a second
(a cold run about 25 seconds on a loaded 2-core machine)."""

from __future__ import annotations

import getpass
import os
import pathlib
import subprocess
import sys
import tempfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _mypy(*arguments: str) -> subprocess.CompletedProcess[str]:
    cache = pathlib.Path(tempfile.gettempdir()) / f"neuronika-mypy-{getpass.getuser()}"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    command = [sys.executable, "-m", "mypy", "--cache-dir", str(cache), "--no-error-summary", *arguments]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)


def test_mypy_strict_passes_on_the_package_and_the_typed_user_code():
    pytest.importorskip("mypy", reason="mypy is not installed (pip install 'neuronika[test]')")
    result = _mypy()  # files and settings from [tool.mypy] in pyproject.toml
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_typed_user_code_would_catch_a_wrong_type(tmp_path):
    # the check is not vacuous: a wrong expectation in typed user code fails mypy
    pytest.importorskip("mypy", reason="mypy is not installed (pip install 'neuronika[test]')")
    wrong = tmp_path / "wrong.py"
    wrong.write_text(
        "from typing_extensions import assert_type\n"
        "import neuronika as nk\n"
        "assert_type(nk.ones(2).requires_grad().relu(), nk.Var)\n"
        "nk.ones(2).backward()\n"
    )
    result = _mypy("--strict", str(wrong))
    assert 'Expression is of type "VarDiff", not "Var"' in result.stdout
    assert '"Var" has no attribute "backward"' in result.stdout


def test_every_op_bound_to_var_keeps_the_operands_kind_for_checkers():
    # The ops are module functions bound to Var from a table (variable.py). For an IDE to know
    # that ``w.relu()`` of a VarDiff is a VarDiff, each is either typed ``(x: V, ...) -> V`` (a
    # unary op: the result has the operand's kind) or overloaded on the operands' kinds (a
    # binary op). A new op typed ``(x: Var) -> Var`` would silently lose the kind: this fails.
    import inspect
    import typing

    import neuronika as nk

    get_overloads = getattr(typing, "get_overloads", None)
    if get_overloads is None:
        pytest.skip("typing.get_overloads needs Python 3.11")
    bound = {
        name: function for name, function in vars(nk.Var).items()
        if inspect.isfunction(function) and function.__module__ != "neuronika.autograd.variable"
    }
    assert {"relu", "sum", "mm", "__add__", "reshape", "cat"} <= set(bound)
    # results that are never differentiable (bool and int values, Python truth) are typed Var
    never_differentiable = {
        "__lt__", "__le__", "__gt__", "__ge__", "__eq__", "__ne__", "__bool__", "__and__", "__or__",
        "__xor__", "__rand__", "__ror__", "__rxor__", "__invert__", "any", "all", "argmax", "argmin",
    }
    kind_keeping = ("V", "list[V]", "tuple[V, ...]")
    loose = [
        f"{name} ({function.__module__}.{function.__name__} -> {function.__annotations__.get('return')})"
        for name, function in bound.items()
        if name not in never_differentiable
        and function.__annotations__.get("return") not in kind_keeping and not get_overloads(function)
    ]
    assert not loose, f"ops typed without the operand's kind (use V or overloads, see docs/typing.md): {loose}"


def test_every_lazy_top_level_name_is_imported_for_type_checkers():
    # neuronika/__init__.py loads sub-packages and some functions on first use (_LAZY); without
    # an import under ``if TYPE_CHECKING:`` a checker sees them as ``object`` ("not callable")
    import ast

    import neuronika

    tree = ast.parse((ROOT / "neuronika" / "__init__.py").read_text())
    typed: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for statement in node.body:
                if isinstance(statement, (ast.Import, ast.ImportFrom)):
                    typed |= {alias.asname or alias.name for alias in statement.names}
    missing = sorted(set(neuronika._LAZY) - typed)
    assert not missing, f"add these lazy names to the 'if TYPE_CHECKING:' imports of neuronika/__init__.py: {missing}"
