"""Graph nodes and the forward / backward engines.

Every value in a graph is a :class:`Node`. A leaf holds data; an op node holds its inputs and
knows three things, declared side by side in its class: the shape rule (``__init__``, run once
when the op is built, where every check happens), ``_forward`` (one kernel call that sets
``self.value``) and ``_backward`` (one vector-Jacobian product per input, pushed with
``input.add_grad``).

The engines are plain loops over a topological order that is computed once per root and cached
on it (a graph never changes after it is built: new ops make new nodes).

Staleness uses a global clock. Anything that changes a leaf (``assign``, an optimizer step,
``train``/``eval``) and every ``backward`` ticks it; a node whose stamp differs from the clock is
recomputed by the next ``forward``, so a second ``forward`` without changes is free and a
``forward`` after ``backward`` recomputes, as in the Rust crate. Handing a leaf's live array to
the user (``.data``) sets a flag that makes the next ``forward`` tick, so a write into it is seen.

Whether a node is differentiable is fixed when it is built: it is when one of its inputs is,
unless it is built inside ``with nk.no_grad():`` (``grad_mode.GRAD_ENABLED``). A leaf remembers
whether an op was built on it while it was a constant (``Leaf.used``), so that promoting it later
with ``requires_grad()`` can refuse instead of giving partial gradients.
"""

from __future__ import annotations

import weakref
from contextvars import ContextVar
from typing import Any, Iterable, Sequence

from ..backends import Backend, DType
from ..backends._base import KIND_NAMES
from .anomaly import build_site, check_gradients, check_value
from .grad_mode import GRAD_ENABLED

_CLOCK = [1]
#: bumped by anything that changes a fact a compiled plan baked in (a parameter moved to another
#: backend, the compiler switched on or off): plans made at another epoch are rebuilt (see
#: compiled.py)
EPOCH = [0]
#: ``[clock, plans, released]``: the clock of the last ``forward``, the compiled plans run at it,
#: whose nodes carry no stamps until an interpreted ``forward`` at the same clock needs them, and
#: whether one of them ran at that clock (it may have released values: an interpreted backward
#: recomputes them)
_FORWARDED: list[Any] = [0, [], False]
#: set when a leaf's array was handed out through ``.data`` (it may be written in place): the
#: next ``forward`` then recomputes (see :func:`expose`)
_EXPOSED = [False]
#: anomaly detection switch (see anomaly.py), per thread and per async task; read once per
#: engine call
ANOMALY: ContextVar[bool] = ContextVar("neuronika_detect_anomaly", default=False)


def tick() -> None:
    """Mark every computed value stale (a leaf changed, or gradients were consumed)."""
    _CLOCK[0] += 1


def invalidate_plans() -> None:
    """Drop every compiled plan (something they baked in changed: see ``EPOCH``)."""
    EPOCH[0] += 1


def expose() -> None:
    """A leaf's live array was handed to the user, who may write into it: the next ``forward``
    recomputes. (``backward`` does not: it differentiates the values the last forward computed.)"""
    _EXPOSED[0] = True


