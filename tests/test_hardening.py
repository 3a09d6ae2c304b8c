"""Issue 12, silent wrong numbers: each test reproduces one defect found by the adversarial review
(it failed before the fix) and states the rule that now holds, on every backend."""

from __future__ import annotations

import io
import operator
import threading

import numpy as np
import pytest

import neuronika as nk
from neuronika import nn
from neuronika.nn import loss as L


def host(device: str, array) -> np.ndarray:
    return np.asarray(nk.backends.get(device).to_host(array))


def fresh_grad(device, weight, bias, x):
    """Gradients of sum(x·Wᵀ + b) for a new Linear holding the same values (the reference)."""
    twin = nn.Linear(weight.shape[1], weight.shape[0], dtype="float64", device=device)
    twin.load_state_dict({"weight": host(device, weight), "bias": host(device, bias)})
    loss = twin(x).sum()
    loss.forward()
    loss.backward()
    return host(device, twin.weight.grad), host(device, twin.bias.grad)


# --- 1. NumPy arrays on either side of an operator -----------------------------------------------
@pytest.mark.parametrize("op", ["add", "sub", "mul", "truediv", "matmul"])
def test_numpy_array_on_either_side_of_an_operator_raises_the_same_type_error(device, op):
    w = nk.ones(3, dtype="float64", device=device).requires_grad()
    array = np.array([1.0, 2.0, 3.0])
    function = getattr(operator, op)
    for left, right in ((array, w), (w, array)):
        with pytest.raises(TypeError, match="from_ndarray") as caught:
            function(left, right)
        assert "(3,) variable with ndarray" in str(caught.value)


def test_numpy_functions_refuse_variables(device):
    w = nk.ones(3, device=device)
    with pytest.raises(TypeError, match="x.sum()"):
        np.sum(w)
    with pytest.raises(TypeError):
        np.exp(w)


def test_numpy_scalar_on_the_left_is_a_number(device):
    w = nk.ones(3, dtype="float64", device=device).requires_grad()
    y = (np.float64(3.0) * w + np.float32(1.0)).sum()
    y.forward()
    y.backward()
    assert y.item() == 12.0
    np.testing.assert_array_equal(host(device, w.grad), [3.0, 3.0, 3.0])


# --- 2. no_grad: never across graphs ---------------------------------------------------------
def test_validation_graph_with_no_grad_leaves_training_gradients_right(device):
    model = nn.Linear(3, 2, dtype="float64", device=device)
    x = nk.from_ndarray(np.arange(12.0).reshape(4, 3), device=device)
    training = model(x).sum()                     # built before the validation graph
    validation = model(x).pow(2).mean()
    validation.no_grad()
    validation.forward()
    validation.backward()
    later = model(x).sum()                        # and one built after it
    for loss in (training, later):
        model.zero_grad()
        loss.forward()
        loss.backward()
        expected_w, expected_b = fresh_grad(device, model.weight.data, model.bias.data, x)
        np.testing.assert_allclose(host(device, model.weight.grad), expected_w)
        np.testing.assert_allclose(host(device, model.bias.grad), expected_b)
        np.testing.assert_allclose(expected_b, [4.0, 4.0])


def test_validation_graph_with_no_grad_matches_pytorch(device):
    torch = pytest.importorskip("torch")
    model = nn.Linear(3, 2, dtype="float64", device=device)
    peer = torch.nn.Linear(3, 2, dtype=torch.float64)
    model.load_state_dict({k: v.detach().numpy() for k, v in peer.state_dict().items()})
    inputs = np.random.default_rng(0).normal(size=(5, 3))
    with nk.no_grad():
        model(nk.from_ndarray(inputs, device=device)).sum().forward()
    loss = model(nk.from_ndarray(inputs, device=device)).tanh().sum()
    loss.forward()
    loss.backward()
    peer(torch.from_numpy(inputs)).tanh().sum().backward()
    np.testing.assert_allclose(host(device, model.weight.grad), peer.weight.grad.numpy())
    np.testing.assert_allclose(host(device, model.bias.grad), peer.bias.grad.numpy())


