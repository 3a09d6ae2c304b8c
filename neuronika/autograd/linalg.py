"""Linear algebra: ``t``, ``mm``, ``mm_t``, ``mv``, ``vm``, ``vv``, ``matmul`` (the ``@``
operator, with the Array API's batched rules) and the fused ``affine`` node (``x·Wᵀ + b``,
internal to ``nn``). ``tensordot``, ``einsum`` and ``outer`` live in ``contraction.py``.

Each product is one GEMM/GEMV (batched for ``matmul``) in the forward pass and one per input in
the backward pass.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, overload

from ._build import broadcast_shapes, check_same_place, reduction_plan, sum_to
from .node import Node
from . import variable as _handles  # the handles; variable.py imports this family first

if TYPE_CHECKING:
    from .variable import V, Var, VarDiff


def _require(op: str, node: Node, ndim: int, role: str) -> None:
    if len(node.shape) != ndim:
        kind = {1: "vector", 2: "matrix"}[ndim]
        raise ValueError(f"{op}: {role} must be a {kind} ({ndim}-d), got shape {node.shape}")


class Transpose(Node):
    """``xᵀ`` of a matrix."""

    __slots__ = ()
    name = "t"
    kinds = "fib"  # rearranges any values; differentiable for floats only

    def __init__(self, operand: Node) -> None:
        _require(self.name, operand, 2, "the operand")
        self._setup((operand,), operand.shape[::-1], operand.dtype, operand.backend)

    def _forward(self) -> None:
        self.value = self.inputs[0].value.T

    def _backward(self) -> None:
        self.inputs[0].add_grad(self.grad.T)


class _Product(Node):
    """A product of two operands; ``mv``, ``vm``, ``vv`` and ``mm`` all compute ``lhs @ rhs``."""

    __slots__ = ()

    def _forward(self) -> None:
        lhs, rhs = self.inputs
        self.value = self.xp.matmul(lhs.value, rhs.value)

    def _check(self, lhs: Node, rhs: Node, lhs_ndim: int, rhs_ndim: int, lhs_inner: int, rhs_inner: int) -> None:
        check_same_place(self.name, (lhs, rhs))
        _require(self.name, lhs, lhs_ndim, "the left operand")
        _require(self.name, rhs, rhs_ndim, "the right operand")
        if lhs.shape[lhs_inner] != rhs.shape[rhs_inner]:
            hint = ""
            if self.name == "mm" and lhs.shape[1] == rhs.shape[1]:
                hint = "; did you mean mm_t (multiply by the transpose of the right operand)?"
            elif self.name == "mm_t" and lhs.shape[1] == rhs.shape[0]:
                hint = "; did you mean mm?"
            raise ValueError(
                f"{self.name}: cannot multiply {lhs.shape} by {rhs.shape}{' transposed' if self.name == 'mm_t' else ''}: "
                f"inner sizes {lhs.shape[lhs_inner]} and {rhs.shape[rhs_inner]} differ{hint}"
            )


class MatMul(_Product):
    """``(n, k) · (k, m) → (n, m)``; VJPs ``g·Bᵀ`` and ``Aᵀ·g``."""

    __slots__ = ()
    name = "mm"

    def __init__(self, lhs: Node, rhs: Node) -> None:
        self._check(lhs, rhs, 2, 2, 1, 0)
        self._setup((lhs, rhs), (lhs.shape[0], rhs.shape[1]), lhs.dtype, lhs.backend)

    def _backward(self) -> None:
        lhs, rhs = self.inputs
        xp = self.xp
        if lhs.requires_grad:
            lhs.add_grad(xp.matmul(self.grad, rhs.value.T))
        if rhs.requires_grad:
            rhs.add_grad(xp.matmul(lhs.value.T, self.grad))


class MatMulT(_Product):
    """``(n, k) · (m, k)ᵀ → (n, m)`` (as ``Linear``: ``x·Wᵀ``); VJPs ``g·B`` and ``gᵀ·A``."""

    __slots__ = ()
    name = "mm_t"

    def __init__(self, lhs: Node, rhs: Node) -> None:
        self._check(lhs, rhs, 2, 2, 1, 1)
        self._setup((lhs, rhs), (lhs.shape[0], rhs.shape[0]), lhs.dtype, lhs.backend)

    def _forward(self) -> None:
        lhs, rhs = self.inputs
        self.value = self.xp.matmul(lhs.value, rhs.value.T)

    def _backward(self) -> None:
        lhs, rhs = self.inputs
        xp = self.xp
        if lhs.requires_grad:
            lhs.add_grad(xp.matmul(self.grad, rhs.value))
        if rhs.requires_grad:
            rhs.add_grad(xp.matmul(self.grad.T, lhs.value))


class MatVec(_Product):
    """``(n, k) · (k,) → (n,)``; VJPs ``g ⊗ v`` and ``Aᵀ·g``."""

    __slots__ = ()
    name = "mv"

    def __init__(self, lhs: Node, rhs: Node) -> None:
        self._check(lhs, rhs, 2, 1, 1, 0)
        self._setup((lhs, rhs), (lhs.shape[0],), lhs.dtype, lhs.backend)

    def _backward(self) -> None:
        lhs, rhs = self.inputs
        xp = self.xp
        if lhs.requires_grad:
            lhs.add_grad(xp.reshape(self.grad, (-1, 1)) * xp.reshape(rhs.value, (1, -1)))
        if rhs.requires_grad:
            rhs.add_grad(xp.matmul(lhs.value.T, self.grad))


class VecMat(_Product):
    """``(k,) · (k, m) → (m,)``; VJPs ``B·g`` and ``v ⊗ g``."""

    __slots__ = ()
    name = "vm"

    def __init__(self, lhs: Node, rhs: Node) -> None:
        self._check(lhs, rhs, 1, 2, 0, 0)
        self._setup((lhs, rhs), (rhs.shape[1],), lhs.dtype, lhs.backend)

    def _backward(self) -> None:
        lhs, rhs = self.inputs
        xp = self.xp
        if lhs.requires_grad:
            lhs.add_grad(xp.matmul(rhs.value, self.grad))
        if rhs.requires_grad:
            rhs.add_grad(xp.reshape(lhs.value, (-1, 1)) * xp.reshape(self.grad, (1, -1)))


class VecVec(_Product):
    """``(k,) · (k,) → ()`` (dot product); VJPs ``g·b`` and ``g·a``."""

    __slots__ = ()
    name = "vv"

    def __init__(self, lhs: Node, rhs: Node) -> None:
        self._check(lhs, rhs, 1, 1, 0, 0)
        self._setup((lhs, rhs), (), lhs.dtype, lhs.backend)

    def _backward(self) -> None:
        lhs, rhs = self.inputs
        if lhs.requires_grad:
            lhs.add_grad(self.grad * rhs.value)
        if rhs.requires_grad:
            rhs.add_grad(self.grad * lhs.value)


class BatchedMatMul(Node):
    """The Array API's ``matmul``: ``(..., n, k) @ (..., k, m) → (..., n, m)``, the batch axes
    ``...`` broadcast against each other; a 1-d left operand is read as ``(1, k)`` and a 1-d right
    one as ``(k, 1)``, the added axis then dropped from the result.

    VJPs (in the promoted shapes ``A``, ``B``, ``G``): ``G·Bᵀ`` and ``Aᵀ·G``, each summed over the
    batch axes its operand was broadcast along, then reshaped to the operand's shape.
    """

    __slots__ = ("lhs_shape", "rhs_shape", "out_shape", "lhs_axes", "rhs_axes")
    name = "matmul"

    def __init__(self, lhs: Node, rhs: Node) -> None:
        check_same_place(self.name, (lhs, rhs))
        if not lhs.shape or not rhs.shape:
            raise ValueError(
                f"{self.name}: cannot multiply {lhs.shape} by {rhs.shape}: matmul needs operands with "
                f"at least one axis; multiply by a 0-d variable with *"
            )
        a = (1,) + lhs.shape if len(lhs.shape) == 1 else lhs.shape
        b = rhs.shape + (1,) if len(rhs.shape) == 1 else rhs.shape
        if a[-1] != b[-2]:
            raise ValueError(
                f"{self.name}: cannot multiply {lhs.shape} by {rhs.shape}: inner sizes {a[-1]} (last "
                f"axis on the left) and {b[-2]} ({'only' if len(rhs.shape) == 1 else 'second-to-last'} "
                f"axis on the right) differ"
            )
        try:
            batch = broadcast_shapes(self.name, a[:-2], b[:-2])
        except ValueError:
            raise ValueError(
                f"{self.name}: cannot multiply {lhs.shape} by {rhs.shape}: their batch axes "
                f"{a[:-2]} and {b[:-2]} do not broadcast (sizes must match or one of them be 1)"
            ) from None
        shape = batch + lhs.shape[-2:-1] + rhs.shape[-1:] if len(rhs.shape) > 1 else batch + lhs.shape[-2:-1]
        self._setup((lhs, rhs), shape, lhs.dtype, lhs.backend)
        self.lhs_shape, self.rhs_shape, self.out_shape = a, b, batch + (a[-2], b[-1])
        self.lhs_axes = reduction_plan(a, batch + a[-2:])
        self.rhs_axes = reduction_plan(b, batch + b[-2:])

    def _forward(self) -> None:
        lhs, rhs = self.inputs
        self.value = self.xp.matmul(lhs.value, rhs.value)

    def _backward(self) -> None:
        lhs, rhs = self.inputs
        xp = self.xp
        grad = xp.reshape(self.grad, self.out_shape)
        if lhs.requires_grad:
            local = xp.matmul(grad, xp.matrix_transpose(xp.reshape(rhs.value, self.rhs_shape)))
            lhs.add_grad(xp.reshape(sum_to(xp, local, self.lhs_axes, self.lhs_shape), lhs.shape))
        if rhs.requires_grad:
            local = xp.matmul(xp.matrix_transpose(xp.reshape(lhs.value, self.lhs_shape)), grad)
            rhs.add_grad(xp.reshape(sum_to(xp, local, self.rhs_axes, self.rhs_shape), rhs.shape))


#: ``@`` on vectors and matrices keeps the dedicated 2-d nodes (no reshapes in their VJPs)
_PLAIN = {(2, 2): MatMul, (2, 1): MatVec, (1, 2): VecMat, (1, 1): VecVec}


def matmul_node(lhs: Node, rhs: Node) -> Node:
    """The ``@`` operator: ``mm``, ``mv``, ``vm`` or ``vv`` for 1-d and 2-d operands, the batched
    :class:`BatchedMatMul` otherwise."""
    op = _PLAIN.get((len(lhs.shape), len(rhs.shape)), BatchedMatMul)
    return op(lhs, rhs)


class Affine(Node):
    """``x·Wᵀ + b`` in one node (as ``nn.Linear``): ``(n, k) · (m, k)ᵀ + (m,) → (n, m)``, or a
    single sample ``(k,) · (m, k)ᵀ + (m,) → (m,)``.

    Forward: one GEMM, the bias added in place into its fresh output. VJPs: ``g·W`` for ``x``,
    ``gᵀ·x`` for ``W`` (``g ⊗ x`` for a single sample) and ``Σ_n g`` for ``b`` (``g`` itself for
    a single sample).
    """

    __slots__ = ()
    name = "affine"
    reads_inputs, reads_value = (0, 1), False  # what _backward reads (lifetimes.py)

    def __init__(self, input: Node, weight: Node, bias: Node) -> None:
        check_same_place(self.name, (input, weight, bias))
        if len(input.shape) not in (1, 2):
            raise ValueError(
                f"{self.name}: the input must be a matrix (2-d) or a vector (1-d), got shape {input.shape}"
            )
        _require(self.name, weight, 2, "the weight")
        _require(self.name, bias, 1, "the bias")
        if input.shape[-1] != weight.shape[1]:
            raise ValueError(
                f"{self.name}: cannot multiply {input.shape} by {weight.shape} transposed: inner sizes "
                f"{input.shape[-1]} and {weight.shape[1]} differ"
            )
        if bias.shape[0] != weight.shape[0]:
            raise ValueError(
                f"{self.name}: the bias has shape {bias.shape}, expected ({weight.shape[0]},) (one "
                f"entry per row of the weight {weight.shape})"
            )
        self._setup((input, weight, bias), input.shape[:-1] + (weight.shape[0],), input.dtype, input.backend)

    def _forward(self) -> None:
        input, weight, bias = self.inputs
        value = self.xp.matmul(input.value, weight.value.T)
        value += bias.value  # in place: the GEMM's output is fresh
        self.value = value

    def _backward(self) -> None:
        input, weight, bias = self.inputs
        xp = self.xp
        grad = self.grad
        batched = len(self.shape) == 2
        if input.requires_grad:
            input.add_grad(xp.matmul(grad, weight.value))
        if weight.requires_grad:
            if batched:
                weight.add_grad(xp.matmul(grad.T, input.value))
            else:
                weight.add_grad(xp.reshape(grad, (-1, 1)) * xp.reshape(input.value, (1, -1)))
        if bias.requires_grad:
            bias.add_grad(xp.sum(grad, axis=0) if batched else grad)


def affine(input: Node, weight: Node, bias: Node) -> Node:
    """``input·weightᵀ + bias`` as one :class:`Affine` node (``nn.Linear`` and the recurrent
    cells): ``(n, k)`` or ``(k,)`` input, ``(m, k)`` weight, ``(m,)`` bias."""
    return Affine(input, weight, bias)


# --- the public functions, bound to Var as methods and ``@`` (variable.py's table) -------------
# Typing: ``t`` keeps its operand's kind (``V``); a product is differentiable when either
# operand is (the overloads), as at run time (docs/typing.md).
def t(x: V) -> V:
    """Transpose of a matrix: ``(n, m) → (m, n)``.

    >>> nk.ones((2, 3)).t().shape
    (3, 2)
    """
    return _handles.same(x, Transpose(x._node))


@overload
def mm(x: VarDiff, rhs: Var) -> VarDiff: ...
@overload
def mm(x: Var, rhs: VarDiff) -> VarDiff: ...
@overload
def mm(x: Var, rhs: Var) -> Var: ...
def mm(x: Var, rhs: Var) -> Var:
    """Matrix · matrix: ``(n, k) · (k, m) → (n, m)``.

    >>> nk.ones((2, 3)).mm(nk.ones((3, 4))).shape
    (2, 4)
    """
    return _handles.wrap(MatMul(x._node, x._operand(rhs, "mm")))

@overload
def mm_t(x: VarDiff, rhs: Var) -> VarDiff: ...
@overload
def mm_t(x: Var, rhs: VarDiff) -> VarDiff: ...
@overload
def mm_t(x: Var, rhs: Var) -> Var: ...
def mm_t(x: Var, rhs: Var) -> Var:
    """Matrix · matrixᵀ: ``(n, k) · (m, k)ᵀ → (n, m)`` (how a layer applies its weight).

    >>> nk.ones((2, 3)).mm_t(nk.ones((4, 3))).shape
    (2, 4)
    """
    return _handles.wrap(MatMulT(x._node, x._operand(rhs, "mm_t")))

@overload
def mv(x: VarDiff, rhs: Var) -> VarDiff: ...
@overload
def mv(x: Var, rhs: VarDiff) -> VarDiff: ...
@overload
def mv(x: Var, rhs: Var) -> Var: ...
def mv(x: Var, rhs: Var) -> Var:
    """Matrix · vector: ``(n, k) · (k,) → (n,)``.

    >>> nk.ones((2, 3)).mv(nk.ones(3)).forward().numpy().tolist()
    [3.0, 3.0]
    """
    return _handles.wrap(MatVec(x._node, x._operand(rhs, "mv")))

@overload
def vm(x: VarDiff, rhs: Var) -> VarDiff: ...
@overload
def vm(x: Var, rhs: VarDiff) -> VarDiff: ...
@overload
def vm(x: Var, rhs: Var) -> Var: ...
def vm(x: Var, rhs: Var) -> Var:
    """Vector · matrix: ``(k,) · (k, m) → (m,)``.

    >>> nk.ones(2).vm(nk.ones((2, 3))).forward().numpy().tolist()
    [2.0, 2.0, 2.0]
    """
    return _handles.wrap(VecMat(x._node, x._operand(rhs, "vm")))

@overload
def vv(x: VarDiff, rhs: Var) -> VarDiff: ...
@overload
def vv(x: Var, rhs: VarDiff) -> VarDiff: ...
@overload
def vv(x: Var, rhs: Var) -> Var: ...
def vv(x: Var, rhs: Var) -> Var:
    """Dot product of two vectors: ``(k,) · (k,) → ()``.

    >>> nk.ones(3).vv(nk.ones(3)).forward().item()
    3.0
    """
    return _handles.wrap(VecVec(x._node, x._operand(rhs, "vv")))

@overload
def matmul(lhs: VarDiff, rhs: Var) -> VarDiff: ...
@overload
def matmul(lhs: Var, rhs: VarDiff) -> VarDiff: ...
@overload
def matmul(lhs: Var, rhs: Var) -> Var: ...
def matmul(lhs: Var, rhs: Var) -> Var:
    """``lhs @ rhs`` with the Array API's (and PyTorch's) ``matmul`` rules: ``(..., n, k) @
    (..., k, m) → (..., n, m)`` with the batch axes ``...`` broadcast; a 1-d left operand is a row
    ``(1, k)`` and a 1-d right one a column ``(k, 1)``, the added axis dropped from the result.
    Vectors and matrices use ``vv``, ``mv``, ``vm`` and ``mm``.

    >>> nk.matmul(nk.ones((5, 2, 3)), nk.ones((3, 4))).shape
    (5, 2, 4)
    """
    return _handles.wrap(matmul_node(_handles.node_of(lhs, "matmul"), lhs._operand(rhs, "@")))

def rmatmul(rhs: V, lhs: Var) -> V:
    """``lhs @ rhs`` with the variable on the right (only reached when ``lhs`` is not a
    variable, so the result has ``rhs``'s kind)."""
    return _handles.same(rhs, matmul_node(rhs._operand(lhs, "@"), rhs._node))
