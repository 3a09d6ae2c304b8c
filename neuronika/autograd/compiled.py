"""The replay compiler: a graph that is run again is planned once, as straight-line Python.

A graph built once and replayed (assign the next batch, ``forward``, ``backward``, step) is
known completely before it runs. On its second full ``forward`` a root gets a :class:`Plan`: the
forward and backward schedules written out as the source of two Python functions and compiled
with ``compile``/``exec`` (as ``torch.fx`` does), one statement block per node, the nodes bound
as closure variables. What the interpreter (``run_forward`` / ``run_backward`` in node.py) does
per node at run time is decided here once:

* no loop, no staleness test per node and no ``node.stamp`` store (the stamps are written only
  if another graph is run at the same clock and needs them, see ``node.stamp_compiled``);
* which inputs of an op require gradients (fixed when the graph is built);
* for the element-wise ops ``+ - * neg tanh`` of operands of one shape (the common case), the
  kernel is written inline, with the operands' values held in local variables, and so is the
  gradient accumulation (``Node.add_grad`` / ``Leaf.add_grad``, the same operations in the same
  order: results are bit for bit the interpreter's). Every other op, including any ``Node``
  subclass added later, is called through its own ``_forward`` / ``_backward`` (bound once).

The generated code keeps the interpreter's semantics exactly: a stale value is dropped before
its node is recomputed, the ``value`` and ``grad`` of every node a handle refers to (and of the
leaves and the root) are set as before, so ``.data`` and ``.grad`` read as they did; gradients
are reset at the start of ``backward``. An intermediate no handle refers to is dead (see
lifetimes.py): its value is not stored at all when only inline ops read it, else released right
after its last reader in the forward or the backward; its gradient stays in a local variable,
deleted once its VJP ran, or is set back to None then.

A plan bakes in the graph's structure (fixed once built), which inputs require gradients (fixed
too: a leaf that feeds an op cannot be promoted with ``requires_grad()``) and the kernels of the
inline ops. A parameter moved to another backend and a switch of the compiler bump
``node.EPOCH``; a plan made at another epoch is rebuilt. ``train`` / ``eval`` need nothing: the
nodes that depend on the mode (Dropout, BatchNorm) are called through their own methods, which
read it when they run. Values (``assign``, optimizer steps, ``Param.data = ...``) are read from
the nodes on every run, so they need no invalidation either, and an
``assign`` of another shape is refused by ``assign`` itself. Anomaly mode and a ``forward`` of a
graph some of whose nodes were already computed at the current clock (another root sharing them)
take the interpreter.

The ``out=`` capability (``Backend.supports_out``) is declared by the backends, but the plan does
not use preallocated output buffers: measured on NumPy here, ``multiply(a, b, out=c)`` costs the
same as ``multiply(a, b)`` from 16 elements (380 ns either way) to (128, 512) (4.6 µs), and is
slower on (64, 16, 24, 24) (120 against 105 µs); with the allocator keeping freed memory (the
stale value is dropped just before its node is recomputed) a fresh result reuses warm memory.
"""

from __future__ import annotations

import os
from typing import Any, Callable

from . import activation, arithmetic, reduction, shape
from .lifetimes import Lifetimes, declared_reads
from .node import Leaf, Node, invalidate_plans

#: whether replayed graphs are compiled (``set_enabled``); the interpreter is the reference
ENABLED = [True]
#: compile every graph at its first whole forward rather than its second: for running the whole
#: test suite through compiled plans (``NEURONIKA_COMPILE_ALWAYS=1``), never faster in use
ALWAYS = [os.environ.get("NEURONIKA_COMPILE_ALWAYS", "0") == "1"]


def set_enabled(enabled: bool) -> bool:
    """Switch the replay compiler on or off for graphs planned from now on; returns the old
    setting. Plans already made are dropped (a backward after switching runs the interpreter)."""
    old = ENABLED[0]
    ENABLED[0] = bool(enabled)
    invalidate_plans()
    return old


