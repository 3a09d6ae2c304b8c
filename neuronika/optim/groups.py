"""Parameter groups: subsets of an optimizer's parameters with hyper-parameters of their own.

An optimizer takes either an iterable of parameters (one group) or, as in PyTorch, a list of
dicts, each with ``"params"`` and any hyper-parameters that differ from the constructor's::

    optimizer = optim.Adam(
        [{"params": model.encoder.parameters(), "lr": 1e-4},
         {"params": model.head.parameters()}],        # takes the constructor's lr
        lr=1e-3,
    )
    optimizer.param_groups[0]["lr"]                     # 1e-4
    optimizer.param_groups[1]["lr"] = 5e-4              # checked when written

A :class:`ParamGroup` reads like PyTorch's dict (``group["lr"]``, ``group["params"]``,
``group.keys()``), but a write goes through the optimizer's checks: an unknown key (a typo such
as ``"learning_rate"``) or a bad value raises at once and changes nothing.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Any, Iterator, Mapping

from ..autograd import Param, Var, VarDiff

if TYPE_CHECKING:
    from .optimizer import Optimizer

__all__ = ["ParamGroup", "collect_params", "split_groups"]


class ParamGroup(MutableMapping):  # type: ignore[type-arg]
    """One parameter group: ``"params"`` (a list of :class:`~neuronika.Param`) and the
    optimizer's hyper-parameters for them. Writing a hyper-parameter validates it first.

    ``initial_lr`` is the rate the first scheduler attached to the optimizer found (PyTorch keeps
    it in the group as ``"initial_lr"``; here it is an attribute, None until a scheduler sets it).

    >>> group = nk.optim.SGD([nk.ones(1).requires_grad()], lr=0.1).param_groups[0]; group["lr"], len(group["params"])
    (0.1, 1)
    """

    __slots__ = ("_owner", "params", "hyper", "initial_lr", "first_step")

    def __init__(self, owner: "Optimizer", params: list[Param], values: dict[str, Any]) -> None:
        self._owner = owner
        self.params = params
        #: the hyper-parameters by name (read by the optimizer's step; write through ``group[k] = v``)
        self.hyper = values
        self.initial_lr: float | None = None
        #: the optimizer's step count when the group was added (its parameters count from there)
        self.first_step = 0

    def __getitem__(self, key: str) -> Any:
        if key == "params":
            return self.params
        return self.hyper[key]

    def __setitem__(self, key: str, value: Any) -> None:
        owner = type(self._owner).__name__
        if key == "params":
            raise TypeError(f"{owner}: a group's params cannot be replaced; build a new optimizer for other parameters")
        if key not in self.hyper:
            raise KeyError(f"{owner}: unknown hyper-parameter {key!r}; a group has {', '.join(self.hyper)}")
        self.hyper = self._owner._validated({**self.hyper, key: value})

    def __delitem__(self, key: str) -> None:
        raise TypeError(f"{type(self._owner).__name__}: hyper-parameters cannot be deleted from a parameter group")

    def __iter__(self) -> Iterator[str]:
        yield "params"
        yield from self.hyper

    def __len__(self) -> int:
        return 1 + len(self.hyper)

    def __repr__(self) -> str:
        hyper = ", ".join(f"{name!r}: {value!r}" for name, value in self.hyper.items())
        return f"ParamGroup({len(self.params)} parameters, {hyper})"


def collect_params(owner: str, params: Any, label: str = "params") -> list[Param]:
    """``params`` (Params or differentiable leaves, or one of them) as a de-duplicated list of
    :class:`~neuronika.Param`, in first-seen order (``label`` names them in errors)."""
    if isinstance(params, (Param, Var)):
        params = [params]
    try:
        items = list(params)
    except TypeError:
        raise TypeError(
            f"{owner}: {label} must be an iterable of parameters (model.parameters() or "
            f"loss.parameters()), got {type(params).__name__}"
        ) from None
    collected: list[Param] = []
    seen: set[int] = set()
    for index, item in enumerate(items):
        if isinstance(item, Param):
            param = item
        elif isinstance(item, VarDiff) and item.is_leaf:
            param = Param(item._node)  # type: ignore[arg-type]
        elif isinstance(item, VarDiff):
            raise TypeError(
                f"{owner}: {label}[{index}] is the output of {item._node.name}, not a parameter; "
                f"pass its differentiable leaves with var.parameters()"
            )
        elif isinstance(item, Var):
            raise TypeError(
                f"{owner}: {label}[{index}] is a non-differentiable variable of shape {item.shape}; "
                f"make it a parameter with .requires_grad() before building the graph"
            )
        else:
            raise TypeError(
                f"{owner}: {label}[{index}] is a {type(item).__name__}; expected neuronika.Param "
                f"(from model.parameters() or loss.parameters()) or a differentiable leaf"
            )
        if id(param._node) not in seen:
            seen.add(id(param._node))
            collected.append(param)
    if not collected:
        raise ValueError(
            f"{owner}: got an empty parameter list ({label}); pass model.parameters() (or "
            f"loss.parameters() for a graph of your own)"
        )
    return collected


def split_groups(owner: str, params: Any) -> list[tuple[Any, dict[str, Any] | None]]:
    """``params`` as ``[(parameters, overrides), ...]``: one pair per group dict, or one pair
    with overrides None for a plain iterable of parameters."""
    if isinstance(params, (Param, Var)):
        return [(params, None)]
    if isinstance(params, Mapping):
        params = [params]
    try:
        items = list(params)
    except TypeError:
        raise TypeError(
            f"{owner}: params must be an iterable of parameters (model.parameters() or "
            f"loss.parameters()) or a list of dicts with 'params', got {type(params).__name__}"
        ) from None
    if not any(isinstance(item, Mapping) for item in items):
        return [(items, None)]
    groups: list[tuple[Any, dict[str, Any] | None]] = []
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise TypeError(
                f"{owner}: params[{index}] is a {type(item).__name__} among parameter-group dicts; "
                f"give either parameters or dicts like {{'params': [...], 'lr': 0.01}}, not both"
            )
        if "params" not in item:
            raise ValueError(f"{owner}: parameter group {index} has no 'params' entry")
        overrides = {key: value for key, value in item.items() if key != "params"}
        groups.append((item["params"], overrides))
    return groups