def test_no_grad_block_builds_plain_variables_and_restores_on_exit(device):
    w = nk.ones(2, device=device).requires_grad()
    with pytest.raises(RuntimeError):
        with nk.no_grad():
            inside = w * 2.0
            assert not nk.is_grad_enabled()
            raise RuntimeError("leaving the block on an error restores the mode")
    assert type(inside) is nk.Var
    assert nk.is_grad_enabled()
    assert type(w * 2.0) is nk.VarDiff
    with nk.no_grad():
        created = nk.ones(2, device=device).requires_grad()   # leaves may still be promoted
        with nk.enable_grad():
            assert type(w * 2.0) is nk.VarDiff
    assert type(created * 2.0) is nk.VarDiff


def test_no_grad_block_is_local_to_its_thread(device):
    w = nk.ones(2, device=device).requires_grad()
    entered, built = threading.Event(), threading.Event()
    made: list[object] = []

    def validate() -> None:
        with nk.no_grad():
            entered.set()
            built.wait(10)
            made.append(w * 2.0)

    thread = threading.Thread(target=validate)
    thread.start()
    entered.wait(10)
    y = w * 2.0                                   # another thread is inside no_grad now
    built.set()
    thread.join()
    assert type(y) is nk.VarDiff
    assert len(made) == 1 and type(made[0]) is nk.Var


def test_graph_no_grad_does_not_touch_the_parameters_and_requires_grad_keeps_them(device):
    w = nk.ones(2, device=device).requires_grad()
    frozen = (w * 3.0).sum()
    frozen.no_grad()
    assert w.requires_grad() is not None and type(w * 1.0) is nk.VarDiff
    other = (w * 5.0).sum()
    other.forward()
    other.backward()
    np.testing.assert_array_equal(host(device, w.grad), [5.0, 5.0])
    frozen.forward()
    frozen.backward()                             # computes nothing
    np.testing.assert_array_equal(host(device, w.grad), [5.0, 5.0])


def test_detach_passes_no_gradient_and_follows_the_value(device):
    w = nk.full(3, 2.0, dtype="float64", device=device).requires_grad()
    y = (w.detach() * w).sum()
    y.forward()
    y.backward()
    np.testing.assert_array_equal(host(device, w.grad), [2.0, 2.0, 2.0])  # not 2·w
    assert type(w.detach()) is nk.Var
    detached = (w * 3.0).detach()
    w.assign(np.ones(3))
    np.testing.assert_array_equal(detached.forward().numpy(), [3.0, 3.0, 3.0])


# --- 3. float16 class indices ------------------------------------------------------------------
def test_float16_nll_loss_with_more_than_2048_classes_picks_the_right_class(device):
    if "float16" not in nk.backends.get(device)._xp_dtypes:
        pytest.skip(f"{device} has no float16")
    classes = 3000
    values = np.zeros((2, classes), dtype=np.float16)
    values[0, 2049], values[0, 2048], values[1, 2999] = -1.0, -7.0, -2.0
    x = nk.from_ndarray(values, device=device).requires_grad()
    loss = L.nll_loss(x, np.array([2049, 2999]), reduction="sum")
    loss.forward()
    loss.backward()
    assert loss.item() == 3.0
    grad = host(device, x.grad)
    assert grad[0, 2049] == -1.0 and grad[0, 2048] == 0.0 and grad[1, 2999] == -1.0
    with pytest.raises(TypeError, match="float16 target cannot hold"):
        L.nll_loss(x, nk.from_ndarray([1.0, 2.0], dtype="float16", device=device))


# --- 4. gradient ownership ---------------------------------------------------------------------
def test_every_leaf_gradient_is_its_own_writable_array(device):
    a = nk.ones((2, 3), device=device).requires_grad()
    b = nk.ones((2, 3), device=device).requires_grad()
    y = (a + b).sum()                             # both receive one broadcast (read-only) array
    y.forward()
    y.backward()
    grad_a = a.grad
    with nk.backends.get(device).scope():  # raw array arithmetic runs on the current device (CuPy)
        grad_a *= 0.5
    np.testing.assert_array_equal(host(device, a.grad), np.full((2, 3), 0.5))
    np.testing.assert_array_equal(host(device, b.grad), np.ones((2, 3)))