class Plan:
    """The compiled forward and backward of one root (the root itself is passed in, never held:
    holding it would make every replayed graph a reference cycle)."""

    __slots__ = ("epoch", "forward", "backward", "kept", "source", "__weakref__")

    def __init__(self, root: Node, epoch: int) -> None:
        compute, backprop = root.order()
        self.epoch = epoch
        life = Lifetimes(root, compute, backprop, _reads)
        self.kept = life.kept  # the nodes holding a value after the forward (node.stamp_compiled)
        for node in compute:
            if id(node) in life.dead:
                node.dead = True
                node.grad = None  # left by an interpreted pass: never read again
            if id(node) in life.released:
                node.value = None
        self.forward, self.backward, self.source = _generate(root, compute, backprop, life)


# --- code generation ------------------------------------------------------------------------
class _Writer:
    """Names for nodes, bound methods and kernels, and the lines of the two functions."""

    def __init__(self) -> None:
        self.bound: dict[str, Any] = {}
        self.names: dict[int, str] = {}
        self.local: dict[int, str] = {}  # node id -> local variable holding its value (forward)
        self.grads: dict[int, str] = {}  # node id -> local variable holding its gradient (backward)
        self.started: set[int] = set()  # local gradients assigned so far

    def node(self, node: Node, root: Node) -> str:
        if node is root:
            return "r"
        key = id(node)
        name = self.names.get(key)
        if name is None:
            name = self.names[key] = f"n{len(self.names)}"
            self.bound[name] = node
        return name

    def const(self, prefix: str, value: Any) -> str:
        name = f"{prefix}{len(self.bound)}"
        self.bound[name] = value
        return name

    def value(self, node: Node, root: Node) -> str:
        return self.local.get(id(node)) or f"{self.node(node, root)}.value"


def _add_grad(w: _Writer, target: Node, root: Node, expr: str, indent: str) -> list[str]:
    """Statements accumulating ``expr`` into ``target``'s gradient exactly as its ``add_grad``:
    into a local variable for a node whose contributions are all known here (``w.grads``),
    else into ``target.grad``."""
    local = w.grads.get(id(target))
    if local is not None:
        if id(target) in w.started:
            return [f"{indent}{local} = {local} + {expr}"]
        w.started.add(id(target))
        return [f"{indent}{local} = {expr}"]
    name = w.node(target, root)
    kind = type(target).add_grad
    if kind is Node.add_grad:
        return [
            f"{indent}x = {expr}",
            f"{indent}if {name}.grad is None: {name}.grad = x",
            f"{indent}else: {name}.grad = {name}.grad + x",
        ]
    if kind is Leaf.add_grad:
        return [
            f"{indent}x = {expr}",
            f"{indent}if {name}.grad is None: {name}.grad = x; {name}.owns_grad = False",
            f"{indent}elif {name}.owns_grad: {name}.grad += x",
            f"{indent}else: {name}.grad = {name}.grad + x; {name}.owns_grad = True",
        ]
    return [f"{indent}{name}.add_grad({expr})"]


# the inline ops (exact classes: a subclass may change the maths), when no operand broadcasts
_BINARY_SYMBOL = {arithmetic.Add: "+", arithmetic.Sub: "-", arithmetic.Mul: "*"}


def _inline(node: Node) -> bool:
    kind = type(node)
    if kind in _BINARY_SYMBOL:
        return node.lhs_axes is None and node.rhs_axes is None  # type: ignore[attr-defined]
    return kind is arithmetic.Neg or kind is activation.Tanh or kind is reduction.Sum


def _pushes(node: Node) -> list[Node]:
    """The inputs an inline node's VJP sends a gradient to (every one requiring it)."""
    return [n for n in node.inputs if n.requires_grad]


