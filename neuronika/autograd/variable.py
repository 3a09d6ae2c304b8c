"""The user-facing variables: :class:`Var`, :class:`VarDiff` and :class:`Param`.

A variable is a thin handle on a graph :class:`~neuronika.autograd.node.Node`; copying a handle
shares the node. Writing an expression builds nodes (checking shapes, dtypes and devices right
there); nothing is computed until :meth:`Var.forward`.
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any, Literal, Mapping, NoReturn, Tuple, TypeVar, Union, cast, overload

from ..backends import Device, DType, get as get_backend, to_dtype
from ..backends._values import to_array
from . import activation, arithmetic, linalg, reduction, shape as shape_ops
from . import activation_torch, comparison, contraction, indexing, normalization, rearrange, selection, unary
from ._build import broadcast_shapes
from .grad_mode import GRAPHS_WITHOUT_GRAD
from .lifetimes import revive
from .node import Leaf, Node, expose, invalidate_plans, leaves_of, nodes_of_type, run_backward, run_forward, tick

if TYPE_CHECKING:
    from typing_extensions import Self

    from ..nn import Module

Axis = Union[int, Tuple[int, ...], None]
#: the floating dtypes by name: a conversion to one of them keeps a VarDiff differentiable
FloatName = Literal["float16", "float32", "float64"]
#: what the right side of an arithmetic operator may be
Operand = Union["Var", float]
#: a variable's kind, kept by unary ops (``relu`` of a VarDiff is a VarDiff; docs/typing.md)
V = TypeVar("V", bound="Var")


def wrap(node: Node) -> "Var":
    """The right handle for a node: :class:`VarDiff` when it is differentiable."""
    return VarDiff(node) if node.differentiable else Var(node)


def node_of(x: Any, op: str) -> Node:
    """``x``'s graph node; a TypeError naming ``op`` when ``x`` is not a variable (``nk.sin`` of a
    NumPy array would otherwise fail inside the op with an AttributeError)."""
    if isinstance(x, Var):
        return x._node
    raise TypeError(
        f"{op}: expected a neuronika variable, got {type(x).__name__}; wrap arrays with nk.from_ndarray"
    )


def same(like: V, node: Node) -> V:
    """The handle for ``node``, typed as ``like``: the output of a unary op on ``like`` (a
    VarDiff's op is differentiable, a Var's is not)."""
    return cast(V, wrap(node))


class Var:
    """A non-differentiable variable: a leaf holding data, or an op over other variables.

    An op between a ``Var`` and a :class:`VarDiff` gives a ``VarDiff``. Variables of any
    shape ``(d0, d1, ...)``; ops check their operands' shapes when they are built.

    >>> nk.ones((2, 3)).sum().forward().item()
    6.0
    """

    __slots__ = ("_node",)

    # NumPy must not handle ``ndarray ⊕ Var`` itself (it would build an object array of Vars,
    # one per element): with ``__array_ufunc__ = None`` NumPy's operators return NotImplemented
    # and Python calls the Var's reflected operator, which applies the rule for foreign arrays
    # (see :meth:`_operand`) on either side alike.
    __array_ufunc__ = None

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> NoReturn:
        raise TypeError(
            f"{getattr(func, '__name__', func)}: NumPy functions do not take neuronika variables; "
            f"use the variable's own methods (x.sum(), x.exp(), ...) to build graph ops, or "
            f"x.numpy() for a host copy of its value"
        )

    def __init__(self, node: Node) -> None:
        self._node = node
        # the node's count of live handles: a replayed plan may release the value and gradient
        # of an intermediate none refers to, since no one can read them (see lifetimes.py). A list
        # whose length is the count: append and pop are atomic, where ``+= 1`` on an attribute
        # is not guaranteed to be (threads, free-threaded builds)
        node.handles.append(None)
        if node.dead:
            revive(node)

    def __del__(self) -> None:
        try:
            self._node.handles.pop()
        except (AttributeError, IndexError):  # made without __init__ and never given a node
            pass

    def __getstate__(self) -> Node:
        return self._node

    def __setstate__(self, node: Node) -> None:
        Var.__init__(self, node)  # a copy (copy, deepcopy, pickle) is one more handle

    # --- value and metadata ----------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        """The shape, known when the variable is built: ``nk.ones((2, 3)).shape == (2, 3)``."""
        return self._node.shape

    @property
    def ndim(self) -> int:
        """The number of axes: ``len(shape)`` (0 for a scalar).

        >>> nk.ones((2, 3)).ndim
        2
        """
        return len(self._node.shape)

    @property
    def dtype(self) -> DType:
        """The floating dtype, e.g. ``nk.float32``.

        >>> nk.ones(2, dtype="float64").dtype
        neuronika.float64
        """
        return self._node.dtype

    @property
    def device(self) -> Device:
        """The device holding the value, e.g. ``cpu`` or ``cuda:0``.

        >>> str(nk.ones(2).device)
        'cpu'
        """
        return cast(Device, self._node.backend.device)

    @property
    def is_leaf(self) -> bool:
        """True for a leaf (data made by a constructor), False for an op's output.

        >>> nk.ones(2).is_leaf, (nk.ones(2) * 2.0).is_leaf
        (True, False)
        """
        return self._node.is_leaf

    @property
    def data(self) -> Any:
        """The value, a backend array (available after :meth:`forward` for an op's output).

        A leaf's ``.data`` is its live array: writing into it right away (``x.data[0] = 5``)
        is seen by the next ``forward()``, which recomputes after any such read. A reference
        kept across a ``forward()`` is not tracked: write new values with :meth:`assign`.

        >>> nk.ones(2).data.shape
        (2,)
        """
        value = self._value()
        if self._node.is_leaf:
            expose()
        return value

    def _value(self) -> Any:
        value = self._node.value
        if value is None:
            raise RuntimeError(
                f"{self._node.name}: the value of this {self.shape} variable has not been computed "
                f"yet; call .forward() on it (or on a variable that depends on it) first"
            )
        return value

    def numpy(self) -> Any:
        """A NumPy copy of the value, on the host.

        >>> nk.ones(2).numpy().tolist()
        [1.0, 1.0]
        """
        return self._node.backend.to_host(self._value())

    def item(self) -> "float | int | bool":
        """The value of a one-element variable as a Python number (``float``; ``int`` or
        ``bool`` for integer and bool variables).

        >>> nk.full((1, 1), 2.5).item()
        2.5
        """
        size = 1
        for dim in self.shape:
            size *= dim
        if size != 1:
            raise ValueError(f"item: only one-element variables convert to a Python number, this one has shape {self.shape}")
        value = self.numpy().reshape(()).item()
        return float(value) if self.dtype.is_floating else value

    def __len__(self) -> int:
        """The size of the first axis, as for arrays (a 0-d variable has no length)."""
        if not self.shape:
            raise TypeError("len() of a 0-d variable")
        return self.shape[0]

    def __repr__(self) -> str:
        """One line: kind, op (or ``leaf``), shape, dtype, device and, once computed, the values
        of a small variable (at most 8 elements).

        >>> nk.ones(2)
        Var(leaf, shape=(2,), dtype=float32, device=cpu, data=[1. 1.])
        >>> nk.ones(2).requires_grad() * 2.0
        VarDiff(mul, shape=(2,), dtype=float32, device=cpu, not computed)
        """
        node = self._node
        head = f"{type(self).__name__}({'leaf' if node.is_leaf else node.name}, shape={node.shape}, dtype={node.dtype}, device={node.backend.device}"
        if node.value is None:
            return head + ", not computed)"
        if _size(node.shape) > 8:
            return head + ", computed)"
        values = " ".join(str(node.backend.to_host(node.value)).split())
        return f"{head}, data={values})"

    # --- the graph ---------------------------------------------------------------------------
    def forward(self) -> Self:
        """Compute every node of this variable's sub-graph whose value is missing or stale, and
        return this variable (shape unchanged).

        >>> (nk.ones(3) * 2.0).forward().numpy().tolist()
        [2.0, 2.0, 2.0]
        """
        run_forward(self._node)
        return self

    def assign(self, array: Any) -> None:
        """Write a new value into a leaf (e.g. the next batch into a graph built once).

        The value (an array, nested lists, a number or another variable: see
        ``from_ndarray`` for what is accepted) is **copied**, converted to the leaf's dtype and
        device: later writes to the caller's array do not reach the graph, and updates of the
        leaf (an optimizer step) do not reach the caller's array. Its shape must equal the
        leaf's, since the shapes of the graph were inferred when it was built.

        >>> x = nk.zeros(2); x.assign([1.0, 1.0]); x.numpy().tolist()
        [1.0, 1.0]
        """
        node = self._node
        if not node.is_leaf:
            raise TypeError(f"assign: only leaves can be assigned; this variable is the output of {node.name}")
        value = array._value() if isinstance(array, Var) else array
        value = to_array(node.backend, value, node.dtype, "assign")
        if tuple(value.shape) != node.shape:
            raise ValueError(
                f"assign: new value has shape {tuple(value.shape)} but the leaf has shape {node.shape}; "
                f"a graph keeps the shapes it was built with: rebuild it for the new shape, or drop "
                f"the last partial batch (batch(n).drop_last())"
            )
        cast(Leaf, node).set_value(value)

    def requires_grad(self) -> "VarDiff":
        """This leaf made differentiable, in place (only leaves can be promoted).

        Promote a leaf before building ops on it: ops built while it was a constant would pass
        it no gradient, so promoting a leaf that already feeds an op raises (rather than give
        partial gradients).

        >>> nk.ones(2).requires_grad()
        VarDiff(leaf, shape=(2,), dtype=float32, device=cpu, data=[1. 1.])
        """
        node = self._node
        if not node.is_leaf:
            raise TypeError(
                f"requires_grad: only a leaf can become differentiable; this variable is the "
                f"output of {node.name}. Make the leaves it is computed from differentiable instead"
            )
        if not node.dtype.is_floating:
            raise TypeError(
                f"requires_grad: a {node.dtype} variable cannot be differentiable; only floating "
                f"dtypes (float16, float32, float64) can; convert it first with .astype('float32')"
            )
        if not node.differentiable and cast(Leaf, node).used:
            raise RuntimeError(
                f"requires_grad: this {node.shape} leaf already feeds ops built while it was not "
                f"differentiable, and they would pass it no gradient (the gradient would be "
                f"partial). Call .requires_grad() before building ops on it, or make a fresh "
                f"leaf: nk.from_ndarray(x.data).requires_grad()"
            )
        node.differentiable = node.requires_grad = True
        node._order = None
        # no compiled plan can hold this leaf: an op built on it while it was a constant marked
        # it ``used``, which refuses the promotion above
        return VarDiff(node)

    def detach(self) -> "Var":
        """The same value as a non-differentiable variable: ops built on it pass no gradient
        back through it (it shares this variable's node; its value follows it).

        >>> w = nk.ones(2).requires_grad(); type(w.detach()).__name__, w.detach().shape
        ('Var', (2,))
        """
        if not self._node.differentiable:
            return Var(self._node)
        return Var(shape_ops.Detach(self._node))

    def train(self) -> None:
        """Switch the dropout and batch-normalization nodes of this sub-graph to training mode
        (dropout masks; batch statistics, which update the running ones); shapes unchanged.

        >>> y = nk.ones(1000).dropout(0.5); y.train(); 0.0 in y.forward().numpy()
        True
        """
        self._set_training(True)

    def eval(self) -> None:
        """Switch the dropout and batch-normalization nodes of this sub-graph to evaluation mode
        (dropout is the identity; batch norm uses, and no longer updates, the running statistics);
        shapes unchanged.

        >>> y = nk.ones(4).dropout(0.5); y.eval(); y.forward().numpy().tolist()
        [1.0, 1.0, 1.0, 1.0]
        """
        self._set_training(False)

    def _set_training(self, mode: bool) -> None:
        for node in nodes_of_type(self._node, (activation.Dropout, normalization.BatchNormalize)):
            cast("activation.Dropout | normalization.BatchNormalize", node).set_training(mode)

    # Typing: a conversion to a floating dtype named by a string (or none) keeps the kind; to
    # another dtype (an integer or bool one stops gradients) the result is typed Var.
    @overload
    def to(self, device: "str | Device | None" = None, dtype: "FloatName | None" = None) -> Self: ...
    @overload
    def to(self, device: "str | Device | None" = None, dtype: "DType | str | None" = None) -> Var: ...
    def to(self, device: "str | Device | None" = None, dtype: "DType | str | None" = None) -> Var:
        """This variable on another device and/or with another dtype.

        A non-differentiable leaf is copied into a new leaf; otherwise a differentiable
        conversion op is added to the graph (gradients flow back to the original). Shape kept.

        >>> nk.ones(2).to(dtype="float64").dtype
        neuronika.float64
        """
        result: Var = self
        if dtype is not None and to_dtype(dtype) != self.dtype:
            result = result._convert(shape_ops.Cast, to_dtype(dtype))
        if device is not None:
            backend = get_backend(device)
            if backend is not self._node.backend:
                result = result._convert(shape_ops.Transfer, backend)
        return result

    @overload
    def astype(self, dtype: FloatName) -> Self: ...
    @overload
    def astype(self, dtype: "DType | str") -> Var: ...
    def astype(self, dtype: "DType | str") -> Var:
        """This variable converted to another dtype (any of float16/32/64, int32/64, bool;
        converting to an integer or bool dtype truncates / tests ``!= 0`` and stops gradients).

        >>> nk.from_ndarray([1.5, -2.0, 0.0]).astype("int64").forward().numpy().tolist()
        [1, -2, 0]
        """
        return self.to(dtype=dtype)

    def _convert(self, op: type, target: Any) -> Self:
        node = self._node
        if node.is_leaf and not node.differentiable:
            used = cast(Leaf, node).used
            converted = op(node, target)
            cast(Leaf, node).used = used  # a conversion computed at once is not a consumer
            converted._forward()
            return same(self, Leaf(converted.value, converted.backend, converted.dtype))
        return same(self, op(node, target))

    # --- operands ----------------------------------------------------------------------------
    def _operand(self, other: Any, op: str) -> Node:
        """The rule for the other operand of a binary operator, on either side alike: a
        variable, or a real number (Python or NumPy scalar; it takes this variable's dtype).
        Arrays, bools, complex numbers and anything else raise a TypeError naming the fix."""
        if isinstance(other, Var):
            return other._node
        is_bool = isinstance(other, bool) or type(other).__name__ == "bool_"
        if isinstance(other, numbers.Real) or is_bool:
            node = self._node
            kind = node.dtype.kind
            # a number takes the variable's dtype when that loses nothing: any real number for a
            # floating variable, an integral one for an integer variable, a bool for a bool one
            if kind == "f" and not is_bool:
                scalar: "float | int | bool" = float(other)
            elif kind == "i" and not is_bool and float(other).is_integer():
                scalar = int(other)
            elif kind == "b" and is_bool:
                scalar = bool(other)
            else:
                raise TypeError(
                    f"{op}: cannot combine a {node.dtype} variable with the Python "
                    f"{type(other).__name__} {other!r}; neuronika does not promote silently, "
                    f"convert the variable with .astype(...)"
                )
            if kind == "i":
                info = node.backend.xp.iinfo(node.backend.dtype(node.dtype))
                if not info.min <= scalar <= info.max:
                    raise TypeError(
                        f"{op}: the Python int {other!r} does not fit the {node.dtype} variable's dtype "
                        f"({info.min}..{info.max}); neuronika does not promote silently, convert the "
                        f"variable with .astype('int64') (or a floating dtype)"
                    )
            return Leaf(node.backend.asarray(scalar, node.dtype), node.backend, node.dtype)
        if hasattr(other, "shape") and hasattr(other, "dtype"):
            fix = (
                f"arrays are not operands of variables (on either side); wrap it first with "
                f"nk.from_ndarray(array, dtype={str(self.dtype)!r}, device={str(self.device)!r})"
            )
        else:
            fix = "the operands of a variable are variables and real numbers"
        raise TypeError(f"{op}: cannot combine a {self.shape} variable with {type(other).__name__}; {fix}")

    # --- ops ---------------------------------------------------------------------------------
    # Each op is declared whole (shape rule, forward, backward, public function with its
    # docstring) in its family file; this table binds the public functions as methods.
    __add__, __radd__ = arithmetic.add, arithmetic.radd
    __sub__, __rsub__ = arithmetic.sub, arithmetic.rsub
    __mul__, __rmul__ = arithmetic.mul, arithmetic.rmul
    __truediv__, __rtruediv__ = arithmetic.div, arithmetic.rdiv
    __neg__ = arithmetic.neg
    __pow__ = pow = arithmetic.pow
    __matmul__, __rmatmul__ = linalg.matmul, linalg.rmatmul
    sqrt, exp, ln, abs = arithmetic.sqrt, arithmetic.exp, arithmetic.ln, arithmetic.abs
    sum, mean = reduction.sum, reduction.mean
    relu, leaky_relu, softplus = activation.relu, activation.leaky_relu, activation.softplus
    sigmoid, tanh = activation.sigmoid, activation.tanh
    softmax, log_softmax, dropout = activation.softmax, activation.log_softmax, activation.dropout
    t, mm, mm_t = linalg.t, linalg.mm, linalg.mm_t
    mv, vm, vv = linalg.mv, linalg.vm, linalg.vv
    unsqueeze, reshape, flatten = shape_ops.unsqueeze, shape_ops.reshape, shape_ops.flatten
    chunks = shape_ops.chunks_of
    cat, stack = shape_ops.cat_method, shape_ops.stack_method
    # element-wise maths (unary.py), PyTorch's activations (activation_torch.py), shape
    # (rearrange.py, shape.py), padding (padding.py) and contractions (linalg.py, contraction.py)
    log1p, expm1, log2, log10 = unary.log1p, unary.expm1, unary.log2, unary.log10
    sin, cos, tan, square, rsqrt, reciprocal = unary.sin, unary.cos, unary.tan, unary.square, unary.rsqrt, unary.reciprocal
    sign, floor, ceil, round, erf = unary.sign, unary.floor, unary.ceil, unary.round, unary.erf
    gelu, silu, mish = activation_torch.gelu, activation_torch.silu, activation_torch.mish
    elu, selu, celu = activation_torch.elu, activation_torch.selu, activation_torch.celu
    hardtanh, relu6 = activation_torch.hardtanh, activation_torch.relu6
    hardsigmoid, hardswish = activation_torch.hardsigmoid, activation_torch.hardswish
    softsign, log_sigmoid = activation_torch.softsign, activation_torch.log_sigmoid
    permute, transpose, expand = rearrange.permute, rearrange.transpose, rearrange.expand
    flip, roll, tile, repeat_interleave = rearrange.flip, rearrange.roll, rearrange.tile, rearrange.repeat_interleave
    squeeze, split = shape_ops.squeeze, shape_ops.split
    matmul, outer = linalg.matmul, contraction.outer
    # issue 13, integer/bool values and indexing (comparison.py, indexing.py, selection.py,
    # reduction.py): comparisons give bool Vars; & | ^ ~ on bool Vars; x[key] with gradients
    __lt__, __le__, __gt__, __ge__ = comparison.lt, comparison.le, comparison.gt, comparison.ge
    __eq__, __ne__ = comparison.eq, comparison.ne
    __hash__ = object.__hash__  # defining __eq__ would otherwise make variables unhashable
    __bool__ = comparison.truth_value
    __and__, __or__, __xor__ = comparison.logical_and, comparison.logical_or, comparison.logical_xor
    __rand__, __ror__, __rxor__ = comparison.rlogical_and, comparison.rlogical_or, comparison.rlogical_xor
    __invert__ = comparison.logical_not
    any, all = comparison.any, comparison.all
    __getitem__ = indexing.getitem
    gather, index_select = indexing.gather, indexing.index_select
    clip = clamp = selection.clip
    max, min, argmax, argmin = reduction.max, reduction.min, reduction.argmax, reduction.argmin
    amax, amin = reduction.max, reduction.min
    prod, var, std = reduction.prod, reduction.var, reduction.std
    logsumexp, norm, cumsum = reduction.logsumexp, reduction.norm, reduction.cumsum

    # --- pictures ----------------------------------------------------------------------------
    def graph_summary(self, module: "Module | None" = None, names: "Mapping[str, Var] | None" = None) -> str:
        """The graph that computes this variable as an indented text tree, root first (the
        crate's ``Display``); see :func:`neuronika.viz.summary` and :func:`neuronika.viz.to_dot`.

        >>> print(nk.ones(2).exp().graph_summary())
        exp (2,) float32 cpu
        └── input (2,) float32 cpu
        """
        from ..viz import summary

        return summary(self, module=module, names=names)


class VarDiff(Var):
    """A differentiable variable: a leaf that requires gradients, or an op depending on one.

    It has every method of :class:`Var`, plus :attr:`grad` (of its shape), :meth:`backward`,
    :meth:`zero_grad`, :meth:`parameters`, :meth:`no_grad` and :meth:`with_grad`.

    >>> w = nk.ones(3).requires_grad(); (w * w).sum().backward(); w.grad.tolist()
    [2.0, 2.0, 2.0]
    """

    __slots__ = ()

    @property
    def grad(self) -> Any:
        """The gradient accumulated by :meth:`backward` (zeros before any).

        A leaf's gradient is an array of its own, writable, shared with no other variable, no
        seed and no user array (``w.grad *= 0.5`` touches nothing else); later backward calls
        accumulate into it. An op's gradient (of the last backward) is returned as a copy.

        >>> nk.ones(2).requires_grad().grad.tolist()
        [0.0, 0.0]
        """
        node = self._node
        with node.backend.scope():
            if node.grad is None:
                node.grad = node.xp.zeros(node.shape, dtype=node.backend.dtype(node.dtype), device=node.backend.native_device)
                if node.is_leaf:
                    cast(Leaf, node).owns_grad = True
            elif not node.is_leaf:
                return node.xp.asarray(node.grad, copy=True)
            elif not cast(Leaf, node).owns_grad:
                # the engine keeps a leaf's first contribution by reference (it may be another
                # leaf's, a read-only broadcast view or the seed): copied once, when read
                node.grad = node.xp.asarray(node.grad, copy=True)
                cast(Leaf, node).owns_grad = True
        return node.grad

    def requires_grad(self) -> VarDiff:
        """This differentiable leaf itself (an op's output raises, as :meth:`Var.requires_grad`).

        >>> w = nk.ones(2).requires_grad(); w.requires_grad() is w
        True
        """
        if not self._node.is_leaf:
            return Var.requires_grad(self)  # raises with the explanation
        return self

    def backward(self, seed: "float | Any" = 1.0) -> None:
        """Seed this variable's gradient with ``seed`` (a number, filled to its shape, or an
        array broadcastable to its shape; ``None`` is the implicit seed 1.0, as PyTorch) and
        back-propagate. The seed is copied. Leaf gradients accumulate until ``zero_grad``.

        After :meth:`no_grad` on this variable, backward computes nothing.

        >>> w = nk.ones(2).requires_grad(); (w * 3.0).sum().backward(); w.grad.tolist()
        [3.0, 3.0]
        """
        node = self._node
        if node in GRAPHS_WITHOUT_GRAD:
            tick()
            return
        if seed is None:
            seed = 1.0
        if isinstance(seed, numbers.Real) and not isinstance(seed, bool):
            seed = float(seed)
        else:
            seed = to_array(node.backend, seed._value() if isinstance(seed, Var) else seed, node.dtype, "backward: seed")
            shape = tuple(int(d) for d in seed.shape)
            try:
                fits = broadcast_shapes("backward", shape, node.shape) == node.shape
            except ValueError:
                fits = False
            if not fits:
                raise ValueError(
                    f"backward: the seed has shape {shape} but the variable has shape {node.shape}; "
                    f"give a number, or an array of shape {node.shape} (or broadcastable to it)"
                )
        run_backward(node, seed)

    def zero_grad(self) -> None:
        """Zero the gradients of the differentiable leaves this variable depends on.

        >>> w = nk.ones(2).requires_grad(); y = w.sum(); y.backward(); y.zero_grad(); w.grad.tolist()
        [0.0, 0.0]
        """
        for leaf in leaves_of(self._node):
            leaf.grad = None

    def parameters(self) -> list[Param]:
        """The differentiable leaves this variable depends on, each once, in a stable order.

        >>> w = nk.ones(2).requires_grad(); [p.shape for p in (w * w).parameters()]
        [(2,)]
        """
        return [Param(leaf) for leaf in leaves_of(self._node)]  # type: ignore[arg-type]

    def no_grad(self) -> None:
        """Stop computing gradients for this graph: ``backward()`` from this variable computes
        nothing until :meth:`with_grad`. Only this graph is affected: its leaves (parameters)
        keep their state, so other graphs built on them, before or after, still differentiate.
        To build ops that are never differentiable, use ``with nk.no_grad():`` or
        :meth:`detach`.

        >>> w = nk.ones(2).requires_grad(); y = (w * 3.0).sum(); y.no_grad(); y.backward(); w.grad.tolist()
        [0.0, 0.0]
        """
        GRAPHS_WITHOUT_GRAD.add(self._node)

    def with_grad(self) -> None:
        """Compute gradients from this variable again (undoes :meth:`no_grad`).

        >>> w = nk.ones(2).requires_grad(); y = (w * 3.0).sum(); y.no_grad(); y.with_grad(); y.backward(); w.grad.tolist()
        [3.0, 3.0]
        """
        GRAPHS_WITHOUT_GRAD.discard(self._node)


class Param:
    """A differentiable leaf seen as a parameter: ``.data`` and ``.grad`` (what optimizers use).

    Writing ``.data`` (``param.data -= lr * param.grad`` updates in place where the backend
    allows) marks the graphs that use it stale, so their next ``forward`` recomputes. ``data``
    and ``grad`` have the parameter's :attr:`shape`.

    >>> w = nk.ones(2).requires_grad(); (w * w).parameters()[0]
    Param(shape=(2,), dtype=float32, device=cpu)
    """

    __slots__ = ("_node",)

    def __init__(self, node: Leaf) -> None:
        self._node = node

    @property
    def data(self) -> Any:
        """The parameter's live array (see ``Var.data``: a write right after reading it is seen
        by the next ``forward``).

        >>> w = nk.ones(2).requires_grad(); (w * w).parameters()[0].data.tolist()
        [1.0, 1.0]
        """
        expose()
        return self._node.value

    @data.setter
    def data(self, value: Any) -> None:
        """Replace the value: the parameter's own array written in place (``param.data -= u``)
        is kept; anything else is copied (as ``assign``), never kept by reference."""
        node = self._node
        if value is not node.value:
            value = to_array(node.backend, value, node.dtype, "Param.data")
            if tuple(value.shape) != node.shape:
                raise ValueError(f"Param.data: new value has shape {tuple(value.shape)}, the parameter has shape {node.shape}")
        node.set_value(value)

    @property
    def grad(self) -> Any:
        """The accumulated gradient, of :attr:`shape` (zeros before any backward); assign None
        or an array to replace it (``param.grad = None``)."""
        return VarDiff(self._node).grad

    @grad.setter
    def grad(self, value: Any) -> None:
        """Replace the gradient (a copy of ``value``) or forget it (``None``: reads as zeros)."""
        node = self._node
        if value is None:
            node.grad, node.owns_grad = None, False
            return
        grad = to_array(node.backend, value, node.dtype, "Param.grad")
        if tuple(grad.shape) != node.shape:
            raise ValueError(f"Param.grad: new gradient has shape {tuple(grad.shape)}, the parameter has shape {node.shape}")
        node.grad, node.owns_grad = grad, True

    @property
    def shape(self) -> tuple[int, ...]:
        """The parameter's shape, e.g. ``(out_features, in_features)`` for a Linear weight."""
        return self._node.shape

    @property
    def dtype(self) -> DType:
        """The parameter's floating dtype (``nk.float32`` by default)."""
        return self._node.dtype

    @property
    def device(self) -> Device:
        """The device holding the parameter (``param.device`` prints ``cpu`` on NumPy)."""
        return cast(Device, self._node.backend.device)

    @property
    def var(self) -> VarDiff:
        """The parameter as a variable (same shape), to use in expressions: ``x.mm_t(param.var)``."""
        return VarDiff(self._node)

    def move_to(self, device: "str | Device") -> None:
        """Move the parameter (data and gradient, shapes unchanged) to another device in place:
        ``param.move_to("cuda")``."""
        node = self._node
        backend = get_backend(device)
        if backend is node.backend:
            return
        value = backend.asarray(node.value, node.dtype)
        grad = None if node.grad is None else backend.asarray(node.grad, node.dtype)
        node.backend, node.xp, node.grad = backend, backend.xp, grad
        invalidate_plans()
        node.set_value(value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Param) and other._node is self._node

    def __hash__(self) -> int:
        return id(self._node)

    def __repr__(self) -> str:
        return f"Param(shape={self.shape}, dtype={self.dtype}, device={self.device})"


def _size(shape: tuple[int, ...]) -> int:
    size = 1
    for dim in shape:
        size *= dim
    return size


cat = shape_ops.cat
stack = shape_ops.stack
