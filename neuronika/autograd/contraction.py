"""Tensor contractions: ``einsum``, ``tensordot`` and ``outer``.

``einsum`` is a backend capability: a backend that registers an ``einsum`` kernel (NumPy, CuPy:
``einsum(xp, subscripts, *arrays)``) gets one :class:`Einsum` node, whose VJP for each operand is
one more einsum of the output gradient with the other operands. Elsewhere (``array_api_strict``,
which has no einsum), and for the forms that node does not take (an index repeated inside one
operand, i.e. a diagonal, or a size-1 axis broadcast against a longer one), the contraction is
composed from the graph's own ops, which differentiate themselves: diagonals by a mask and a sum,
then operands folded pairwise with ``permute`` → ``reshape`` → one batched ``matmul`` →
``reshape``, indices summed away as soon as nothing later needs them.

``tensordot`` is composed the same way (``permute``, ``reshape``, one ``mm``) and ``outer`` is a
broadcast product.
"""

from __future__ import annotations

import string
from typing import TYPE_CHECKING, Any, Sequence, overload

from .._args import integers, is_integer
from ._build import check_same_place, normalize_axis, require_floating
from .linalg import BatchedMatMul, MatMul
from .node import Leaf, Node
from .rearrange import Expand, Permute
from .reduction import Sum
from .shape import Reshape
from .arithmetic import Mul
from . import variable as _handles  # the handles; variable.py imports this family first

if TYPE_CHECKING:
    from .variable import Var, VarDiff


# --- subscripts ---------------------------------------------------------------------------------
def parse_subscripts(subscripts: str, shapes: Sequence[tuple[int, ...]]) -> tuple[list[str], str]:
    """``subscripts`` as one explicit letter string per operand and the output's letters, an
    ellipsis replaced by letters of its own (aligned from the right, as NumPy), the implicit output
    (no ``->``) being the letters used once, in alphabetical order, after the ellipsis's."""
    if not isinstance(subscripts, str):
        raise TypeError(f"einsum: subscripts must be a string such as 'ij,jk->ik', got {type(subscripts).__name__}")
    text = subscripts.replace(" ", "")
    inputs, arrow, output = text.partition("->")
    terms = inputs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"einsum: {subscripts!r} names {len(terms)} operand(s) but {len(shapes)} were given")
    spare = [c for c in string.ascii_letters if c not in text]
    widths = []
    for term, shape in zip(terms, shapes):
        named = len(term.replace("...", ""))
        if any(not c.isalpha() for c in term.replace("...", "")) or term.count("...") > 1:
            raise ValueError(f"einsum: subscript {term!r} in {subscripts!r} may hold letters and one '...' only")
        width = len(shape) - named if "..." in term else 0
        if width < 0 or ("..." not in term and named != len(shape)):
            raise ValueError(
                f"einsum: subscript {term!r} names {named} axes but its operand has shape {shape} "
                f"({len(shape)} axes); use '...' for the rest"
            )
        widths.append(width)
    ellipsis = "".join(spare[: max(widths, default=0)])
    terms = [term.replace("...", ellipsis[len(ellipsis) - w :] if w else "") for term, w in zip(terms, widths)]
    if arrow:
        output = output.replace("...", ellipsis)
        if not all(c.isalpha() for c in output) or len(set(output)) != len(output):
            raise ValueError(f"einsum: output {output!r} of {subscripts!r} must name distinct letters")
        missing = [c for c in output if not any(c in term for term in terms)]
        if missing:
            raise ValueError(f"einsum: output letter(s) {''.join(missing)!r} of {subscripts!r} appear in no operand")
    else:
        joined = "".join(terms)
        output = ellipsis + "".join(sorted(c for c in set(joined) if joined.count(c) == 1 and c not in ellipsis))
    return terms, output


