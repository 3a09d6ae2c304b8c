"""Issue 12, empty batches, clear errors and crate parity (items 18, 20, 21, 22, 24): each test
failed before the fix and states the rule that holds now, on every backend."""

from __future__ import annotations

import numpy as np
import pytest

import neuronika as nk
from neuronika import nn
from neuronika.nn import loss as L


def host(device: str, array) -> np.ndarray:
    return np.asarray(nk.backends.get(device).to_host(array))


# --- 18. a batch of 0 through every layer and loss ---------------------------------------------
@pytest.mark.parametrize("layer, shape", [
    (lambda d: nn.Conv1d(2, 3, 3, device=d), (0, 2, 5)),
    (lambda d: nn.Conv2d(2, 3, 3, device=d), (0, 2, 5, 5)),
    (lambda d: nn.Conv2d(2, 4, 3, groups=2, stride=2, device=d), (0, 2, 7, 7)),
    (lambda d: nn.Conv3d(2, 3, 2, device=d), (0, 2, 3, 3, 3)),
    (lambda d: nn.Linear(2, 3, device=d), (0, 2)),
    (lambda d: nn.Dropout(0.5), (0, 2)),
], ids=["conv1d", "conv2d", "conv2d-groups-stride", "conv3d", "linear", "dropout"])
def test_an_empty_batch_goes_forward_and_backward_through_a_layer(device, layer, shape):
    module = layer(device)
    x = nk.zeros(shape, device=device).requires_grad()
    y = module(x).sum()
    assert y.forward().item() == 0.0
    y.backward()
    assert x.grad.shape == shape
    for param in module.parameters():             # an empty batch contributes nothing
        np.testing.assert_array_equal(host(device, param.grad), np.zeros(param.shape))


def test_an_empty_batch_goes_through_the_recurrent_cells_and_every_loss(device):
    x, state = nk.zeros((0, 3), device=device), nk.zeros((0, 4), device=device)
    cell, hidden = nn.LSTMCell(3, 4, device=device)((state, state), x)
    gru = nn.GRUCell(3, 4, device=device)(state, x)
    assert cell.shape == hidden.shape == gru.shape == (0, 4)
    total = cell.sum() + hidden.sum() + gru.sum()
    total.forward()
    total.backward()
    for loss in ("mse_loss", "mae_loss", "bce_loss", "bce_with_logits_loss", "kldiv_loss"):
        assert getattr(L, loss)(state, state, reduction="sum").forward().item() == 0.0
    log_p = nk.zeros((0, 4), device=device).log_softmax(1)
    assert L.nll_loss(log_p, nk.zeros(0, device=device), reduction="sum").forward().item() == 0.0


# --- 20. NumPy scalars and dtype objects work like their Python equivalents ----------------------
def test_numpy_scalars_and_dtypes_are_accepted_as_their_python_equivalents(device):
    assert nk.zeros(3, dtype=np.float64, device=device).dtype == nk.float64
    assert nk.zeros(3, dtype=np.dtype("float64"), device=device).dtype == nk.float64
    assert nk.zeros(np.int64(3), device=device).shape == (3,)
    assert nk.zeros((np.int32(2), 3), device=device).shape == (2, 3)
    x = nk.ones((2, 3), device=device)
    assert x.sum(axis=np.int64(0)).shape == (3,)
    assert x.reshape(np.int64(6)).shape == (6,)
    assert x.unsqueeze(np.int64(0)).shape == (1, 2, 3)
    np.testing.assert_array_equal((x * np.float32(2)).forward().numpy(), np.full((2, 3), 2.0))
    np.testing.assert_array_equal((x ** np.int64(2)).forward().numpy(), np.ones((2, 3)))
    layer = nn.Linear(np.int64(3), np.int64(2), device=device)
    assert layer.weight.shape == (2, 3)
    optimizer = nk.optim.SGD(layer.parameters(), lr=np.float32(0.5), momentum=np.float64(0.1))
    assert optimizer.lr == 0.5
    assert nk.linspace(0, 1, np.int64(3), device=device).shape == (3,)


