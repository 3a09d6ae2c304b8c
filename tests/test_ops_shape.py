"""Shape ops (rearrange.py, shape.py) and nk.pad (padding.py): values and gradients against
PyTorch (and numpy.pad), gradients against finite differences (float64), on every backend;
build-time errors."""

from __future__ import annotations

import numpy as np
import pytest

import neuronika as nk
from neuronika.testing import gradcheck
from torch_compare import against_torch

torch = pytest.importorskip("torch")
F = pytest.importorskip("torch.nn.functional")

CASES = [
    ("permute", (2, 3, 4), lambda x: x.permute(2, 0, 1), lambda t: t.permute(2, 0, 1)),
    ("permute_tuple_negative", (2, 3, 4), lambda x: x.permute((-1, 1, 0)), lambda t: t.permute(-1, 1, 0)),
    ("nk_permute", (2, 3), lambda x: nk.permute(x, (1, 0)), lambda t: torch.permute(t, (1, 0))),
    ("transpose", (2, 3, 4), lambda x: x.transpose(0, 2), lambda t: t.transpose(0, 2)),
    ("transpose_negative", (2, 3, 4), lambda x: nk.transpose(x, -1, -2), lambda t: torch.transpose(t, -1, -2)),
    ("squeeze_all", (2, 1, 3, 1), lambda x: x.squeeze(), lambda t: t.squeeze()),
    ("squeeze_axis", (2, 1, 3, 1), lambda x: x.squeeze(1), lambda t: t.squeeze(1)),
    ("squeeze_not_one_kept", (2, 1, 3), lambda x: nk.squeeze(x, 0), lambda t: torch.squeeze(t, 0)),
    ("squeeze_tuple", (1, 2, 1), lambda x: x.squeeze((0, -1)), lambda t: t.squeeze((0, -1))),
    ("expand", (3, 1), lambda x: x.expand(2, 3, 4), lambda t: t.expand(2, 3, 4)),
    ("expand_keep", (3, 1), lambda x: x.expand((-1, 5)), lambda t: t.expand(-1, 5)),
    ("broadcast_to", (4,), lambda x: nk.broadcast_to(x, (2, 3, 4)), lambda t: torch.broadcast_to(t, (2, 3, 4))),
    ("flip", (2, 3, 4), lambda x: x.flip(1), lambda t: t.flip(1)),
    ("flip_axes", (2, 3, 4), lambda x: nk.flip(x, (0, 2)), lambda t: torch.flip(t, (0, 2))),
    ("flip_all", (2, 3), lambda x: x.flip(), lambda t: t.flip((0, 1))),
    ("tile", (2, 3), lambda x: x.tile((2, 3)), lambda t: t.tile((2, 3))),
    ("tile_more_reps", (2, 3), lambda x: nk.tile(x, (2, 1, 2)), lambda t: torch.tile(t, (2, 1, 2))),
    ("tile_fewer_reps", (2, 3, 2), lambda x: x.tile(3), lambda t: t.tile((3,))),
    ("repeat_interleave", (2, 3), lambda x: x.repeat_interleave(2, axis=1), lambda t: t.repeat_interleave(2, dim=1)),
    ("repeat_interleave_flat", (2, 3), lambda x: x.repeat_interleave(3), lambda t: t.repeat_interleave(3)),
    ("repeat_interleave_negative", (2, 3, 2), lambda x: nk.repeat_interleave(x, 2, -3), lambda t: torch.repeat_interleave(t, 2, -3)),
    ("roll", (2, 5), lambda x: x.roll(2, 1), lambda t: t.roll(2, 1)),
    ("roll_flat", (2, 5), lambda x: x.roll(-3), lambda t: t.roll(-3)),
    ("roll_axes", (2, 3, 4), lambda x: nk.roll(x, (1, -2), (0, 2)), lambda t: torch.roll(t, (1, -2), (0, 2))),
]


@pytest.mark.parametrize("name, shape, ours, theirs", CASES, ids=[c[0] for c in CASES])
def test_shape_op_values_and_gradients_match_torch(device, rng, name, shape, ours, theirs):
    against_torch(ours, theirs, [rng.standard_normal(shape)], device)


@pytest.mark.parametrize("name, shape, ours, theirs", CASES, ids=[c[0] for c in CASES])
def test_shape_op_gradcheck(device, rng, name, shape, ours, theirs):
    assert gradcheck(lambda x: ours(x) * 1.0, [rng.standard_normal(shape)], device=device)


@pytest.mark.parametrize("sizes", [2, 3, [1, 4], [2, 0, 3]])
def test_split_values_and_gradients_match_torch(device, rng, sizes):
    a = rng.standard_normal((5, 2))
    against_torch(
        lambda x: nk.cat([p * float(i + 1) for i, p in enumerate(x.split(sizes))], 0),
        lambda t: torch.cat([p * float(i + 1) for i, p in enumerate(t.split(sizes))], 0),
        [a], device,
    )
    assert gradcheck(lambda x: nk.split(x, sizes)[-1] * x.split(sizes)[0].sum(), [a], device=device)


def test_split_along_an_axis_gives_a_tuple_of_pieces(device):
    pieces = nk.zeros((2, 7), device=device).split([3, 4], axis=-1)
    assert isinstance(pieces, tuple) and [p.shape for p in pieces] == [(2, 3), (2, 4)]


