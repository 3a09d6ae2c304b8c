"""Pictures of the graph: Graphviz DOT text, rendered files and a plain-text tree.

A variable is the root of the graph that computes it. :func:`to_dot` writes that graph in the
`DOT language <https://graphviz.org/doc/info/lang.html>`_ with no dependency: one vertex per
node (leaves and ops), one edge per input, drawn from the inputs towards the root. Each vertex
shows the op's name, the shape, dtype and device of its value; differentiable vertices are
filled, parameters are named after the attribute that holds them when a
:class:`~neuronika.nn.Module` is given (``fc1.weight``), and variables named by the caller
(``names={"x": x}``) carry their names. :func:`render` hands the text to Graphviz's ``dot``
program for an SVG, PNG or PDF file, and :func:`summary` (``Var.graph_summary()``) prints the
same graph as an indented tree, as the Rust crate's ``Display`` does.

>>> import neuronika as nk
>>> x = nk.ones((2, 3))
>>> w = nk.ones((3, 1)).requires_grad()
>>> print(nk.viz.summary(x.mm(w).sum(), names={"x": x, "w": w}))
sum () float32 cpu ∂
└── mm (2, 1) float32 cpu ∂
    ├── x (2, 3) float32 cpu
    └── w (3, 1) float32 cpu ∂ parameter
"""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import TYPE_CHECKING, Mapping

from .autograd import Var
from .autograd.node import Node

if TYPE_CHECKING:
    from .nn import Module

__all__ = ["to_dot", "render", "summary"]

#: fill colours: differentiable ops, parameters (differentiable leaves), constant leaves
_OP_FILL, _PARAMETER_FILL, _CONSTANT_FILL = "#dbe9f6", "#fde2c4", "#eeeeee"
_RENDERERS = ("svg", "png", "pdf")


def _names(root: Var, module: "Module | None", names: "Mapping[str, Var] | None") -> dict[int, str]:
    """Node id -> label name: the module's parameter names, then the caller's names."""
    labels: dict[int, str] = {}
    if module is not None:
        for name, param in module.named_parameters():
            labels[id(param._node)] = name
    for name, var in (names or {}).items():
        if not isinstance(var, Var):
            raise TypeError(f"viz: names[{name!r}] must be a neuronika variable, got {type(var).__name__}")
        labels[id(var._node)] = name
    return labels


def _root(root: Var, caller: str) -> Node:
    if not isinstance(root, Var):
        raise TypeError(f"{caller}: expected a neuronika variable (Var or VarDiff), got {type(root).__name__}")
    return root._node


def _describe(node: Node, labels: Mapping[int, str]) -> tuple[str, str]:
    """``(title, kind)``: the name shown first, and ``parameter`` / ``input`` / ``op``."""
    name = labels.get(id(node))
    if node.is_leaf:
        kind = "parameter" if node.differentiable else "input"
        return (name or kind), kind
    return (f"{name} = {node.name}" if name else node.name), "op"


