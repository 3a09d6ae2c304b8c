"""The user-facing variables: :class:`Var`, :class:`VarDiff` and :class:`Param`.

A variable is a thin handle on a graph :class:`~neuronika.autograd.node.Node`; copying a handle
shares the node. Writing an expression builds nodes (checking shapes, dtypes and devices right
there); nothing is computed until :meth:`Var.forward`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Sequence, Tuple, Union, cast, overload

from ..backends import Device, DType, get as get_backend, to_dtype
from . import activation, arithmetic, linalg, reduction, shape as shape_ops
from .node import Leaf, Node, leaves_of, nodes_of_type, run_backward, run_forward, set_requires_grad, tick

if TYPE_CHECKING:
    from typing_extensions import Self

    from ..nn import Module

Axis = Union[int, Tuple[int, ...], None]
#: what the right side of an arithmetic operator may be
Operand = Union["Var", float]


def wrap(node: Node) -> "Var":
    """The right handle for a node: :class:`VarDiff` when it is differentiable."""
    return VarDiff(node) if node.differentiable else Var(node)


class Var:
    """A non-differentiable variable: a leaf holding data, or an op over other variables.

    An op between a ``Var`` and a :class:`VarDiff` gives a ``VarDiff``. Variables of any
    shape ``(d0, d1, ...)``; ops check their operands' shapes when they are built.

    >>> nk.ones((2, 3)).sum().forward().item()
    6.0
    """

    __slots__ = ("_node",)

    def __init__(self, node: Node) -> None:
        self._node = node

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
        """The value, a backend array of :attr:`shape` (available after :meth:`forward` for an
        op's output).

        >>> nk.ones(2).data.shape
        (2,)
        """
        value = self._node.value
        if value is None:
            raise RuntimeError(
                f"{self._node.name}: the value of this {self.shape} variable has not been computed "
                f"yet; call .forward() on it (or on a variable that depends on it) first"
            )
        return value

    def numpy(self) -> Any:
        """A NumPy copy of the value, on the host, of :attr:`shape`.

        >>> nk.ones(2).numpy().tolist()
        [1.0, 1.0]
        """
        return self._node.backend.to_host(self.data)

    def item(self) -> float:
        """The value of a one-element variable (any shape of size 1) as a Python float.

        >>> nk.full((1, 1), 2.5).item()
        2.5
        """
        size = 1
        for dim in self.shape:
            size *= dim
        if size != 1:
            raise ValueError(f"item: only one-element variables convert to a Python number, this one has shape {self.shape}")
        return float(self.numpy().reshape(()))

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

        The array is converted to the leaf's dtype and device; its shape must equal the leaf's,
        since the shapes of the graph were inferred when it was built.

        >>> x = nk.zeros(2); x.assign(nk.ones(2).data); x.numpy().tolist()
        [1.0, 1.0]
        """
        node = self._node
        if not node.is_leaf:
            raise TypeError(f"assign: only leaves can be assigned; this variable is the output of {node.name}")
        value = array.data if isinstance(array, Var) else array
        value = node.backend.asarray(value, node.dtype)
        if tuple(value.shape) != node.shape:
            raise ValueError(
                f"assign: new value has shape {tuple(value.shape)} but the leaf has shape {node.shape}; "
                f"a graph keeps the shapes it was built with: rebuild it for the new shape, or drop "
                f"the last partial batch (batch(n).drop_last())"
            )
        cast(Leaf, node).set_value(value)

    def requires_grad(self) -> "VarDiff":
        """A differentiable leaf with this leaf's data and shape (only leaves can be promoted).

        >>> nk.ones(2).requires_grad()
        VarDiff(leaf, shape=(2,), dtype=float32, device=cpu, data=[1. 1.])
        """
        node = self._node
        if not node.is_leaf:
            raise TypeError(
                f"requires_grad: only a leaf can become differentiable; this variable is the "
                f"output of {node.name}. Make the leaves it is computed from differentiable instead"
            )
        node.differentiable = node.requires_grad = True
        node._order = None
        return VarDiff(node)

    def train(self) -> None:
        """Switch the dropout nodes of this sub-graph to training mode (shapes unchanged).

        >>> y = nk.ones(1000).dropout(0.5); y.train(); 0.0 in y.forward().numpy()
        True
        """
        for node in nodes_of_type(self._node, (activation.Dropout,)):
            cast(activation.Dropout, node).set_training(True)

    def eval(self) -> None:
        """Switch the dropout nodes of this sub-graph to evaluation mode (identity); shapes unchanged.

        >>> y = nk.ones(4).dropout(0.5); y.eval(); y.forward().numpy().tolist()
        [1.0, 1.0, 1.0, 1.0]
        """
        for node in nodes_of_type(self._node, (activation.Dropout,)):
            cast(activation.Dropout, node).set_training(False)

    def to(self, device: "str | Device | None" = None, dtype: "DType | str | None" = None) -> Self:
        """This variable on another device and/or with another dtype.

        A non-differentiable leaf is copied into a new leaf; otherwise a differentiable
        conversion op is added to the graph (gradients flow back to the original). Shape kept.

        >>> nk.ones(2).to(dtype="float64").dtype
        neuronika.float64
        """
        result = self
        if dtype is not None and to_dtype(dtype) != self.dtype:
            result = result._convert(shape_ops.Cast, to_dtype(dtype))
        if device is not None:
            backend = get_backend(device)
            if backend is not self._node.backend:
                result = result._convert(shape_ops.Transfer, backend)
        return result

    def astype(self, dtype: "DType | str") -> Self:
        """This variable converted to another floating dtype (shape kept); as ``to(dtype=...)``.

        >>> nk.ones(2).astype("float16").dtype
        neuronika.float16
        """
        return self.to(dtype=dtype)

    def _convert(self, op: type, target: Any) -> Self:
        node = self._node
        if node.is_leaf and not node.differentiable:
            converted = op(node, target)
            converted._forward()
            return self._same(Leaf(converted.value, converted.backend, converted.dtype))
        return self._same(op(node, target))

    # --- arithmetic --------------------------------------------------------------------------
    # Typing: an op keeps the kind of its operands for checkers and IDEs. A unary op returns
    # ``Self`` (a VarDiff stays a VarDiff); a binary op returns ``VarDiff`` when either operand
    # is one (the overloads below, and VarDiff's declarations), else ``Var``. Inside ``nk.no_grad()`` blocks the object
    # may be a plain Var at run time where the type says VarDiff (docs/typing.md).
    def _operand(self, other: Any, op: str) -> Node:
        if isinstance(other, Var):
            return other._node
        if isinstance(other, (int, float)) and not isinstance(other, bool):
            node = self._node
            return Leaf(node.backend.asarray(float(other), node.dtype), node.backend, node.dtype)
        raise TypeError(
            f"{op}: cannot combine a variable with {type(other).__name__}; wrap arrays with "
            f"nk.from_ndarray(array, device={str(self.device)!r})"
        )

    def _same(self, node: Node) -> Self:
        return cast("Self", wrap(node))

    @overload
    def __add__(self, other: VarDiff) -> VarDiff: ...
    @overload
    def __add__(self, other: Operand) -> Var: ...
    def __add__(self, other: Operand) -> Var:
        """``x + y`` element-wise with broadcasting; ``(2, 3) + (3,) → (2, 3)``.

        >>> (nk.ones(3) + 1.0).forward().numpy().tolist()
        [2.0, 2.0, 2.0]
        """
        return wrap(arithmetic.Add(self._node, self._operand(other, "add")))

    def __radd__(self, other: float) -> Self:
        """``2.0 + x``: a scalar on the left, as :meth:`__add__`."""
        return self._same(arithmetic.Add(self._operand(other, "add"), self._node))

    @overload
    def __sub__(self, other: VarDiff) -> VarDiff: ...
    @overload
    def __sub__(self, other: Operand) -> Var: ...
    def __sub__(self, other: Operand) -> Var:
        """``x - y`` element-wise with broadcasting; ``(2, 3) - (3,) → (2, 3)``.

        >>> (nk.ones(2) - 3.0).forward().numpy().tolist()
        [-2.0, -2.0]
        """
        return wrap(arithmetic.Sub(self._node, self._operand(other, "sub")))

    def __rsub__(self, other: float) -> Self:
        """``2.0 - x``: a scalar on the left, as :meth:`__sub__`."""
        return self._same(arithmetic.Sub(self._operand(other, "sub"), self._node))

    @overload
    def __mul__(self, other: VarDiff) -> VarDiff: ...
    @overload
    def __mul__(self, other: Operand) -> Var: ...
    def __mul__(self, other: Operand) -> Var:
        """``x * y`` element-wise with broadcasting; ``(2, 3) * (2, 1) → (2, 3)``.

        >>> (nk.ones(2) * 3.0).forward().numpy().tolist()
        [3.0, 3.0]
        """
        return wrap(arithmetic.Mul(self._node, self._operand(other, "mul")))

    def __rmul__(self, other: float) -> Self:
        """``2.0 * x``: a scalar on the left, as :meth:`__mul__`."""
        return self._same(arithmetic.Mul(self._operand(other, "mul"), self._node))

    @overload
    def __truediv__(self, other: VarDiff) -> VarDiff: ...
    @overload
    def __truediv__(self, other: Operand) -> Var: ...
    def __truediv__(self, other: Operand) -> Var:
        """``x / y`` element-wise with broadcasting; ``(2, 3) / (3,) → (2, 3)``.

        >>> (nk.ones(2) / 4.0).forward().numpy().tolist()
        [0.25, 0.25]
        """
        return wrap(arithmetic.Div(self._node, self._operand(other, "div")))

    def __rtruediv__(self, other: float) -> Self:
        """``2.0 / x``: a scalar on the left, as :meth:`__truediv__`."""
        return self._same(arithmetic.Div(self._operand(other, "div"), self._node))

    def __neg__(self) -> Self:
        """``-x`` element-wise; shape kept.

        >>> (-nk.ones(2)).forward().numpy().tolist()
        [-1.0, -1.0]
        """
        return self._same(arithmetic.Neg(self._node))

    def __pow__(self, exponent: float) -> Self:
        """``x ** exponent`` for a constant exponent (as :meth:`pow`)."""
        return self.pow(exponent)

    @overload
    def __matmul__(self, other: VarDiff) -> VarDiff: ...
    @overload
    def __matmul__(self, other: Var) -> Var: ...
    def __matmul__(self, other: Var) -> Var:
        """``x @ y`` with NumPy's ``matmul`` rules for 1-d and 2-d operands:
        ``(n, k) @ (k, m) → (n, m)``, ``(n, k) @ (k,) → (n,)``, ``(k,) @ (k,) → ()``.

        >>> (nk.ones((2, 3)) @ nk.ones((3, 4))).shape
        (2, 4)
        """
        return wrap(linalg.matmul(self._node, self._operand(other, "@")))

    def __rmatmul__(self, other: Var) -> Self:
        """``y @ x`` (as :meth:`__matmul__`)."""
        return self._same(linalg.matmul(self._operand(other, "@"), self._node))

    def pow(self, exponent: float) -> Self:
        """``x ** exponent`` element-wise, for a constant exponent; shape kept.

        >>> nk.full(2, 3.0).pow(2).forward().numpy().tolist()
        [9.0, 9.0]
        """
        return self._same(arithmetic.Pow(self._node, exponent))

    def sqrt(self) -> Self:
        """``√x`` element-wise; shape kept.

        >>> nk.full(2, 4.0).sqrt().forward().numpy().tolist()
        [2.0, 2.0]
        """
        return self._same(arithmetic.Sqrt(self._node))

    def exp(self) -> Self:
        """``eˣ`` element-wise; shape kept.

        >>> nk.zeros(2).exp().forward().numpy().tolist()
        [1.0, 1.0]
        """
        return self._same(arithmetic.Exp(self._node))

    def ln(self) -> Self:
        """Natural logarithm ``ln x`` element-wise; shape kept.

        >>> nk.ones(2).ln().forward().numpy().tolist()
        [0.0, 0.0]
        """
        return self._same(arithmetic.Ln(self._node))

    def abs(self) -> Self:
        """``|x|`` element-wise (gradient ``sign(x)``, 0 at 0); shape kept.

        >>> nk.full(2, -3.0).abs().forward().numpy().tolist()
        [3.0, 3.0]
        """
        return self._same(arithmetic.Abs(self._node))

    # --- reductions --------------------------------------------------------------------------
    def sum(self, axis: Axis = None, keepdims: bool = False) -> Self:
        """Sum over ``axis`` (an int or a tuple; all axes when None, giving a 0-d variable).
        ``(2, 3).sum(axis=0) → (3,)``; with ``keepdims`` the summed axes stay with size 1.

        >>> nk.ones((2, 3)).sum(axis=0).forward().numpy().tolist()
        [2.0, 2.0, 2.0]
        """
        return self._same(reduction.Sum(self._node, axis, keepdims))

    def mean(self, axis: Axis = None, keepdims: bool = False) -> Self:
        """Mean over ``axis`` (an int or a tuple; all axes when None, giving a 0-d variable).
        ``(2, 3).mean(axis=1) → (2,)``; with ``keepdims`` the averaged axes stay with size 1.

        >>> nk.ones((2, 3)).mean().forward().item()
        1.0
        """
        return self._same(reduction.Mean(self._node, axis, keepdims))

    # --- activations -------------------------------------------------------------------------
    def relu(self) -> Self:
        """``max(x, 0)`` element-wise; shape kept.

        >>> nk.from_ndarray([-1.0, 2.0]).relu().forward().numpy().tolist()
        [0.0, 2.0]
        """
        return self._same(activation.ReLU(self._node))

    def leaky_relu(self, slope: float = 0.01) -> Self:
        """``x`` where ``x > 0``, else ``slope · x``, element-wise; shape kept.

        >>> nk.from_ndarray([-1.0, 2.0]).leaky_relu(0.5).forward().numpy().tolist()
        [-0.5, 2.0]
        """
        return self._same(activation.LeakyReLU(self._node, slope))

    def softplus(self) -> Self:
        """``ln(1 + eˣ)`` element-wise, computed without overflow; shape kept.

        >>> round(nk.zeros(1).softplus().forward().item(), 4)
        0.6931
        """
        return self._same(activation.Softplus(self._node))

    def sigmoid(self) -> Self:
        """``1 / (1 + e⁻ˣ)`` element-wise, stable for large ``|x|``; shape kept.

        >>> nk.zeros(2).sigmoid().forward().numpy().tolist()
        [0.5, 0.5]
        """
        return self._same(activation.Sigmoid(self._node))

    def tanh(self) -> Self:
        """Hyperbolic tangent element-wise; shape kept.

        >>> nk.zeros(2).tanh().forward().numpy().tolist()
        [0.0, 0.0]
        """
        return self._same(activation.Tanh(self._node))

    def softmax(self, axis: int) -> Self:
        """``eˣ / Σ eˣ`` along ``axis`` (shifted by the maximum, so stable); shape kept.

        >>> nk.zeros((1, 4)).softmax(axis=1).forward().numpy().tolist()
        [[0.25, 0.25, 0.25, 0.25]]
        """
        return self._same(activation.Softmax(self._node, axis))

    def log_softmax(self, axis: int) -> Self:
        """``x - log Σ eˣ`` along ``axis`` (stable); shape kept. Feeds :func:`~neuronika.nn.loss.nll_loss`.

        >>> round(nk.zeros((1, 2)).log_softmax(axis=1).forward().numpy().tolist()[0][0], 4)
        -0.6931
        """
        return self._same(activation.LogSoftmax(self._node, axis))

    def dropout(self, p: float) -> Self:
        """Dropout: zero each element with probability ``p`` and scale the rest by ``1/(1-p)``
        in training mode, the identity in eval mode (:meth:`eval`); shape kept.

        >>> nk.ones(3).dropout(0.0).forward().numpy().tolist()
        [1.0, 1.0, 1.0]
        """
        return self._same(activation.Dropout(self._node, p))

    # --- linear algebra ----------------------------------------------------------------------
    def t(self) -> Self:
        """Transpose of a matrix: ``(n, m) → (m, n)``.

        >>> nk.ones((2, 3)).t().shape
        (3, 2)
        """
        return self._same(linalg.Transpose(self._node))

    @overload
    def mm(self, rhs: VarDiff) -> VarDiff: ...
    @overload
    def mm(self, rhs: Var) -> Var: ...
    def mm(self, rhs: Var) -> Var:
        """Matrix · matrix: ``(n, k) · (k, m) → (n, m)``.

        >>> nk.ones((2, 3)).mm(nk.ones((3, 4))).shape
        (2, 4)
        """
        return wrap(linalg.MatMul(self._node, self._operand(rhs, "mm")))

    @overload
    def mm_t(self, rhs: VarDiff) -> VarDiff: ...
    @overload
    def mm_t(self, rhs: Var) -> Var: ...
    def mm_t(self, rhs: Var) -> Var:
        """Matrix · matrixᵀ: ``(n, k) · (m, k)ᵀ → (n, m)`` (how a layer applies its weight).

        >>> nk.ones((2, 3)).mm_t(nk.ones((4, 3))).shape
        (2, 4)
        """
        return wrap(linalg.MatMulT(self._node, self._operand(rhs, "mm_t")))

    @overload
    def mv(self, rhs: VarDiff) -> VarDiff: ...
    @overload
    def mv(self, rhs: Var) -> Var: ...
    def mv(self, rhs: Var) -> Var:
        """Matrix · vector: ``(n, k) · (k,) → (n,)``.

        >>> nk.ones((2, 3)).mv(nk.ones(3)).forward().numpy().tolist()
        [3.0, 3.0]
        """
        return wrap(linalg.MatVec(self._node, self._operand(rhs, "mv")))

    @overload
    def vm(self, rhs: VarDiff) -> VarDiff: ...
    @overload
    def vm(self, rhs: Var) -> Var: ...
    def vm(self, rhs: Var) -> Var:
        """Vector · matrix: ``(k,) · (k, m) → (m,)``.

        >>> nk.ones(2).vm(nk.ones((2, 3))).forward().numpy().tolist()
        [2.0, 2.0, 2.0]
        """
        return wrap(linalg.VecMat(self._node, self._operand(rhs, "vm")))

    @overload
    def vv(self, rhs: VarDiff) -> VarDiff: ...
    @overload
    def vv(self, rhs: Var) -> Var: ...
    def vv(self, rhs: Var) -> Var:
        """Dot product of two vectors: ``(k,) · (k,) → ()``.

        >>> nk.ones(3).vv(nk.ones(3)).forward().item()
        3.0
        """
        return wrap(linalg.VecVec(self._node, self._operand(rhs, "vv")))

    # --- shape -------------------------------------------------------------------------------
    def unsqueeze(self, axis: int) -> Self:
        """A new axis of size 1 at ``axis``: ``(2, 3).unsqueeze(0) → (1, 2, 3)``.

        >>> nk.ones((2, 3)).unsqueeze(1).shape
        (2, 1, 3)
        """
        return self._same(shape_ops.Unsqueeze(self._node, axis))

    def reshape(self, *shape: "int | Sequence[int]") -> Self:
        """The same elements under a new shape (``-1`` infers one size): ``(2, 3) → (3, 2)``.

        >>> nk.ones((2, 3)).reshape(3, -1).shape
        (3, 2)
        """
        dims = shape[0] if len(shape) == 1 and not isinstance(shape[0], int) else shape
        return self._same(shape_ops.Reshape(self._node, dims))  # type: ignore[arg-type]

    def flatten(self, start_axis: int = 1) -> Self:
        """Merge the axes from ``start_axis`` on into one (default: keep the batch axis):
        ``(N, C, H, W) → (N, C·H·W)``.

        >>> nk.ones((2, 3, 4)).flatten().shape
        (2, 12)
        """
        start = start_axis % max(self.ndim, 1)
        return self.reshape(self.shape[:start] + (-1,))

    def chunks(self, chunk_shape: Sequence[int]) -> list[Self]:
        """Exact chunks of ``chunk_shape`` in row-major order; a remainder is skipped
        (``(4, 3)`` in ``(2, 3)`` chunks gives two ``(2, 3)`` variables).

        >>> [c.shape for c in nk.ones((5, 3)).chunks((2, 3))]
        [(2, 3), (2, 3)]
        """
        return [self._same(node) for node in shape_ops.chunks(self._node, chunk_shape)]

    @overload
    def cat(self, others: "VarDiff | Sequence[VarDiff]", axis: int = 0) -> VarDiff: ...
    @overload
    def cat(self, others: "Var | Sequence[Var]", axis: int = 0) -> Var: ...
    def cat(self, others: "Var | Sequence[Var]", axis: int = 0) -> Var:
        """This variable and ``others`` joined along an existing ``axis``:
        ``(2, 3).cat((4, 3)) → (6, 3)``.

        >>> nk.ones((2, 3)).cat(nk.ones((4, 3))).shape
        (6, 3)
        """
        return cat([self, *_as_list(others)], axis)

    @overload
    def stack(self, others: "VarDiff | Sequence[VarDiff]", axis: int = 0) -> VarDiff: ...
    @overload
    def stack(self, others: "Var | Sequence[Var]", axis: int = 0) -> Var: ...
    def stack(self, others: "Var | Sequence[Var]", axis: int = 0) -> Var:
        """This variable and ``others`` (of its shape) joined along a new ``axis``:
        ``(2, 3).stack((2, 3)) → (2, 2, 3)``.

        >>> nk.ones((2, 3)).stack(nk.ones((2, 3)), axis=1).shape
        (2, 2, 3)
        """
        return stack([self, *_as_list(others)], axis)

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

    if TYPE_CHECKING:  # a VarDiff on the left makes every binary op differentiable
        def __add__(self, other: Operand) -> VarDiff: ...
        def __sub__(self, other: Operand) -> VarDiff: ...
        def __mul__(self, other: Operand) -> VarDiff: ...
        def __truediv__(self, other: Operand) -> VarDiff: ...
        def __matmul__(self, other: Var) -> VarDiff: ...
        def mm(self, rhs: Var) -> VarDiff: ...
        def mm_t(self, rhs: Var) -> VarDiff: ...
        def mv(self, rhs: Var) -> VarDiff: ...
        def vm(self, rhs: Var) -> VarDiff: ...
        def vv(self, rhs: Var) -> VarDiff: ...
        def cat(self, others: "Var | Sequence[Var]", axis: int = 0) -> VarDiff: ...
        def stack(self, others: "Var | Sequence[Var]", axis: int = 0) -> VarDiff: ...

    @property
    def grad(self) -> Any:
        """The gradient accumulated by :meth:`backward`, a backend array of this variable's
        shape (zeros before any).

        >>> nk.ones(2).requires_grad().grad.tolist()
        [0.0, 0.0]
        """
        node = self._node
        if node.grad is None:
            node.grad = node.xp.zeros(node.shape, dtype=node.backend.dtype(node.dtype), device=node.backend.native_device)
            if node.is_leaf:
                node.owns_grad = True  # type: ignore[attr-defined]
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
        """Seed this variable's gradient with ``seed`` (a scalar, filled to its shape, or an
        array of its shape) and back-propagate. Leaf gradients accumulate until ``zero_grad``.

        >>> w = nk.ones(2).requires_grad(); (w * 3.0).sum().backward(); w.grad.tolist()
        [3.0, 3.0]
        """
        run_backward(self._node, seed)

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
        """Stop computing gradients for this variable and its ancestors (shapes unchanged).

        >>> w = nk.ones(2).requires_grad(); y = (w * 3.0).sum(); y.no_grad(); y.backward(); w.grad.tolist()
        [0.0, 0.0]
        """
        set_requires_grad(self._node, False)

    def with_grad(self) -> None:
        """Compute gradients again for this variable and its ancestors (undoes :meth:`no_grad`).

        >>> w = nk.ones(2).requires_grad(); y = (w * 3.0).sum(); y.no_grad(); y.with_grad(); y.backward(); w.grad.tolist()
        [3.0, 3.0]
        """
        set_requires_grad(self._node, True)


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
        """The value, a backend array of :attr:`shape`; assigning converts and marks graphs stale.

        >>> w = nk.ones(2).requires_grad(); (w * w).parameters()[0].data.tolist()
        [1.0, 1.0]
        """
        return self._node.value

    @data.setter
    def data(self, value: Any) -> None:
        node = self._node
        if value is not node.value:
            value = node.backend.asarray(value, node.dtype)
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
        node = self._node
        node.grad = None if value is None else node.backend.asarray(value, node.dtype)
        node.owns_grad = False

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


def _as_list(others: "Var | Sequence[Var]") -> list[Var]:
    return [others] if isinstance(others, Var) else list(others)


def _nodes(op: str, variables: Sequence[Var]) -> list[Node]:
    nodes = []
    for var in variables:
        if not isinstance(var, Var):
            raise TypeError(f"{op}: expected neuronika variables, got {type(var).__name__}")
        nodes.append(var._node)
    return nodes


@overload
def cat(variables: Sequence[VarDiff], axis: int = 0) -> VarDiff: ...
@overload
def cat(variables: Sequence[Var], axis: int = 0) -> Var: ...
def cat(variables: Sequence[Var], axis: int = 0) -> Var:
    """Variables joined along an existing ``axis`` (shapes must agree elsewhere):
    ``(2, 3), (4, 3) → (6, 3)``. The result is differentiable when any input is.

    >>> nk.cat([nk.ones((2, 3)), nk.ones((4, 3))]).shape
    (6, 3)
    """
    return wrap(shape_ops.Concatenate(_nodes("cat", variables), axis))


@overload
def stack(variables: Sequence[VarDiff], axis: int = 0) -> VarDiff: ...
@overload
def stack(variables: Sequence[Var], axis: int = 0) -> Var: ...
def stack(variables: Sequence[Var], axis: int = 0) -> Var:
    """Equally shaped variables joined along a new ``axis``: ``k × (2, 3) → (k, 2, 3)`` for
    ``axis=0``. The result is differentiable when any input is.

    >>> nk.stack([nk.ones((2, 3)), nk.ones((2, 3))]).shape
    (2, 2, 3)
    """
    return wrap(shape_ops.Stack(_nodes("stack", variables), axis))
