"""Typed user code, checked by mypy (tests/test_typing.py), never imported by pytest.

Each ``assert_type`` states what an IDE and a type checker must infer for a common call; mypy
fails when the library's annotations stop saying so. The ``# type: ignore[...]`` lines state
what a checker must reject: with ``warn_unused_ignores`` an error that disappears fails too.
"""

from __future__ import annotations

from typing import Any

from typing_extensions import assert_type

import neuronika as nk
from neuronika import nn, optim
from neuronika.data import LabeledDataset

# --- constructors, metadata -------------------------------------------------------------------
x = nk.rand((4, 3))
assert_type(x, nk.Var)
w = nk.rand((3, 2)).requires_grad()
assert_type(w, nk.VarDiff)
assert_type(x.shape, tuple[int, ...])
assert_type(x.dtype, nk.DType)
assert_type(x.device, nk.Device)
assert_type(x.item(), "float | int")  # int for integer variables
assert_type(nk.zeros(3, dtype="float64"), nk.Var)

# --- a unary op keeps the kind; chains stay known ---------------------------------------------
assert_type(x.relu(), nk.Var)
assert_type(x.relu().sum(), nk.Var)
assert_type(w.relu().sum(), nk.VarDiff)
assert_type(w.exp().ln().sigmoid().tanh().mean(axis=0), nk.VarDiff)
assert_type(w.t().reshape(6).unsqueeze(0).flatten(), nk.VarDiff)
assert_type(w.softmax(axis=1).log_softmax(axis=1).dropout(0.5), nk.VarDiff)
assert_type(w.chunks((1, 2)), list[nk.VarDiff])
assert_type(-w, nk.VarDiff)
assert_type(w.gelu().max(axis=0).logsumexp(), nk.VarDiff)
assert_type(w[0], nk.VarDiff)
assert_type(w.permute(1, 0).squeeze().clip(0.0, 1.0), nk.VarDiff)
assert_type(w.split(1), tuple[nk.VarDiff, ...])
assert_type(w > 0.5, nk.Var)  # comparisons, argmax and the like are never differentiable
assert_type(w.argmax(), nk.Var)
assert_type(w.astype("float64"), nk.VarDiff)
assert_type(w.astype("int64"), nk.Var)
assert_type(w.detach(), nk.Var)
assert_type(w**2, nk.VarDiff)
assert_type(x.forward(), nk.Var)
assert_type(w.to(dtype="float64"), nk.VarDiff)

# --- a binary op is differentiable when either side is ----------------------------------------
assert_type(x + x, nk.Var)
assert_type(x + 1.0, nk.Var)
assert_type(x.mm(w), nk.VarDiff)
assert_type(w + x, nk.VarDiff)
assert_type(x - w, nk.VarDiff)
assert_type(2.0 * w, nk.VarDiff)
assert_type(1.0 / x, nk.Var)
assert_type(x @ w, nk.VarDiff)
assert_type(x.mm_t(w.t()), nk.VarDiff)
assert_type(nk.cat([w, w]), nk.VarDiff)
assert_type(nk.cat([x, x]), nk.Var)
assert_type(x.cat(w.t().t()), nk.VarDiff)
assert_type(nk.stack([x, x], axis=1), nk.Var)

# --- gradients: only a VarDiff has them -------------------------------------------------------
loss = (x.mm(w) - 1.0).pow(2).mean()
assert_type(loss, nk.VarDiff)
loss.backward()
loss.zero_grad()
assert_type(loss.parameters(), list[nk.Param])
assert_type(w.grad, Any)
x.backward()  # type: ignore[attr-defined]  # a Var has no gradient


# --- modules: calling a module is calling its forward ------------------------------------------
class MLP(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(3, 8)
        self.drop = nn.Dropout(0.5)
        self.fc2 = nn.Linear(8, 2)

    def forward(self, input: nk.Var) -> nk.VarDiff:
        return self.fc2(self.drop(self.fc1(input).relu()))


model = MLP()
assert_type(model(x), nk.VarDiff)
assert_type(nn.Linear(3, 2)(x), nk.VarDiff)
assert_type(nn.Conv2d(1, 2, 3)(nk.rand((1, 1, 5, 5))), nk.VarDiff)
assert_type(nn.Dropout(0.1)(x), nk.Var)
assert_type(nn.GRUCell(3, 4)(nk.zeros((4, 4)), x), nk.VarDiff)
assert_type(nn.LSTMCell(3, 4)((nk.zeros((4, 4)), nk.zeros((4, 4))), x), tuple[nk.VarDiff, nk.VarDiff])
assert_type(nn.ReLU()(model(x)), nk.VarDiff)  # activation layers keep the input's kind
assert_type(nn.Flatten()(x), nk.Var)
assert_type(nn.Sequential(nn.Linear(3, 2), nn.Tanh())(x), Any)  # a container's forward is untyped
assert_type(model.train(), MLP)
assert_type(model.eval().to("cpu"), MLP)
model("not a variable")  # type: ignore[arg-type]  # forward's parameter types are checked

# --- losses keep the input's kind; training loop ---------------------------------------------
target = nk.zeros((4, 2))
assert_type(nn.loss.mse_loss(model(x), target), nk.VarDiff)
assert_type(nn.loss.nll_loss(model(x).log_softmax(axis=1), [0, 1, 0, 1]), nk.VarDiff)
assert_type(nn.loss.mse_loss(x, x), nk.Var)
optimizer = optim.Adam(model.parameters(), lr=1e-3)
scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
for _ in range(2):
    step_loss = nn.loss.mse_loss(model(x), target)
    step_loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    scheduler.step()
assert_type(scheduler.get_current_lr(), "float | list[float]")  # a list with several groups

# --- top-level names loaded lazily keep their types --------------------------------------------
assert_type(nk.convolution(nk.rand((1, 1, 5)), nk.rand((1, 1, 3)).requires_grad()), nk.VarDiff)
nk.save(model.state_dict(), "/dev/null")
assert_type(nk.viz.to_dot(loss, module=model), str)
assert_type(loss.graph_summary(), str)
data = nk.data.DataLoader().with_labels([2]).from_csv("data.csv")
assert_type(data, LabeledDataset)