def test_a_backward_seed_is_copied(device):
    w = nk.ones(3, device=device).requires_grad()
    y = w + 0.0                                   # passes the seed on unchanged
    y.forward()
    seed = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    y.backward(seed)
    seed[:] = 100.0
    np.testing.assert_array_equal(host(device, w.grad), [1.0, 2.0, 3.0])


def test_param_grad_setter_copies(device):
    w = nk.ones(2, device=device).requires_grad()
    param = (w * 1.0).parameters()[0]
    mine = np.array([1.0, 2.0], dtype=np.float32)
    param.grad = mine
    mine[:] = 0.0
    np.testing.assert_array_equal(host(device, param.grad), [1.0, 2.0])


# --- 5. assign and .data ---------------------------------------------------------------------
def test_assign_and_param_data_copy_the_callers_array(device):
    x = nk.zeros(3, device=device)
    batch = np.ones(3, dtype=np.float32)
    x.assign(batch)
    batch[0] = 5.0
    np.testing.assert_array_equal(x.numpy(), [1.0, 1.0, 1.0])
    w = nk.zeros(2, device=device).requires_grad()
    mine = np.ones(2, dtype=np.float32)
    loss = (w * 1.0).sum()
    param = loss.parameters()[0]
    param.data = mine
    loss.forward()
    loss.backward()
    nk.optim.SGD([param], lr=0.5).step()
    np.testing.assert_array_equal(mine, [1.0, 1.0])           # the user's array is untouched
    np.testing.assert_array_equal(w.numpy(), [0.5, 0.5])


def test_write_through_data_is_seen_by_the_next_forward(device):
    w = nk.ones(3, device=device).requires_grad()
    y = (w * 2.0).sum()
    assert y.forward().item() == 6.0
    with nk.backends.get(device).scope():  # raw array writes run on the current device (CuPy)
        w.data[0] = 4.0
    assert y.forward().item() == 12.0
    param = y.parameters()[0]
    with nk.backends.get(device).scope():
        param.data[1] = 0.0
    assert y.forward().item() == 10.0


# --- 6. requires_grad after a graph was built ------------------------------------------------
def test_requires_grad_on_a_leaf_already_used_raises_naming_the_fix(device):
    x = nk.ones(3, device=device)
    partial = x.exp()
    with pytest.raises(RuntimeError, match="before building ops on it"):
        x.requires_grad()
    del partial
    y = nk.ones(3, device=device)
    converted = y.to(dtype="float64")             # a conversion computed at once is not a use
    assert type(y.requires_grad()) is nk.VarDiff and converted.dtype == nk.float64


# --- 7. values that became NaN or lost parts ---------------------------------------------------
def test_backward_none_is_the_implicit_seed_one(device):
    w = nk.ones(2, device=device).requires_grad()
    y = (w * 2.0).sum()
    y.forward()
    y.backward(None)
    np.testing.assert_array_equal(host(device, w.grad), [2.0, 2.0])


BAD_VALUES = {
    "None": None,
    "complex": np.array([1.0 + 2.0j]),
    "python complex": 1 + 2j,
    "datetime": np.array(["2020-01-01"], dtype="datetime64[D]"),
    "masked": np.ma.array([1.0], mask=[True]),
    "longdouble": np.ones(1, dtype=np.longdouble),
    "strings": np.array(["1.0"]),
    "list with None": [1.0, None],
}