@pytest.mark.parametrize(
    "build, error, message",
    [
        (lambda x: x.permute(0, 1), ValueError, r"got 2 axes \(0, 1\) for a 3-d variable"),
        (lambda x: x.permute(0, 1, 1), ValueError, "not a permutation"),
        (lambda x: x.transpose(0, 3), ValueError, "axis 3 is out of range"),
        (lambda x: x.squeeze(5), ValueError, "out of range"),
        (lambda x: x.expand(5, 4), ValueError, "fewer axes"),
        (lambda x: x.expand(2, 5, 4), ValueError, r"axis 1 has size 3, which is neither 5 nor 1"),
        (lambda x: x.expand(-1, 2, 3, 4), ValueError, "-1 .* not allowed for the new leading axis"),
        (lambda x: x.flip((0, 0)), ValueError, "names an axis twice"),
        (lambda x: x.tile((2, -1)), ValueError, "reps must be non-negative"),
        (lambda x: x.repeat_interleave(1.5), TypeError, "repeats must be an int"),
        (lambda x: x.roll((1, 2), 0), ValueError, "give one shift per axis"),
        (lambda x: x.roll((1, 2)), ValueError, "without axis, shift must be one int"),
        (lambda x: x.split(0), ValueError, "piece size must be positive"),
        (lambda x: x.roll(1.5, 0), TypeError, "shift must be an int"),
        (lambda x: x.expand(2, 3.0, 4), TypeError, "every size must be an int"),
        (lambda x: x.split([1, 2]), ValueError, r"must be non-negative and add up to 2"),
    ],
)
def test_shape_ops_check_arguments_when_built(device, build, error, message):
    with pytest.raises(error, match=message):
        build(nk.zeros((2, 3, 4), device=device))


def test_expand_gradient_sums_over_the_repeated_axes(device):
    x = nk.ones((3, 1), device=device).requires_grad()
    x.expand(2, 3, 4).sum().backward()
    assert nk.backends.to_host(x.grad).tolist() == [[8.0]] * 3


# --- pad -------------------------------------------------------------------------------------------
TORCH_MODES = {"zero": "constant", "constant": "constant", "reflective": "reflect", "replicative": "replicate"}


def _torch_pad(pairs):
    """PyTorch's flat, last-axis-first pad tuple for per-axis (before, after) pairs (its
    reflect/replicate modes pad the axes after (N, C) only)."""
    return tuple(w for pair in reversed(pairs[2:]) for w in pair)


@pytest.mark.parametrize("mode", list(TORCH_MODES))
@pytest.mark.parametrize(
    "shape, pairs",
    [((2, 3, 5), ((0, 0), (0, 0), (2, 1))), ((1, 2, 4, 5), ((0, 0), (0, 0), (1, 3), (2, 0))), ((1, 1, 3, 3, 4), ((0, 0), (0, 0), (1, 1), (2, 1), (0, 3)))],
)
def test_pad_matches_torch_f_pad(device, rng, mode, shape, pairs):
    value = 0.5 if mode == "constant" else 0.0
    against_torch(
        lambda x: nk.pad(x, pairs, mode=mode, value=value),
        lambda t: F.pad(t, _torch_pad(pairs), mode=TORCH_MODES[mode], value=value) if TORCH_MODES[mode] == "constant" else F.pad(t, _torch_pad(pairs), mode=TORCH_MODES[mode]),
        [rng.standard_normal(shape)],
        device,
    )


NUMPY_MODES = {"zero": "constant", "constant": "constant", "reflective": "reflect", "replicative": "edge"}


@pytest.mark.parametrize("mode", list(NUMPY_MODES))
@pytest.mark.parametrize("pad_width", [1, (1, 2), ((2, 0), (0, 0), (1, 1)), [(0, 1)]])
def test_pad_takes_numpy_pad_width_and_matches_numpy_pad_on_any_axis(device, rng, mode, pad_width):
    a = rng.standard_normal((3, 4, 5))
    value = -1.5 if mode == "constant" else 0.0
    kwargs = {"constant_values": value} if NUMPY_MODES[mode] == "constant" else {}
    expected = np.pad(a, pad_width, mode=NUMPY_MODES[mode], **kwargs)
    got = nk.pad(nk.from_ndarray(a, dtype="float64", device=device), pad_width, mode, value).forward().numpy()
    np.testing.assert_array_equal(got, expected)
    assert gradcheck(lambda x: nk.pad(x, pad_width, mode, value), [a], device=device, max_elementwise=0, directions=4)


def test_pad_of_nothing_is_the_identity_with_its_gradient(device, rng):
    a = rng.standard_normal((2, 3))
    assert gradcheck(lambda x: nk.pad(x, 0, "reflective"), [a], device=device)


@pytest.mark.parametrize(
    "pad_width, mode, value, message",
    [
        (((0, 0), (3, 0)), "reflective", 0.0, r"reflective padding \(3, 0\) on axis 1 must be smaller than its size 3"),
        (((0, 0), (-1, 0)), "zero", 0.0, "every width must be non-negative"),
        (((0, 0), (1, 0), (1, 1)), "zero", 0.0, "does not fit a 2-d variable"),
        (1, "circular", 0.0, "unknown mode 'circular'"),
        (1, "reflective", 2.0, "only used by mode='constant'"),
    ],
)
def test_pad_checks_arguments_when_built(device, pad_width, mode, value, message):
    with pytest.raises(ValueError, match=message):
        nk.pad(nk.zeros((2, 3), device=device), pad_width, mode, value)


@pytest.mark.parametrize("size", [1, 2])
def test_split_of_an_empty_axis_gives_one_empty_piece(device, size):
    """PyTorch's ``split`` of a size-0 axis by a piece size gives one empty piece (so
    ``(only,) = x.split(n)`` works), where no piece at all was returned."""
    torch = pytest.importorskip("torch")
    pieces = nk.zeros((2, 0), device=device).split(size, 1)
    expected = torch.zeros(2, 0).split(size, 1)
    assert [p.shape for p in pieces] == [tuple(t.shape) for t in expected] == [(2, 0)]