def letter_sizes(terms: Sequence[str], shapes: Sequence[tuple[int, ...]], subscripts: str) -> dict[str, int]:
    """Each letter's size; sizes of one letter must agree or be 1 (broadcast)."""
    sizes: dict[str, int] = {}
    for term, shape in zip(terms, shapes):
        for letter, size in zip(term, shape):
            known = sizes.get(letter, 1)
            if size != known and 1 not in (size, known):
                raise ValueError(
                    f"einsum: index {letter!r} of {subscripts!r} has size {known} in one operand and "
                    f"{size} in another (operand shapes {list(shapes)})"
                )
            if letter not in sizes or known == 1:  # a size-1 axis broadcasts to any size, 0 included
                sizes[letter] = size
    return sizes


# --- the node used when the backend has an einsum ------------------------------------------------
class Einsum(Node):
    """One call of the backend's ``einsum``; the VJP for operand ``i`` is the einsum of the output
    gradient with the other operands into ``i``'s letters (letters that only ``i`` has are summed
    in the forward pass, so their gradient is broadcast back)."""

    __slots__ = ("spec", "kernel", "grad_specs")
    name = "einsum"

    def __init__(self, operands: Sequence[Node], terms: list[str], output: str, shape: tuple[int, ...], kernel: Any) -> None:
        self._setup(operands, shape, operands[0].dtype, operands[0].backend)
        self.spec = ",".join(terms) + "->" + output
        self.kernel = kernel
        self.grad_specs = []
        for i, term in enumerate(terms):
            others = [t for j, t in enumerate(terms) if j != i]
            needed = set(output).union(*others)
            kept = "".join(c for c in term if c in needed)
            kept_shape = tuple(s if c in needed else 1 for c, s in zip(term, operands[i].shape))
            self.grad_specs.append((",".join([output, *others]) + "->" + kept, kept_shape))

    def _forward(self) -> None:
        self.value = self.kernel(self.xp, self.spec, *(op.value for op in self.inputs))

    def _backward(self) -> None:
        xp, inputs = self.xp, self.inputs
        for i, operand in enumerate(inputs):
            if not operand.requires_grad:
                continue
            spec, kept_shape = self.grad_specs[i]
            grad = self.kernel(xp, spec, self.grad, *(op.value for j, op in enumerate(inputs) if j != i))
            if grad.shape != operand.shape:  # summed letters (size 1 too) come back as broadcast axes
                grad = xp.broadcast_to(xp.reshape(grad, kept_shape), operand.shape)
            operand.add_grad(grad)


# --- the composed path ---------------------------------------------------------------------------
def _permuted(node: Node, letters: str, order: str) -> Node:
    return node if letters == order else Permute(node, [letters.index(c) for c in order])


def _reshaped(node: Node, shape: tuple[int, ...]) -> Node:
    return node if node.shape == shape else Reshape(node, shape)


def _summed(node: Node, letters: str, drop: str) -> tuple[Node, str]:
    if not drop:
        return node, letters
    return Sum(node, tuple(letters.index(c) for c in drop)), "".join(c for c in letters if c not in drop)


def _diagonal(node: Node, letters: str) -> tuple[Node, str]:
    """Every letter repeated within one operand reduced to its diagonal: ``x · I`` (the identity
    on the two axes, broadcast elsewhere) summed over the second axis, until no letter repeats."""
    xp, backend = node.xp, node.backend
    while len(set(letters)) != len(letters):
        letter = next(c for c in letters if letters.count(c) > 1)
        first = letters.index(letter)
        second = letters.index(letter, first + 1)
        size = node.shape[first]
        eye = xp.eye(size, dtype=backend.dtype(node.dtype), device=backend.native_device)
        mask_shape = tuple(size if k in (first, second) else 1 for k in range(len(letters)))
        mask = Leaf(xp.reshape(eye, mask_shape), backend, node.dtype)
        node = Sum(Mul(node, mask), second)
        letters = letters[:second] + letters[second + 1 :]
    return node, letters