@pytest.mark.parametrize("name", list(BAD_VALUES))
def test_values_that_are_not_real_numbers_raise_at_every_door(device, name):
    if name == "longdouble" and np.dtype(np.longdouble).itemsize <= 8:
        pytest.skip("longdouble is float64 on this platform")
    value = BAD_VALUES[name]
    leaf = nk.zeros(1, device=device)
    w = nk.zeros(1, device=device).requires_grad()
    param = (w * 1.0).parameters()[0]
    model = nn.Linear(1, 1, device=device)
    doors = {
        "from_ndarray": lambda: nk.from_ndarray(value, device=device),
        "assign": lambda: leaf.assign(value),
        "Param.data": lambda: setattr(param, "data", value),
        "loss target": lambda: L.mse_loss(leaf, value),
        "seed": lambda: (w * 1.0).backward(value),
        "dataset": lambda: nk.data.Dataset(value, device=device),
        "load_state_dict": lambda: model.load_state_dict({"weight": value, "bias": np.zeros(1)}),
    }
    for door, call in doors.items():
        if name == "None" and door == "seed":
            continue  # backward(None) is the implicit seed 1.0 (see the test above)
        with pytest.raises(TypeError, match="Accepted: real numbers"):
            call()
    np.testing.assert_array_equal(leaf.numpy(), [0.0])          # nothing was written


def test_csv_fn_returning_none_raises(device):
    loader = nk.data.DataLoader().without_headers()
    with pytest.raises(TypeError, match="line 1: fn must return a flat sequence of numbers, it returned None"):
        loader.from_reader(io.StringIO("a,b\n"), fn=lambda cells: None, device=device)


# --- 8. loss domains and empty batches ---------------------------------------------------------
def test_bce_with_probabilities_outside_0_1_is_nan_not_negative(device):
    p = nk.from_ndarray([1.5, 0.5, -0.2], dtype="float64", device=device).requires_grad()
    loss = L.bce_loss(p, [1.0, 0.0, 0.0], reduction="sum")
    loss.forward()
    loss.backward()
    assert np.isnan(loss.item())
    grad = host(device, p.grad)
    assert np.isnan(grad[0]) and np.isnan(grad[2]) and grad[1] == pytest.approx(2.0)


def test_kldiv_with_a_negative_target_is_nan_as_pytorch(device):
    torch = pytest.importorskip("torch")
    x, t = np.log([[0.5, 0.5]]), np.array([[-0.5, 1.5]])
    loss = L.kldiv_loss(nk.from_ndarray(x, device=device), t, reduction="sum")
    expected = torch.nn.functional.kl_div(torch.from_numpy(x), torch.from_numpy(t), reduction="sum")
    assert np.isnan(loss.forward().item()) and torch.isnan(expected)


@pytest.mark.parametrize("loss", ["mse_loss", "mae_loss", "bce_loss", "bce_with_logits_loss", "kldiv_loss", "nll_loss"])
def test_empty_batch_mean_raises_one_error_and_sum_is_zero(device, loss):
    function = getattr(L, loss)
    x = nk.zeros((0, 3), device=device)
    target = nk.zeros((0,) if loss == "nll_loss" else (0, 3), device=device)
    with pytest.raises(ValueError, match=f"{loss}: reduction='mean' over an empty batch"):
        function(x, target)
    assert function(x, target, reduction="sum").forward().item() == 0.0


# --- 9. NLL targets assigned after the build ---------------------------------------------------
def test_nll_target_assigned_out_of_range_raises_on_forward(device):
    x = nk.from_ndarray(np.log(np.full((2, 4), 0.25)), device=device).requires_grad()
    target = nk.from_ndarray([1.0, 2.0], device=device)
    loss = L.nll_loss(x, target)
    assert loss.forward().item() == pytest.approx(np.log(4.0))
    target.assign([1.0, 11.0])
    with pytest.raises(ValueError, match=r"integers in \[0, 3\].*from 1 to 11"):
        loss.forward()
    target.assign([1.0, 2.5])
    with pytest.raises(ValueError, match="not integral"):
        loss.forward()
    target.assign([3.0, 0.0])
    assert loss.forward().item() == pytest.approx(np.log(4.0))


def test_nested_lists_of_python_numbers_become_the_default_float32(device):
    # nested Python floats have no dtype of their own (as torch.tensor([[1.0]]) is float32)
    assert nk.from_ndarray([[1.0, 2.0]], device=device).dtype == nk.float32
    assert nk.from_ndarray([1, 2], device=device).dtype == nk.float32
    assert nk.from_ndarray([[1.0]], dtype="float64", device=device).dtype == nk.float64