# --- 21. silently accepted nonsense is refused -------------------------------------------------
NONSENSE = {
    "eye((2, 3))": (TypeError, "eye: n must be an int", lambda d: nk.eye((2, 3), device=d)),
    "linspace(0, 1, 2.7)": (TypeError, "linspace: num must be an int", lambda d: nk.linspace(0, 1, 2.7, device=d)),
    "reshape(2.7, 3)": (TypeError, "reshape: shape must be an int", lambda d: nk.ones(6, device=d).reshape(2.7, 3)),
    "reshape(True, 6)": (TypeError, "got bool True", lambda d: nk.ones(6, device=d).reshape(True, 6)),
    "flatten(5) on 2-d": (ValueError, "flatten: axis 5 is out of range", lambda d: nk.ones((2, 3), device=d).flatten(5)),
    "dropout(True)": (TypeError, "dropout: probability p must be a real number", lambda d: nk.ones(3, device=d).dropout(True)),
    "dropout('0.5')": (TypeError, "got str '0.5'", lambda d: nk.ones(3, device=d).dropout("0.5")),
    "Dropout('0.5')": (TypeError, "Dropout: probability p", lambda d: nn.Dropout("0.5")),
    "Linear(bias='no')": (TypeError, "Linear: bias must be True or False", lambda d: nn.Linear(3, 2, bias="no", device=d)),
    "Conv2d(bias='no')": (TypeError, "Conv2d: bias must be True or False", lambda d: nn.Conv2d(1, 1, 1, bias="no", device=d)),
    "chunks((1.9, 1))": (TypeError, "chunks: chunk_shape must be an int", lambda d: nk.ones((4, 2), device=d).chunks((1.9, 1))),
    "sum(keepdims='yes')": (TypeError, "sum: keepdims must be True or False", lambda d: nk.ones(3, device=d).sum(keepdims="yes")),
    "leaky_relu('0.1')": (TypeError, "leaky_relu: slope", lambda d: nk.ones(3, device=d).leaky_relu("0.1")),
    "full(3, '1')": (TypeError, "full: value must be a real number", lambda d: nk.full(3, "1", device=d)),
    "device 'cpu:'": (ValueError, "index after ':'", lambda d: nk.zeros(1, device="cpu:")),
    "device 'array_api_strict:01'": (ValueError, "without leading zeros", lambda d: nk.zeros(1, device="array_api_strict:01")),
}


@pytest.mark.parametrize("case", list(NONSENSE))
def test_nonsense_arguments_are_refused_with_a_clear_error(device, case):
    error, message, call = NONSENSE[case]
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        call(device)


# --- 22. the project's own message, at build time ---------------------------------------------
def test_errors_from_deep_inside_now_say_what_at_build_time(device):
    with pytest.raises(ValueError, match="linspace: num must be non-negative, got -1"):
        nk.linspace(0, 1, -1, device=device)
    with pytest.raises(ValueError, match="geomspace: num must be non-negative, got -2"):
        nk.geomspace(1, 2, -2, device=device)
    with pytest.raises(ValueError, match="logspace: num must be non-negative"):
        nk.logspace(0, 1, -1, device=device)
    w = nk.ones(3, device=device).requires_grad()
    y = w * 2.0
    y.forward()
    with pytest.raises(ValueError, match=r"backward: the seed has shape \(4,\) but the variable has shape \(3,\)"):
        y.backward(np.ones(4, dtype=np.float32))
    with pytest.raises(ValueError, match=r"softmax: axis 1 of the \(2, 0\) variable is empty"):
        nk.ones((2, 0), device=device).softmax(1)
    with pytest.raises(ValueError, match="log_softmax: axis 1"):
        nk.ones((2, 0), device=device).log_softmax(1)
    with pytest.raises(TypeError, match="Linear: in_features must be an int, got ndarray"):
        nn.Linear(np.ones(3), 2, device=device)
    with pytest.raises(ValueError, match="shuffle: seed must be a non-negative int"):
        nk.data.Dataset(np.zeros((3, 1)), device=device).shuffle(seed=-1)
    with pytest.raises(MemoryError, match=r"zeros: cannot allocate a \(1000000, 1000000, 1000000\) float32 array"):
        nk.zeros((10**6,) * 3, device=device)
    with pytest.raises(MemoryError, match="rand: cannot allocate"):
        nk.rand((10**6,) * 3, device=device)


