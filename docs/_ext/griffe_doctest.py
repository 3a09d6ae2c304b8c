"""A Griffe extension for the API reference.

- The ``>>>`` examples of docstrings become Python console code blocks (the Sphinx-style
  docstring parser leaves them as text, which Markdown reads as nested quotes and ``[...]``
  outputs as links).
- The ops that ``Var`` binds from the family files' functions (``relu = activation.relu``)
  show as methods: their first parameter, the variable itself, is left out of the signature.
"""

from __future__ import annotations

from typing import Any

from griffe import Extension, Object


def fence_examples(text: str) -> str:
    """Wrap every run of non-blank lines that starts with a ``>>>`` line in a ``pycon`` fence."""
    lines = text.split("\n")
    result: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if not line.lstrip().startswith(">>>"):
            result.append(line)
            index += 1
            continue
        indent = line[: len(line) - len(line.lstrip())]
        end = index
        while end < len(lines) and lines[end].strip():
            end += 1
        if result and result[-1].strip():
            result.append("")
        result += [f"{indent}```pycon", *lines[index:end], f"{indent}```"]
        index = end
    return "\n".join(result)


VARIABLE_CLASSES = ("neuronika.autograd.variable.Var", "neuronika.autograd.variable.VarDiff")


class DoctestBlocks(Extension):
    """Fence the ``>>>`` examples of every docstring; show the variables' bound ops as methods."""

    def on_object(self, *, obj: Object, **kwargs: Any) -> None:
        docstring = obj.docstring
        if docstring is not None and ">>>" in docstring.value:
            docstring.value = fence_examples(docstring.value)
        if obj.path in VARIABLE_CLASSES:
            for member in obj.members.values():
                target = member.final_target if member.is_alias else member  # type: ignore[union-attr]
                if target.is_function:
                    parameters = target.parameters  # type: ignore[union-attr]
                    if len(parameters) and parameters[0].name not in ("self", "cls"):
                        del parameters[0]