def _meta(node: Node) -> str:
    return f"{node.shape} {node.dtype} {node.backend.device}"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(
    root: Var,
    module: "Module | None" = None,
    names: "Mapping[str, Var] | None" = None,
    graph_name: str = "neuronika",
) -> str:
    """The graph that computes ``root``, as Graphviz DOT text (no dependency needed).

    Vertices are named ``n0, n1, ...`` in topological order (the root last); the label of each
    holds its title (the op's name, or ``parameter`` / ``input`` for a leaf, prefixed by its
    name from ``module`` or ``names``), then ``shape dtype device``. Differentiable vertices are
    filled (``∂`` in the tooltip), parameters in orange, constant leaves in grey; the root is
    drawn with a double border. Edges run from each input to the op that uses it, labelled with
    the input's position when an op has several.

    :param root: the variable whose graph to draw (a ``Var`` or ``VarDiff`` of any shape).
    :param module: a :class:`~neuronika.nn.Module` whose parameter names label the leaves.
    :param names: extra labels for variables of the graph, e.g. ``{"x": x, "target": y}``.
    :param graph_name: the DOT graph's identifier.
    :returns: the DOT source, one statement per line.

    >>> import neuronika as nk
    >>> x = nk.ones((2, 3))
    >>> print(nk.viz.to_dot(x.sum()).splitlines()[0])
    digraph neuronika {
    """
    top = _root(root, "to_dot")
    labels = _names(root, module, names)
    nodes = top.ancestors()
    index = {id(node): i for i, node in enumerate(nodes)}
    lines = [
        f"digraph {graph_name} {{",
        "  rankdir=BT;",
        '  node [shape=box, style="rounded,filled", fillcolor=white, fontname="Helvetica", fontsize=10];',
        '  edge [fontname="Helvetica", fontsize=8];',
    ]
    for i, node in enumerate(nodes):
        title, kind = _describe(node, labels)
        attrs = [f"label={_quote(title + chr(10) + _meta(node))}"]
        if kind == "parameter":
            attrs.append(f'fillcolor="{_PARAMETER_FILL}"')
        elif node.differentiable:
            attrs.append(f'fillcolor="{_OP_FILL}"')
        elif kind == "input":
            attrs.append(f'fillcolor="{_CONSTANT_FILL}"')
        attrs.append(f"tooltip={_quote(kind + (' ∂' if node.differentiable else ''))}")
        if node is top:
            attrs.append("peripheries=2")
        lines.append(f"  n{i} [{', '.join(attrs)}];")
    for i, node in enumerate(nodes):
        several = len(node.inputs) > 1
        for position, parent in enumerate(node.inputs):
            label = f" [label={_quote(str(position))}]" if several else ""
            lines.append(f"  n{index[id(parent)]} -> n{i}{label};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_program() -> str | None:
    return shutil.which("dot")


def render(
    root: Var,
    path: "str | os.PathLike[str]",
    module: "Module | None" = None,
    names: "Mapping[str, Var] | None" = None,
) -> str:
    """Draw the graph of ``root`` into ``path`` with Graphviz; the format is the file's suffix
    (``.svg``, ``.png`` or ``.pdf``). Needs Graphviz's ``dot`` program on ``PATH``
    (``apt-get install graphviz``, ``brew install graphviz``, ``conda install graphviz``); no
    Python package is needed (pip packages of Graphviz's bindings call the same program).

    :param root: the variable whose graph to draw.
    :param path: the file to write; its suffix chooses the format.
    :param module: a Module whose parameter names label the leaves (as :func:`to_dot`).
    :param names: extra labels for variables (as :func:`to_dot`).
    :returns: the path written, as a string.
    :raises RuntimeError: when ``dot`` is not installed (the DOT text can still be written
        with :func:`to_dot` and drawn elsewhere).

    >>> nk.viz.render(loss, "graph.svg")  # doctest: +SKIP
    'graph.svg'
    """
    target = os.fspath(path)
    fmt = os.path.splitext(target)[1].lstrip(".").lower()
    if fmt not in _RENDERERS:
        raise ValueError(f"render: cannot tell the format of {target!r}; end the path with one of " + ", ".join("." + f for f in _RENDERERS))
    source = to_dot(root, module=module, names=names)
    program = _dot_program()
    if program is None:
        raise RuntimeError(
            "render: Graphviz's 'dot' program was not found on PATH. Install Graphviz "
            "(apt-get install graphviz, brew install graphviz or conda install graphviz), or write "
            "nk.viz.to_dot(root) to a .dot file and draw it elsewhere (e.g. an online DOT viewer)"
        )
    completed = subprocess.run([program, f"-T{fmt}", "-o", target], input=source.encode(), capture_output=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"render: dot failed with exit status {completed.returncode}: {completed.stderr.decode(errors='replace').strip()}")
    return target


def summary(root: Var, module: "Module | None" = None, names: "Mapping[str, Var] | None" = None) -> str:
    """The graph of ``root`` as an indented text tree, the root first (the crate's ``Display``).

    Each line shows the node's title (as :func:`to_dot`), ``shape dtype device``, ``∂`` for a
    differentiable node and ``parameter`` for a differentiable leaf. A node used by several ops
    is printed in full once; later uses show ``(see #k)``, where ``#k`` numbers it at its first
    appearance.

    :param root: the variable whose graph to print.
    :param module: a Module whose parameter names label the leaves.
    :param names: extra labels for variables, e.g. ``{"x": x}``.
    :returns: one line per use of a node, without a trailing newline.

    >>> import neuronika as nk
    >>> x = nk.ones(3)
    >>> print(nk.viz.summary(x * x))
    mul (3,) float32 cpu
    ├── #1 input (3,) float32 cpu
    └── (see #1)
    """
    top = _root(root, "graph_summary")
    labels = _names(root, module, names)
    shared = _shared(top)
    numbers: dict[int, int] = {}
    lines: list[str] = []
    # iterative depth-first walk: deep graphs (an unrolled RNN) must not hit the recursion limit
    stack: list[tuple[Node, str, str]] = [(top, "", "")]
    while stack:
        node, lead, indent = stack.pop()
        if id(node) in numbers:
            lines.append(f"{lead}(see #{numbers[id(node)]})")
            continue
        title, kind = _describe(node, labels)
        tag = ""
        if id(node) in shared:
            numbers[id(node)] = len(numbers) + 1
            tag = f"#{numbers[id(node)]} "
        marks = (" ∂" if node.differentiable else "") + (" parameter" if kind == "parameter" else "")
        lines.append(f"{lead}{tag}{title} {_meta(node)}{marks}")
        count = len(node.inputs)
        for position in reversed(range(count)):
            last = position == count - 1
            stack.append((node.inputs[position], indent + ("└── " if last else "├── "), indent + ("    " if last else "│   ")))
    return "\n".join(lines)


def _shared(root: Node) -> set[int]:
    """Ids of the nodes that are inputs of more than one use (printed once, then referenced)."""
    uses: dict[int, int] = {}
    for node in root.ancestors():
        for parent in node.inputs:
            uses[id(parent)] = uses.get(id(parent), 0) + 1
    return {key for key, count in uses.items() if count > 1}