class Node:
    """A vertex of the computational graph (a leaf or the output of one op)."""

    __slots__ = (
        "inputs",
        "value",
        "grad",
        "shape",
        "dtype",
        "backend",
        "xp",
        "differentiable",
        "requires_grad",
        "stamp",
        "_order",
        "_compiled",
        "_releases",
        "origin",
        "handles",
        "dead",
        "__weakref__",
    )
    #: the op's public name, used in error messages and reprs
    name = "leaf"
    is_leaf = False
    #: the dtype kinds the op accepts for its inputs ("f" floating, "i" integer, "b" bool)
    kinds = "f"
    # What ``_backward`` reads, declared for the replay compiler, which releases the value of an
    # intermediate no handle refers to as soon as no VJP still to run reads it (see lifetimes.py).
    # The defaults keep everything: an op that declares nothing loses no value early.
    #: positions of the inputs whose ``value`` ``_backward`` reads (``None``: every input)
    reads_inputs: "tuple[int, ...] | None" = None
    #: whether ``_backward`` reads this node's own ``value``
    reads_value = True
    #: whether ``_forward`` may run again at the same clock with the same result and no side
    #: effect (False for dropout's mask and batch norm's running statistics): only such a
    #: node's value is ever released (another graph sharing it recomputes it)
    repeatable = True

    inputs: tuple["Node", ...]
    value: Any
    grad: Any
    origin: str | None
    differentiable: bool
    requires_grad: bool
    stamp: int
    shape: tuple[int, ...]
    dtype: DType
    backend: Backend

    def _setup(self, inputs: Sequence["Node"], shape: tuple[int, ...], dtype: DType, backend: Backend) -> None:
        self.inputs = tuple(inputs)
        self.value = None
        self.grad = None
        self.shape = shape
        self.dtype = dtype
        self.backend = backend
        self.xp = backend.xp
        differentiable = False
        for node in inputs:  # a plain loop: any() over a generator costs more for 1-2 inputs
            if node.dtype.kind not in self.kinds:
                raise_kind(self, node)
            if node.differentiable:
                differentiable = True
            elif node.is_leaf:
                node.used = True  # type: ignore[attr-defined]
        if differentiable and not GRAD_ENABLED.get():
            differentiable = False  # built inside ``with nk.no_grad():``
        self.differentiable = self.requires_grad = differentiable
        self.stamp = 0
        self._order: tuple[list["Node"], list["Node"]] | None = None
        self._compiled: Any = None  # None: never run; False: run once; else its compiled Plan
        self._releases: Any = None  # (epoch, lists) of the interpreter's releases (_releases_of)
        self.origin = build_site() if ANOMALY.get() else None
        self.handles: list[None] = []  # one entry per live Var / VarDiff on this node (variable.py)
        self.dead = False  # whether a compiled plan released this node's value or gradient

    # engine hooks, overridden by every op -----------------------------------------------------
    def _forward(self) -> None:
        """Compute ``self.value`` from the inputs' values (one kernel call)."""

    def _backward(self) -> None:
        """Push the vector-Jacobian product of ``self.grad`` into every input that requires grad."""

    def add_grad(self, grad: Any) -> None:
        """Accumulate a gradient contribution: the first overwrites, later ones add."""
        if self.grad is None:
            self.grad = grad
        else:
            self.grad = self.grad + grad

    # graph traversal --------------------------------------------------------------------------
    def order(self) -> tuple[list["Node"], list["Node"]]:
        """``(compute, backprop)``: the op nodes of this sub-graph in topological order, and
        those of them that are differentiable, this node itself left out. Computed once and
        cached; leaving the root out keeps the cache free of a reference cycle (root -> list ->
        root), so a graph that is dropped is freed at once rather than by the cyclic collector."""
        if self._order is None:
            ordered = topological_order(self)
            ordered.pop()  # the root: always last in post-order
            compute = [node for node in ordered if not node.is_leaf]
            self._order = (compute, [node for node in compute if node.differentiable])
        return self._order

    def ancestors(self) -> list["Node"]:
        """Every node of this sub-graph, leaves included, in topological order."""
        return topological_order(self)


class Leaf(Node):
    """A node that holds data: a constant, an input batch or a parameter."""

    __slots__ = ("owns_grad", "used")
    is_leaf = True

    #: whether the leaf's ``grad`` is a buffer of its own (else it may alias another array)
    owns_grad: bool
    #: whether an op was ever built on this leaf while it was not differentiable
    used: bool

    def __init__(self, value: Any, backend: Backend, dtype: DType, differentiable: bool = False) -> None:
        self._setup((), tuple(int(d) for d in value.shape), dtype, backend)
        self.value = value
        self.differentiable = self.requires_grad = differentiable
        self.owns_grad = False
        self.used = False

    def add_grad(self, grad: Any) -> None:
        # Leaves accumulate across backward calls. The first contribution is kept by reference
        # (it may alias another node's gradient, which is never written in place); after that
        # the leaf owns a buffer and adds in place.
        if self.grad is None:
            self.grad, self.owns_grad = grad, False
        elif self.owns_grad:
            self.grad += grad
        else:
            self.grad, self.owns_grad = self.grad + grad, True

    def set_value(self, value: Any) -> None:
        """Replace the data (already converted to this leaf's backend, dtype and shape)."""
        self.value = value
        tick()