def _contract(lhs: Node, lhs_letters: str, rhs: Node, rhs_letters: str, later: str, sizes: dict[str, int]) -> tuple[Node, str]:
    """``lhs ⊗ rhs`` contracted over the letters they share that nothing later needs, as one batched
    matmul ``(B, M, K) @ (B, K, N)``; the result's letters are batch, lhs-only, rhs-only."""
    lhs, lhs_letters = _summed(lhs, lhs_letters, "".join(c for c in lhs_letters if c not in rhs_letters and c not in later))
    rhs, rhs_letters = _summed(rhs, rhs_letters, "".join(c for c in rhs_letters if c not in lhs_letters and c not in later))
    batch = "".join(c for c in lhs_letters if c in rhs_letters and c in later)
    inner = "".join(c for c in lhs_letters if c in rhs_letters and c not in later)
    left = "".join(c for c in lhs_letters if c not in rhs_letters)
    right = "".join(c for c in rhs_letters if c not in lhs_letters)

    def size(letters: str) -> int:
        total = 1
        for c in letters:
            total *= sizes[c]
        return total

    a = _reshaped(_permuted(lhs, lhs_letters, batch + left + inner), (size(batch), size(left), size(inner)))
    b = _reshaped(_permuted(rhs, rhs_letters, batch + inner + right), (size(batch), size(inner), size(right)))
    product = BatchedMatMul(a, b)
    letters = batch + left + right
    return _reshaped(product, tuple(sizes[c] for c in letters)), letters


def composed_einsum(operands: Sequence[Node], terms: list[str], output: str, sizes: dict[str, int]) -> Node:
    """The contraction built from permute, reshape, batched matmul, sum and masks (any backend)."""
    prepared = []
    for position, (node, letters) in enumerate(zip(operands, terms)):
        node, letters = _diagonal(node, letters)
        elsewhere = output + "".join(t for j, t in enumerate(terms) if j != position)
        node, letters = _summed(node, letters, "".join(c for c in letters if c not in elsewhere))
        full = tuple(sizes[c] for c in letters)
        if node.shape != full:
            node = Expand(node, full)
        prepared.append((node, letters))
    result, letters = prepared[0]
    for position in range(1, len(prepared)):
        later = output + "".join(t for _, t in prepared[position + 1 :])
        result, letters = _contract(result, letters, *prepared[position], later, sizes)
    result, letters = _summed(result, letters, "".join(c for c in letters if c not in output))
    return _permuted(result, letters, output)


# --- the public functions ----------------------------------------------------------------------
def _operand_nodes(op: str, operands: Sequence[Any]) -> list[Node]:
    nodes = []
    for operand in operands:
        if not isinstance(operand, _handles.Var):
            raise TypeError(f"{op}: operands must be neuronika variables, got {type(operand).__name__}; wrap arrays with nk.from_ndarray")
        require_floating(op, operand._node)
        nodes.append(operand._node)
    if not nodes:
        raise ValueError(f"{op}: needs at least one operand")
    check_same_place(op, nodes)
    return nodes