def _forward_expr(w: _Writer, node: Node, root: Node) -> str:
    kind = type(node)
    if kind in _BINARY_SYMBOL:
        lhs, rhs = node.inputs
        return f"{w.value(lhs, root)} {_BINARY_SYMBOL[kind]} {w.value(rhs, root)}"
    operand = w.value(node.inputs[0], root)
    if kind is arithmetic.Neg:
        return f"-{operand}"
    if kind is activation.Tanh:
        return f"{w.const('tanh', node.xp.tanh)}({operand})"
    total = f"{w.const('sum', node.xp.sum)}({operand}, axis={node.axis!r}, keepdims={node.keepdims!r})"  # type: ignore[attr-defined]
    return total if node.scale == 1.0 else f"{total} * {node.scale!r}"  # type: ignore[attr-defined]


def _backward_lines(w: _Writer, node: Node, root: Node, g: str) -> list[str]:
    """The VJP of an inline node from its gradient ``g`` (not None), as its ``_backward``."""
    kind = type(node)
    pad = "        "
    lines: list[str] = []
    if kind is arithmetic.Add or kind is arithmetic.Sub:
        lhs, rhs = node.inputs
        if lhs.requires_grad:
            lines += _add_grad(w, lhs, root, g, pad)
        if rhs.requires_grad:
            lines += _add_grad(w, rhs, root, g if kind is arithmetic.Add else f"-{g}", pad)
    elif kind is arithmetic.Mul:
        lhs, rhs = node.inputs
        if lhs.requires_grad:
            lines += _add_grad(w, lhs, root, f"{g} * {w.node(rhs, root)}.value", pad)
        if rhs.requires_grad:
            lines += _add_grad(w, rhs, root, f"{g} * {w.node(lhs, root)}.value", pad)
    elif kind is arithmetic.Neg:
        lines += _add_grad(w, node.inputs[0], root, f"-{g}", pad)
    elif kind is activation.Tanh:  # (1 - y²)·g, the product in place
        me = w.node(node, root)
        lines += [f"{pad}y = 1.0 - {me}.value * {me}.value", f"{pad}y *= {g}"]
        lines += _add_grad(w, node.inputs[0], root, "y", pad)
    else:  # Sum: g (scaled) broadcast back to the operand's shape
        operand = node.inputs[0]
        xp = node.xp
        scaled = g if node.scale == 1.0 else f"{g} * {node.scale!r}"  # type: ignore[attr-defined]
        expr = (f"{w.const('broadcast', xp.broadcast_to)}({w.const('reshape', xp.reshape)}({scaled}, "
                f"{node.kept_shape!r}), {operand.shape!r})")  # type: ignore[attr-defined]
        lines += _add_grad(w, operand, root, expr, pad)
    return lines


def _local_gradients(root: Node, backprop: list[Node]) -> dict[int, str]:
    """The op nodes whose gradient can live in a local variable of the backward: every
    contribution comes from inline VJPs that run unconditionally (their own node's gradient
    is local too, or the root's), so the first contribution and the number of them are known
    here. Any other node keeps the attribute protocol (reset, ``is None`` tests, ``add_grad``)."""
    scheduled = [root] + list(reversed(backprop))
    member = {id(node) for node in backprop}
    consumers: dict[int, list[Node]] = {}
    for node in scheduled:
        if node is root or id(node) in member:
            for operand in set(node.inputs):
                consumers.setdefault(id(operand), []).append(node)
    local: dict[int, str] = {}
    certain = {id(root)} if _inline(root) and root.requires_grad else set()
    for node in scheduled[1:]:
        users = consumers.get(id(node), [])
        if users and all(_inline(user) and id(user) in certain for user in users):
            local[id(node)] = f"g{len(local)}"
            if _inline(node):
                certain.add(id(node))
    return local


def _reads(node: Node) -> tuple[tuple[int, ...], bool]:
    """What a node's VJP reads: exact for the inline ops (``_backward_lines``), else declared."""
    if not _inline(node):
        return declared_reads(node)
    kind = type(node)
    if kind is arithmetic.Mul:
        lhs, rhs = node.inputs
        return tuple(p for p, other in ((0, rhs), (1, lhs)) if other.requires_grad), False
    return (), kind is activation.Tanh


