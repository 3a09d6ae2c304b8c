"""Gradient clipping, PyTorch's ``torch.nn.utils.clip_grad_norm_`` and ``clip_grad_value_``.

Call them between ``backward()`` and ``optimizer.step()``::

    loss.backward()
    total = nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    optimizer.step()

Each works on whole arrays with the Array API (one reduction per parameter, one scaling per
parameter, one host read per device), never element by element in Python. Parameters that
received no gradient are skipped, as PyTorch skips ``grad is None``.
"""

from __future__ import annotations

import math
from typing import Any

from ..backends import float16, float32
from ..optim.groups import collect_params
from ..optim.optimizer import check_real

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def _with_grads(owner: str, parameters: Any) -> list[Any]:
    """The nodes of ``parameters`` that hold a gradient."""
    return [param._node for param in collect_params(owner, parameters, "parameters") if param._node.grad is not None]


def _set_grad(node: Any, grad: Any) -> None:
    # a gradient the leaf does not own may alias another array: replace it rather than write it
    node.grad, node.owns_grad = grad, True


def clip_grad_norm_(parameters: Any, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False) -> float:
    r"""Scale the gradients of ``parameters`` together so that their joint norm is at most
    ``max_norm``; returns the joint norm before clipping (a float).

    With ``p = norm_type`` and ``g_i`` the gradients (flattened)::

        total = ‖(‖g_1‖_p, ‖g_2‖_p, …)‖_p          (p = inf: max_i max |g_i|)
        g_i  ← g_i · min(1, max_norm / (total + 1e-6))

    as ``torch.nn.utils.clip_grad_norm_`` (float16 gradients are measured in float32, as PyTorch
    accumulates them: gradients of 300 are no overflow). ``parameters``: ``model.parameters()``, a list of
    differentiable leaves or one of them. ``error_if_nonfinite=True`` raises ``RuntimeError``
    when the total norm is NaN or infinite (otherwise the gradients then become NaN, as in
    PyTorch).

    >>> w = nk.ones(2, dtype="float64").requires_grad()
    >>> (w * nk.from_ndarray([3.0, 4.0], dtype="float64")).sum().backward()
    >>> nk.nn.utils.clip_grad_norm_([w], max_norm=1.0), w.grad.tolist()
    (5.0, [0.59999988..., 0.79999984...])
    """
    owner = "clip_grad_norm_"
    max_norm = check_real(owner, "max_norm", max_norm)
    if isinstance(norm_type, bool) or not isinstance(norm_type, (int, float)) or not norm_type > 0:
        raise ValueError(f"{owner}: norm_type must be a number > 0 or math.inf, got {norm_type!r}")
    norm_type = float(norm_type)
    nodes = _with_grads(owner, parameters)
    if not nodes:
        return 0.0
    infinite = math.isinf(norm_type)
    partials: dict[int, tuple[Any, list[Any]]] = {}
    for node in nodes:
        xp, grad = node.xp, node.grad
        with node.backend.scope():
            if node.dtype is float16 and not infinite:  # squares (powers) of float16 overflow from 256
                grad = xp.astype(grad, node.backend.dtype(float32))
            if infinite:
                norm = xp.max(xp.abs(grad)) if grad.size else xp.asarray(0.0, dtype=grad.dtype)
            elif norm_type == 2.0:
                norm = xp.sqrt(xp.sum(grad * grad))
            elif norm_type == 1.0:
                norm = xp.sum(xp.abs(grad))
            else:
                norm = xp.sum(xp.abs(grad) ** norm_type) ** (1.0 / norm_type)
        partials.setdefault(id(node.backend), (node, []))[1].append(norm)
    device_totals = []
    for node, norms in partials.values():  # one host read per device
        xp = node.xp
        with node.backend.scope():
            stacked = xp.stack(norms)
            total = xp.max(stacked) if infinite else xp.sum(stacked) if norm_type == 1.0 else xp.sum(stacked**norm_type)
        device_totals.append(float(node.backend.to_host(total)))
    if infinite:
        total_norm = max(device_totals)
    elif norm_type == 1.0:
        total_norm = math.fsum(device_totals)
    else:
        total_norm = math.fsum(device_totals) ** (1.0 / norm_type)
    if error_if_nonfinite and not math.isfinite(total_norm):
        raise RuntimeError(
            f"{owner}: the total norm of order {norm_type} of the gradients is {total_norm}; "
            f"pass error_if_nonfinite=False to clip anyway"
        )
    coefficient = max_norm / (total_norm + 1e-6)
    if coefficient < 1.0 or math.isnan(coefficient):
        for node in nodes:
            with node.backend.scope():
                if node.owns_grad:
                    node.grad *= coefficient
                else:
                    _set_grad(node, node.grad * coefficient)
    return total_norm


def clip_grad_value_(parameters: Any, clip_value: float) -> None:
    """Clamp every gradient element of ``parameters`` into ``[-clip_value, clip_value]``
    (``torch.nn.utils.clip_grad_value_``).

    >>> w = nk.ones(2).requires_grad(); (w * 5.0).sum().backward(); nk.nn.utils.clip_grad_value_([w], 1.0); w.grad.tolist()
    [1.0, 1.0]
    """
    owner = "clip_grad_value_"
    clip_value = check_real(owner, "clip_value", clip_value)
    for node in _with_grads(owner, parameters):
        with node.backend.scope():
            _set_grad(node, node.xp.clip(node.grad, -clip_value, clip_value))

