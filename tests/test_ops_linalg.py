"""matmul with the Array API's batched rules, tensordot, einsum (the backend's einsum and the
composed path) and outer: values and gradients against PyTorch, finite differences (float64), on
every backend; build-time errors."""

from __future__ import annotations

import numpy as np
import pytest

import neuronika as nk
from neuronika.autograd import contraction, linalg
from neuronika.testing import gradcheck
from torch_compare import against_torch

torch = pytest.importorskip("torch")

MATMUL_SHAPES = [
    ((2, 3, 4), (2, 4, 5)),  # batched
    ((5, 1, 2, 3), (4, 3, 2)),  # broadcast batch axes
    ((2, 3, 4), (4, 5)),  # a matrix against a batch
    ((3,), (2, 3, 4)),  # 1-d left: a row, dropped
    ((2, 3, 4), (4,)),  # 1-d right: a column, dropped
    ((1, 3, 4), (2, 4, 2)),
    ((2, 3), (3, 4)), ((2, 3), (3,)), ((3,), (3, 4)), ((3,), (3,)),  # the 2-d nodes
]


@pytest.mark.parametrize("lhs, rhs", MATMUL_SHAPES)
def test_matmul_values_and_gradients_match_torch(device, rng, lhs, rhs):
    a, b = rng.standard_normal(lhs), rng.standard_normal(rhs)
    against_torch(lambda x, y: x @ y, torch.matmul, [a, b], device)
    against_torch(nk.matmul, torch.matmul, [a, b], device)
    assert gradcheck(lambda x, y: x.matmul(y), [a, b], device=device)


@pytest.mark.parametrize(
    "lhs, rhs, node",
    [((2, 3), (3, 4), linalg.MatMul), ((2, 3), (3,), linalg.MatVec), ((3,), (3, 4), linalg.VecMat), ((3,), (3,), linalg.VecVec), ((2, 2, 3), (3, 4), linalg.BatchedMatMul)],
)
def test_matmul_keeps_the_2d_nodes_for_vectors_and_matrices(device, lhs, rhs, node):
    assert type((nk.ones(lhs, device=device) @ nk.ones(rhs, device=device))._node) is node


@pytest.mark.parametrize(
    "lhs, rhs, message",
    [
        ((2, 3, 4), (2, 5, 6), r"inner sizes 4 \(last axis on the left\) and 5 \(second-to-last axis on the right\) differ"),
        ((2, 3, 4), (3, 4, 5), r"batch axes \(2,\) and \(3,\) do not broadcast"),
        ((2, 3, 4), (5,), r"inner sizes 4 .* and 5 \(only axis on the right\)"),
        ((), (3,), "at least one axis"),
    ],
)
def test_matmul_checks_shapes_when_built(device, lhs, rhs, message):
    with pytest.raises(ValueError, match=message):
        nk.ones(lhs, device=device) @ nk.ones(rhs, device=device)


@pytest.mark.parametrize(
    "lhs, rhs, axes",
    [((2, 3, 4), (3, 4, 5), 2), ((2, 3), (3, 4), 1), ((2, 3), (4,), 0), ((2, 3, 4), (4, 2, 5), ([0, 2], [1, 0])), ((3, 4), (4, 3), ((-1, 0), (0, 1)))],
)
def test_tensordot_values_and_gradients_match_torch(device, rng, lhs, rhs, axes):
    a, b = rng.standard_normal(lhs), rng.standard_normal(rhs)
    against_torch(lambda x, y: nk.tensordot(x, y, axes), lambda s, t: torch.tensordot(s, t, dims=axes), [a, b], device)
    assert gradcheck(lambda x, y: nk.tensordot(x, y, axes), [a, b], device=device)


@pytest.mark.parametrize(
    "axes, message",
    [(([0], [0]), r"axis 0 of a \(2, 3\) \(size 2\) and axis 0 of b \(3, 4\) \(size 3\) differ"), (3, "axes=3 must be between 0"), (([0, 1], [0]), "2 axes of a")],
)
def test_tensordot_checks_axes_when_built(device, axes, message):
    with pytest.raises(ValueError, match=message):
        nk.tensordot(nk.ones((2, 3), device=device), nk.ones((3, 4), device=device), axes)


EINSUM = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 4)]),
    ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),  # implicit output
    ("ij,j->i", [(2, 3), (3,)]),
    ("i,i->", [(4,), (4,)]),
    ("i,j->ij", [(2,), (3,)]),
    ("ij->", [(2, 3)]),
    ("ij->j", [(2, 3)]),
    ("ijk->kji", [(2, 3, 4)]),
    ("ii->i", [(3, 3)]),  # diagonal
    ("ii", [(3, 3)]),  # trace
    ("iij->ji", [(3, 3, 2)]),
    ("...ij,...jk->...ik", [(2, 1, 2, 3), (4, 3, 2)]),  # ellipsis, broadcast
    ("ij,ij->ij", [(2, 3), (1, 3)]),  # size-1 broadcast of a letter
    ("ab,bc,cd->ad", [(2, 3), (3, 4), (4, 2)]),
    ("ab,cd->", [(2, 3), (3, 2)]),  # letters summed within each operand
]