def _generate(root: Node, compute: list[Node], backprop: list[Node], life: Lifetimes) -> tuple[Callable[..., None], Callable[..., None], str]:
    w = _Writer()
    schedule = compute + [root]
    read_by_attribute = {id(operand) for node in schedule if not _inline(node) for operand in node.inputs}
    forward = ["    def forward(r):"]
    for index, node in enumerate(schedule):
        name = w.node(node, root)
        if _inline(node):
            expr = _forward_expr(w, node, root)
            local = f"v{len(w.local)}"
            if id(node) in life.released and id(node) not in read_by_attribute:
                forward.append(f"        {local} = {expr}")  # dead, read only from the local
            else:
                forward += [f"        {name}.value = None", f"        {local} = {name}.value = {expr}"]
            w.local[id(node)] = local
        else:
            method = w.const("f", node._forward) if node is not root else "r._forward"
            forward += [f"        {name}.value = None", f"        {method}()"]
        for gone in life.after_forward.get(index, ()):
            if id(gone) in w.local:
                forward.append(f"        del {w.local[id(gone)]}")
            if not _inline(gone) or id(gone) in read_by_attribute:
                forward.append(f"        {w.node(gone, root)}.value = None")
    forward.append("        return None")

    w.grads = _local_gradients(root, backprop)
    chunks_of: dict[int, list[Node]] = {}
    for node in schedule:
        if isinstance(node, shape.Chunk):
            chunks_of.setdefault(id(node.inputs[0]), []).append(node)
    backward = ["    def backward(r, seed):"]
    backward += [f"        {w.node(node, root)}.grad = None" for node in backprop if id(node) not in w.grads]
    backward.append("        r.grad = seed")
    for node in ([root] if root.requires_grad else []) + list(reversed(backprop)):
        name = w.node(node, root)
        held = w.grads.get(id(node))
        dead = id(node) in life.dead
        if held is not None:  # every contribution was made above: store it, then its VJP
            if not dead or not _inline(node):  # (a method reads it from the node)
                backward.append(f"        {name}.grad = {held}")
            if _inline(node):
                backward += _backward_lines(w, node, root, held)
            else:
                backward.append(f"        {w.const('b', node._backward)}()")
            if dead:
                backward.append(f"        del {held}")
                if not _inline(node):
                    backward.append(f"        {name}.grad = None")
        elif _inline(node):
            g = "seed" if node is root else "g"
            if node is not root:
                backward += [f"        g = {name}.grad", "        if g is not None:"]
                backward += ["    " + line for line in _backward_lines(w, node, root, g)]
            else:
                backward += _backward_lines(w, node, root, g)
        else:
            method = w.const("b", node._backward) if node is not root else "r._backward"
            backward.append(f"        if {name}.grad is not None: {method}()")
        if dead and held is None:
            backward.append(f"        {name}.grad = None")
        if dead:  # the chunks' shared buffer was this gradient (shape.Chunk): let it go too
            groups = {id(c.group): c for c in chunks_of.get(id(node), ())}  # type: ignore[attr-defined]
            backward += [f"        {w.node(c, root)}.group[0] = None" for c in groups.values()]
        backward += [f"        {w.node(gone, root)}.value = None" for gone in life.after_backward.get(id(node), ())]
    backward.append("        return None")

    params = sorted(w.bound)
    header = [f"def _make({', '.join(params)}):"] if params else ["def _make():"]
    source = "\n".join(header + forward + backward + ["    return forward, backward", ""])
    namespace: dict[str, Any] = {}
    exec(compile(source, f"<neuronika plan of {root.name}>", "exec"), namespace)  # noqa: S102 - generated above
    made_forward, made_backward = namespace["_make"](**{name: w.bound[name] for name in params})
    return made_forward, made_backward, source
