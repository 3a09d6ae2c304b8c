"""Every ```python block of the README and docs/ runs (blocks of one page run in order, in one
namespace, as a reader would paste them)."""

from __future__ import annotations

import contextlib
import io
import pathlib
import re
import warnings

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_code_blocks_run(page, tmp_path, monkeypatch):
    blocks = BLOCK.findall(page.read_text())
    if not blocks:
        pytest.skip(f"{page.name} has no python blocks")
    monkeypatch.chdir(tmp_path)  # blocks that write files write them here
    namespace: dict = {"__name__": f"docs_{page.stem}"}
    for number, code in enumerate(blocks, 1):
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # e.g. NumPy's log(0) in the anomaly example
            try:
                exec(compile(code, f"{page.name} block {number}", "exec"), namespace)
            except Exception as error:
                raise AssertionError(f"{page.name}, python block {number} failed: {error!r}\n{code}") from error


def test_the_documentation_site_builds_without_warnings(tmp_path):
    pytest.importorskip("mkdocs", reason="building the site needs the 'docs' extra")
    pytest.importorskip("mkdocstrings", reason="building the site needs the 'docs' extra")
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stdout}\n{result.stderr}"
    # the API reference shows every public method of the variables (bound from the ops' table,
    # so only the dynamic analysis of docs/api.md finds them) and the convolution layers
    import neuronika as nk

    reference = (tmp_path / "site" / "api" / "index.html").read_text()
    expected = [
        f"neuronika.autograd.variable.{cls.__name__}.{name}"
        for cls in (nk.Var, nk.VarDiff, nk.Param)
        for name, value in vars(cls).items()
        if not name.startswith("_") and (callable(value) or isinstance(value, property))
    ] + [f"neuronika.nn.conv.Conv{d}d" for d in (1, 2, 3)]
    missing = [anchor for anchor in expected if f'id="{anchor}"' not in reference]
    assert not missing, f"the API reference lacks {missing}"
    assert "&gt;&gt;&gt;" in reference and "<blockquote>" not in reference  # examples are code blocks