@pytest.mark.parametrize("subscripts, shapes", EINSUM, ids=[e[0] for e in EINSUM])
def test_einsum_values_and_gradients_match_torch(device, rng, subscripts, shapes):
    arrays = [rng.standard_normal(s) for s in shapes]
    against_torch(lambda *v: nk.einsum(subscripts, *v), lambda *t: torch.einsum(subscripts, *t), arrays, device)
    assert gradcheck(lambda *v: nk.einsum(subscripts, list(v)), arrays, device=device)


@pytest.mark.parametrize("subscripts, shapes", EINSUM, ids=[e[0] for e in EINSUM])
def test_composed_einsum_agrees_with_the_backend_einsum(rng, subscripts, shapes):
    # the path array_api_strict takes, against NumPy's einsum, both built on the NumPy backend
    arrays = [rng.standard_normal(s) for s in shapes]
    leaves = [nk.from_ndarray(a, dtype="float64").requires_grad() for a in arrays]
    nodes = [leaf._node for leaf in leaves]
    terms, output = contraction.parse_subscripts(subscripts, [n.shape for n in nodes])
    sizes = contraction.letter_sizes(terms, [n.shape for n in nodes], subscripts)
    composed = nk.autograd.variable.wrap(contraction.composed_einsum(nodes, terms, output, sizes))
    np.testing.assert_allclose(composed.forward().numpy(), np.einsum(subscripts, *arrays), rtol=1e-12, atol=1e-12)


def test_einsum_uses_the_backend_capability_where_there_is_one(device):
    a, b = nk.ones((2, 3), device=device), nk.ones((3, 4), device=device)
    node = nk.einsum("ij,jk->ik", a, b)._node
    has_einsum = "einsum" in nk.backends.get(device).kernels
    assert isinstance(node, contraction.Einsum) == has_einsum


@pytest.mark.parametrize(
    "subscripts, shapes, message",
    [
        ("ij,jk->ik", [(2, 3)], "names 2 operand"),
        ("ij,jk->ik", [(2, 3), (4, 5)], "index 'j' .* has size 3 in one operand and 4"),
        ("ijk->i", [(2, 3)], "names 3 axes but its operand has shape"),
        ("ij->ik", [(2, 3)], "appear in no operand"),
        ("ij->ii", [(2, 3)], "distinct letters"),
        ("i1->i", [(2, 3)], "letters and one '...'"),
    ],
)
def test_einsum_checks_subscripts_when_built(device, subscripts, shapes, message):
    with pytest.raises(ValueError, match=message):
        nk.einsum(subscripts, *[nk.ones(s, device=device) for s in shapes])


def test_outer_values_and_gradients_match_torch(device, rng):
    arrays = [rng.standard_normal(3), rng.standard_normal(4)]
    against_torch(nk.outer, torch.outer, arrays, device)
    against_torch(lambda x, y: x.outer(y), torch.outer, arrays, device)
    assert gradcheck(nk.outer, arrays, device=device)
    with pytest.raises(ValueError, match="both operands must be vectors"):
        nk.outer(nk.ones((2, 2), device=device), nk.ones(2, device=device))


def test_einsum_gradient_keeps_size_one_summed_axes(device):
    """A letter summed away whose axis has size 1 (``'ij->i'`` on ``(2, 1)``) still gets its axis
    back in the gradient: the gradient has the operand's shape, not the output's, on both the
    backend's einsum and the composed path (was ``(2,)``, then a raw NumPy error through permute)."""
    x = nk.from_ndarray(np.arange(2.0).reshape(2, 1), dtype="float64", device=device).requires_grad()
    y = nk.einsum("ij->i", x)
    y.forward()
    y.backward(nk.backends.get(device).xp.ones((2,), dtype=nk.backends.get(device).xp.float64))
    assert x.grad.shape == (2, 1)
    against_torch(
        lambda a: nk.einsum("ijk->ki", a.permute(2, 1, 0)),
        lambda a: __import__("torch").einsum("ijk->ki", a.permute(2, 1, 0)),
        [np.random.default_rng(0).standard_normal((1, 1, 2))],
        device,
    )


@pytest.mark.parametrize(
    "spec, shapes",
    [("ij,jk->ik", [(3, 0), (0, 2)]), ("ij,jk->ik", [(0, 2), (2, 3)]), ("i,j->ij", [(3,), (0,)]),
     ("ii->i", [(0, 0)]), ("...i,...i->...", [(1, 0), (3, 0)]), ("bij,bjk->bik", [(0, 2, 3), (0, 3, 2)])],
)
def test_einsum_zero_size_letters(device, spec, shapes):
    """A letter of size 0 is 0 (not broadcast up to 1): the result is PyTorch's (zeros or empty)
    and the gradients are zeros, where an ``expand ... neither 1 nor 1`` error was raised."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    against_torch(lambda *v: nk.einsum(spec, *v), lambda *t: torch.einsum(spec, *t),
                  [rng.standard_normal(s) for s in shapes], device)