def einsum(subscripts: str, *operands: Var | Sequence[Var]) -> Var:
    """Einstein summation, as ``numpy.einsum`` / ``torch.einsum``: ``'ij,jk->ik'`` is a matrix
    product, ``'bij,bjk->bik'`` a batched one, ``'ii->i'`` a diagonal, ``'...ij->...ji'`` a
    transpose of the last two axes; without ``->`` the output is the letters used once, in
    alphabetical order. Size-1 axes broadcast. Operands may also be given as one list.

    >>> a, b = nk.ones((2, 3)), nk.ones((3, 4))
    >>> nk.einsum("ij,jk->ik", a, b).shape
    (2, 4)
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    nodes = _operand_nodes("einsum", operands)
    shapes = [node.shape for node in nodes]
    terms, output = parse_subscripts(subscripts, shapes)
    sizes = letter_sizes(terms, shapes, subscripts)
    kernel = nodes[0].backend.kernel("einsum", None)  # type: ignore[arg-type]
    plain = all(len(set(t)) == len(t) for t in terms) and all(
        size == sizes[c] for t, shape in zip(terms, shapes) for c, size in zip(t, shape)
    )
    if kernel is not None and plain:
        node: Node = Einsum(nodes, terms, output, tuple(sizes[c] for c in output), kernel)
    else:
        node = composed_einsum(nodes, terms, output, sizes)
    return _handles.wrap(node)


def tensordot(a: Var, b: Var, axes: int | tuple[Sequence[int], Sequence[int]] = 2) -> Var:
    """The sum of products over ``axes``: an int ``n`` pairs the last ``n`` axes of ``a`` with the
    first ``n`` of ``b``; a pair of sequences names them. Result: ``a``'s free axes, then ``b``'s.

    >>> nk.tensordot(nk.ones((2, 3, 4)), nk.ones((3, 4, 5)), axes=2).shape
    (2, 5)
    """
    lhs, rhs = _operand_nodes("tensordot", (a, b))
    if is_integer(axes):
        axes = int(axes)  # type: ignore[arg-type]
        if not 0 <= axes <= min(len(lhs.shape), len(rhs.shape)):
            raise ValueError(f"tensordot: axes={axes} must be between 0 and the smaller rank of {lhs.shape} and {rhs.shape}")
        lhs_axes, rhs_axes = list(range(len(lhs.shape) - axes, len(lhs.shape))), list(range(axes))
    else:
        first, second = axes  # type: ignore[misc]
        lhs_axes, rhs_axes = list(integers("tensordot", "axes", first)), list(integers("tensordot", "axes", second))
    if len(lhs_axes) != len(rhs_axes):
        raise ValueError(f"tensordot: {len(lhs_axes)} axes of a {lhs.shape} paired with {len(rhs_axes)} of b {rhs.shape}")
    letters = iter(string.ascii_letters)
    lhs_term, rhs_term = [next(letters) for _ in lhs.shape], [next(letters) for _ in rhs.shape]
    for i, j in zip(lhs_axes, rhs_axes):
        i, j = normalize_axis("tensordot", i, len(lhs.shape)), normalize_axis("tensordot", j, len(rhs.shape))
        if lhs.shape[i] != rhs.shape[j]:
            raise ValueError(
                f"tensordot: axis {i} of a {lhs.shape} (size {lhs.shape[i]}) and axis {j} of b "
                f"{rhs.shape} (size {rhs.shape[j]}) differ in size"
            )
        rhs_term[j] = lhs_term[i]
    if len(set(lhs_term)) != len(lhs_term) or len(set(rhs_term)) != len(rhs_term):
        raise ValueError(f"tensordot: axes {axes!r} name an axis twice")
    shared = set(lhs_term) & set(rhs_term)
    output = "".join(c for c in lhs_term + rhs_term if c not in shared)
    terms = ["".join(lhs_term), "".join(rhs_term)]
    sizes = dict(zip(lhs_term, lhs.shape)) | dict(zip(rhs_term, rhs.shape))
    if len(lhs.shape) == 2 and len(rhs.shape) == 2 and terms[0][1] == terms[1][0] and len(shared) == 1:
        return _handles.wrap(MatMul(lhs, rhs))
    return _handles.wrap(composed_einsum([lhs, rhs], terms, output, sizes))


@overload
def outer(a: VarDiff, b: Var) -> VarDiff: ...
@overload
def outer(a: Var, b: VarDiff) -> VarDiff: ...
@overload
def outer(a: Var, b: Var) -> Var: ...
def outer(a: Var, b: Var) -> Var:
    """The outer product of two vectors: ``(n,) ⊗ (m,) → (n, m)``, ``result[i, j] = a[i] · b[j]``.

    >>> nk.outer(nk.ones(2), nk.full(3, 2.0)).forward().numpy().tolist()
    [[2.0, 2.0, 2.0], [2.0, 2.0, 2.0]]
    """
    lhs, rhs = _operand_nodes("outer", (a, b))
    if len(lhs.shape) != 1 or len(rhs.shape) != 1:
        raise ValueError(f"outer: both operands must be vectors (1-d), got shapes {lhs.shape} and {rhs.shape}")
    return _handles.wrap(Mul(Reshape(lhs, (-1, 1)), Reshape(rhs, (1, -1))))