def raise_kind(op: Node, operand: Node) -> None:
    """The build-time error of an op given an operand of a dtype kind it does not take."""
    wanted = " or ".join(KIND_NAMES[kind] for kind in op.kinds)
    hint = "astype('float32')" if "f" in op.kinds else ("astype('bool')" if op.kinds == "b" else "astype('int64')")
    raise TypeError(
        f"{op.name}: takes {wanted} variables, got a {operand.dtype} variable of shape "
        f"{operand.shape}; convert it with .{hint}"
    )


def topological_order(root: Node) -> list[Node]:
    """Nodes reachable from ``root``, every node after all of its inputs: the post-order of an
    iterative depth-first search that visits each node's inputs from first to last.

    Each stack entry holds a node and the iterator over its inputs still to visit; a leaf is
    appended as soon as it is met, without an entry of its own. (Nodes hash by identity.)"""
    ordered: list[Node] = []
    seen: set[Node] = {root}
    stack: list[tuple[Node, Any]] = [(root, iter(root.inputs))]
    push, pop, append, mark = stack.append, stack.pop, ordered.append, seen.add
    while stack:
        node, parents = stack[-1]
        for parent in parents:
            if parent not in seen:
                mark(parent)
                if parent.inputs:
                    push((parent, iter(parent.inputs)))
                    break
                append(parent)
        else:
            pop()
            append(node)
    return ordered


def run_forward(root: Node) -> None:
    """Compute every op node of ``root``'s sub-graph whose value is missing or stale."""
    if _EXPOSED[0]:
        _EXPOSED[0] = False
        tick()
    clock = _CLOCK[0]
    if root.stamp == clock:
        return
    forwarded = _FORWARDED
    whole = forwarded[0] != clock  # nothing was computed at this clock yet: every node is stale
    if whole:
        forwarded[0] = clock
        forwarded[1] = []
        forwarded[2] = False
        if not ANOMALY.get() and not root.is_leaf:  # the plan runs whole
            plan = _plan_of(root)
            if plan is not None:
                with root.backend.scope():
                    plan.forward(root)
                forwarded[1].append(weakref.ref(plan))  # weak: a dropped graph is freed at once
                forwarded[2] = True
                root.stamp = clock
                return
    elif forwarded[1]:
        stamp_compiled(clock)
    if root._compiled is None:
        root._compiled = False  # run once (the interpreter): compiled on its next whole forward
    compute, _ = root.order()
    if not whole:  # another graph ran at this clock: did it compute any node of this one?
        whole = all(node.stamp != clock for node in compute)
    # A stale value is dropped before its node is recomputed (no op reads its own value in
    # ``_forward``), so the new array can reuse the old one's memory, still warm in the cache,
    # and a replayed graph never holds two generations of values at once.
    with root.backend.scope():
        if ANOMALY.get():
            for node in compute:
                if node.stamp != clock:
                    node.value = None
                    node._forward()
                    node.stamp = clock
                    check_value(node)
            if not root.is_leaf:
                root.value = None
                root._forward()
                check_value(root)
        elif whole and not root.is_leaf and (releases := _releases(root, compute)) is not None:
            # every node computed here: the values of dead intermediates go after their last
            # reader (lifetimes.py), left stale so that another graph recomputes them
            for node, gone in zip(compute, releases):
                node.value = None
                node._forward()
                node.stamp = clock
                if gone:
                    for dead in gone:
                        dead.value = None
                        dead.stamp = 0
            root.value = None
            root._forward()
            for dead in releases[-1] or ():
                dead.value = None
                dead.stamp = 0
        else:
            for node in compute:
                if node.stamp != clock:
                    node.value = None
                    node._forward()
                    node.stamp = clock
            if not root.is_leaf:
                root.value = None
                root._forward()
    root.stamp = clock


