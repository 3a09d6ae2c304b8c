"""When a value or a gradient may be released: the liveness of one graph's arrays.

``.data`` and ``.grad`` of every variable are API, but only through a handle (a ``Var`` or
``VarDiff`` object): an intermediate no live handle refers to can never be read by the user.
Such a node is **dead** for the plan made now (``Node.handles`` empty; not a leaf, not the root);
its arrays are needed only by the schedule itself, so

* its **gradient** goes as soon as its own VJP consumed it (PyTorch keeps no ``.grad`` of a
  non-leaf either);
* its **value** goes after the last forward op that reads it, unless a VJP still to run reads it
  (then after the last such VJP in the backward), when its op is ``repeatable`` (dropout and
  batch norm are not: their values stay, so that no mask is redrawn, no statistic updated twice);
* (what an op's ``_forward`` keeps only for its ``_backward``, e.g. an LSTM step's gates or the
  convolution's padded input, that ``_backward`` drops itself, for every node: the backward
  ticks the clock, so the next pass recomputes them anyway.)

What a VJP reads is declared per op class (``Node.reads_inputs``, ``Node.reads_value``; the
default is everything) and known exactly for the inline ops of the compiled plan (see
``compiled.py``). A handle made later for a node treated as dead rebuilds every plan
(:func:`revive`), and another graph sharing a released node recomputes it (its stamp is not
written). Handles that die later only leave a plan keeping more than it needs.

The interpreter (node.py) applies the same rule where it can afford it: a forward that computes
the whole graph releases dead values no VJP reads after their last reader
(:func:`forward_releases`, kept on the root per ``EPOCH``), and its backward drops a dead node's
gradient and value once the node's own VJP ran (its consumers' VJPs, the only
other readers, ran before it). Anomaly mode keeps everything.
"""

from __future__ import annotations

from typing import Any, Callable

from . import node as node_module
from .node import Node, invalidate_plans

#: ``reads(node) -> (positions of inputs whose value its VJP reads, whether it reads its own)``
Reads = Callable[[Node], "tuple[tuple[int, ...], bool]"]


def revive(node: Node) -> None:
    """A handle was made for a node a compiled plan treated as dead (released its value or
    gradient): every plan is rebuilt, keeping it from now on. (No public call reaches such a node;
    this keeps the rule safe for code that walks the graph and wraps what it finds.)"""
    node.dead = False
    invalidate_plans()


def declared_reads(node: Node) -> tuple[tuple[int, ...], bool]:
    """What ``node._backward`` reads, from its class's declarations."""
    positions = node.reads_inputs
    return (tuple(range(len(node.inputs))) if positions is None else positions), node.reads_value


class Lifetimes:
    """For one root's plan: which nodes are dead, and where each released array goes.

    * ``dead``: ids of the dead nodes (their gradients are not kept);
    * ``after_forward[i]``: nodes whose value is released once the i-th node of the forward
      schedule (``compute + [root]``) ran;
    * ``after_backward[id(n)]``: nodes whose value is released once ``n``'s VJP ran;
    * ``kept``: the ``compute`` nodes that still hold their value after the forward.
    """

    def __init__(self, root: Node, compute: list[Node], backprop: list[Node], reads: Reads) -> None:
        schedule = compute + [root]
        backward = ([root] if root.requires_grad else []) + list(reversed(backprop))
        at = {id(node): index for index, node in enumerate(backward)}
        last_use: dict[int, int] = {}  # last forward position reading the node's value
        last_read: dict[int, Node] = {}  # the last VJP (in backward order) reading it
        for index, node in enumerate(schedule):
            for operand in node.inputs:
                last_use[id(operand)] = index
            if node.requires_grad:
                positions, own = reads(node)
                readers = [node.inputs[p] for p in positions] + ([node] if own else [])
                for operand in readers:
                    previous = last_read.get(id(operand))
                    if previous is None or at[id(node)] > at[id(previous)]:
                        last_read[id(operand)] = node
        self.dead = {id(node) for node in compute if not node.handles}
        self.after_forward: dict[int, list[Node]] = {}
        self.after_backward: dict[int, list[Node]] = {}
        self.kept: list[Node] = []
        for node in compute:
            key = id(node)
            if key not in self.dead or not node.repeatable:
                self.kept.append(node)
            elif key in last_read:
                self.kept.append(node)
                self.after_backward.setdefault(id(last_read[key]), []).append(node)
            else:
                self.after_forward.setdefault(last_use[key], []).append(node)
        self.released = {id(node) for nodes in self.after_forward.values() for node in nodes}


#: an interpreted forward looks for dead values to release only in a graph where one of three
#: sampled nodes (first, middle, last) has at least this many elements: the pass costs about
#: 0.3 µs per node, a third of a small op's whole step (W3 rebuilt: 2.9 → 3.3 µs per op), and
#: frees nothing that matters when the arrays are small (compiled plans always release)
MIN_ELEMENTS = 4096


def forward_releases(root: Node, compute: list[Node]) -> "list[list[Node] | None] | None":
    """For an interpreted forward computing ``root``'s whole graph: per position of
    ``compute + [root]``, the dead values to release once that node ran (None: nothing), from
    the classes' declarations; None for a graph of small arrays (``MIN_ELEMENTS``). The values
    a VJP reads stay for the backward, which drops them. (The same rule as :class:`Lifetimes`,
    in one pass: a rebuilt graph pays it every step.)"""
    if not compute or not any(_elements(node) >= MIN_ELEMENTS for node in (compute[0], compute[len(compute) // 2], compute[-1])):
        return None
    last: dict[Node, int] = {}
    read: set[Node] = set()
    add = read.add
    for index, node in enumerate(compute + [root]):
        inputs = node.inputs
        for operand in inputs:
            last[operand] = index
        if node.requires_grad:
            positions = node.reads_inputs
            if positions is None:
                read.update(inputs)
            else:
                for position in positions:
                    add(inputs[position])
            if node.reads_value:
                add(node)
    releases: list["list[Node] | None"] = [None] * (len(compute) + 1)
    for node in compute:
        if not node.handles and node.repeatable and node not in read:
            at = last[node]
            gone = releases[at]
            if gone is None:
                releases[at] = [node]
            else:
                gone.append(node)
    return releases


def _elements(node: Node) -> int:
    size = 1
    for dim in node.shape:
        size *= dim
    return size


def releases_of(root: Node, compute: list[Node]) -> "list[Any] | None":
    """The interpreter's release lists of ``root`` (:func:`forward_releases`; None for a graph of
    small arrays), kept on the root while ``node.EPOCH`` holds: a handle made for a released
    node moves it (:func:`revive`)."""
    cached = root._releases
    if cached is not None and cached[0] == node_module.EPOCH[0]:
        return cached[1]  # type: ignore[no-any-return]
    releases = forward_releases(root, compute)
    for gone in releases or ():
        for node in gone or ():
            node.dead = True
    root._releases = (node_module.EPOCH[0], releases)
    return releases