def test_a_dtype_the_backend_lacks_is_refused_when_the_op_is_built(device):
    backend = nk.backends.get(device)
    if "float16" in backend._xp_dtypes:
        pytest.skip(f"{device} has float16")
    for build in (
        lambda: nk.rand(3, dtype="float16", device=device),
        lambda: nk.zeros(3, dtype="float16", device=device),
        lambda: nk.from_ndarray(np.ones(2, dtype=np.float16), device=device),
        lambda: nk.ones(3, device=device).requires_grad().astype("float16"),   # not at forward
        lambda: nk.ones(3, dtype="float16").requires_grad().to(device),
    ):
        with pytest.raises(TypeError, match=f"the {backend.name} backend has no float16"):
            build()


def test_fan_based_initialisers_leave_a_zero_element_weight_as_it_is(device):
    weight = nk.zeros((3, 0), device=device).requires_grad()
    for init in (nn.init.kaiming_uniform, nn.init.kaiming_normal, nn.init.xavier_uniform, nn.init.xavier_normal):
        assert init(weight) is weight and weight.shape == (3, 0)


def test_optimizer_load_state_dict_refuses_a_negative_step_and_changes_nothing(device):
    layer = nn.Linear(2, 1, device=device)
    optimizer = nk.optim.Adam(layer.parameters(), lr=0.1)
    state = optimizer.state_dict()
    state["step"] = -3
    with pytest.raises(ValueError, match="step must be an integer >= 0"):
        optimizer.load_state_dict(state)
    assert optimizer.steps == 0
    state["step"] = 2.5
    with pytest.raises(ValueError, match="step must be an integer >= 0"):
        optimizer.load_state_dict(state)


# --- 24. logspace with a negative base follows the crate ---------------------------------------
def test_logspace_with_a_negative_base_is_negative_as_the_crate(device):
    values = nk.logspace(0.0, 2.0, 5, base=-2.0, dtype="float64", device=device).numpy()
    np.testing.assert_allclose(values, -(2.0 ** np.linspace(0.0, 2.0, 5)))
    positive = nk.logspace(0.0, 2.0, 3, base=10.0, dtype="float64", device=device).numpy()
    np.testing.assert_allclose(positive, [1.0, 10.0, 100.0])


@pytest.mark.parametrize(
    "name, extra",
    [("erf", ()), ("sin", ()), ("expm1", ()), ("round", ()), ("flip", ()), ("permute", (0,)), ("transpose", (0, 0)),
     ("roll", (1,)), ("tile", (2,)), ("repeat_interleave", (2,)), ("split", (1,)), ("squeeze", ()),
     ("broadcast_to", ((3,),)), ("pad", (1,)), ("logical_not", ()), ("matmul", (None,))],
)
def test_module_functions_name_themselves_when_given_a_non_variable(device, name, extra):
    """``nk.<op>(ndarray)`` raises a TypeError naming the op and the fix, where it was
    ``AttributeError: 'numpy.ndarray' object has no attribute '_node'`` from inside the op; the
    same call on a variable of the device builds."""
    variable = nk.ones(3, dtype="float64", device=device)
    args = tuple(variable if a is None else a for a in extra)
    with pytest.raises(TypeError, match=rf"^{name}: expected a neuronika variable, got ndarray; wrap arrays with nk.from_ndarray"):
        getattr(nk, name)(np.ones(3), *args)
    if name != "logical_not":
        built = getattr(nk, name)(variable, *args)
        (built[0] if isinstance(built, tuple) else built).forward()