def _releases(root: Node, compute: list[Node]) -> Any:
    from .lifetimes import releases_of  # (lifetimes.py imports this module)

    return releases_of(root, compute)


def _plan_of(root: Node) -> Any:
    """The root's compiled plan: made on its second whole ``forward`` (a graph run once, as an
    eager loop rebuilds it, is never compiled), remade when ``EPOCH`` moved."""
    from .compiled import ALWAYS, ENABLED, Plan

    plan = root._compiled
    if not ENABLED[0]:
        root._compiled = None
        return None
    if plan is None and not ALWAYS[0]:
        root._compiled = False
        return None
    if not plan or plan.epoch != EPOCH[0]:
        plan = root._compiled = Plan(root, EPOCH[0])
    return plan


def stamp_compiled(clock: int) -> None:
    """Write the stamps the compiled forwards at this clock skipped (an interpreted ``forward``
    of a graph sharing their nodes must see them computed). The nodes whose values a plan
    released stay stale: an interpreted pass that needs them recomputes them."""
    for ref in _FORWARDED[1]:
        plan = ref()
        if plan is not None:
            for node in plan.kept:
                node.stamp = clock
    _FORWARDED[1] = []


def run_backward(root: Node, seed: float | Any) -> None:
    """Seed ``root``'s gradient and back-propagate into the differentiable leaves."""
    if root.stamp != _CLOCK[0]:
        run_forward(root)
    xp = root.xp
    if isinstance(seed, (int, float)):
        seed_grad = xp.full(root.shape, float(seed), dtype=root.backend.dtype(root.dtype), device=root.backend.native_device)
    else:
        seed_grad = xp.broadcast_to(root.backend.asarray(seed, root.dtype), root.shape)
    if root.is_leaf:
        root.add_grad(seed_grad)
        tick()
        return
    plan = root._compiled
    if plan and plan.epoch == EPOCH[0] and not ANOMALY.get():
        with root.backend.scope():
            plan.backward(root, seed_grad)
        tick()
        return
    compute, backprop = root.order()
    clock = _CLOCK[0]
    if _FORWARDED[0] == clock and _FORWARDED[2]:
        # a compiled forward ran at this clock and may have released values this (interpreted)
        # backward reads: recompute them (only repeatable nodes are ever released)
        if _FORWARDED[1]:
            stamp_compiled(clock)
        with root.backend.scope():
            for node in compute:
                if node.stamp != clock:
                    node.value = None
                    node._forward()
                    node.stamp = clock
    for node in backprop:
        node.grad = None
    root.grad = seed_grad
    with root.backend.scope():
        if ANOMALY.get():
            if root.requires_grad:
                root._backward()
                check_gradients(root)
            for node in reversed(backprop):
                if node.grad is not None and node.requires_grad:
                    node._backward()
                    check_gradients(node)
        else:
            if root.requires_grad:
                root._backward()
            # the gradient and value of an intermediate no handle refers to are unreadable:
            # dropped once its own VJP ran, the last to read them (its consumers' VJPs ran
            # before; the clock ticks next, so nothing recomputes it at this one)
            for node in reversed(backprop):
                if node.grad is not None and node.requires_grad:
                    node._backward()
                    if not node.handles:
                        node.grad = None
                        node.value = None
    tick()


def leaves_of(root: Node, differentiable_only: bool = True) -> list[Node]:
    """The leaves of ``root``'s sub-graph, each once, in topological (stable) order."""
    return [n for n in root.ancestors() if n.is_leaf and (n.differentiable or not differentiable_only)]


def nodes_of_type(root: Node, kinds: Iterable[type]) -> list[Node]:
    kinds = tuple(kinds)
    return [n for n in root.ancestors() if isinstance(n, kinds)]
