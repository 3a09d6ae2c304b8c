"""The :class:`Optimizer` base class: parameters, the step loop, hyper-parameters and state.

An optimizer holds a list of :class:`~neuronika.Param` and, per parameter, a dict of state arrays
(moment buffers) that it creates on the parameter's device at the first step. ``step()`` is the
hot path: for every parameter it reads the gradient (zeros when the parameter received none),
adds the penalty's gradient, and lets the subclass's ``_update`` apply one set of Array API
expressions that ends with ``param.data -= update`` (in place where the backend allows; the
``Param`` setter marks the graphs that use the parameter stale). Nothing is validated there:
hyper-parameters are checked when they are set.
"""

from __future__ import annotations

import abc
import math
from typing import Any, Callable, Mapping

from ..autograd import Param, Var, VarDiff
from .penalty import Penalty, penalty_from_state


def collect_params(owner: str, params: Any) -> list[Param]:
    """``params`` (Params or differentiable leaves, or one of them) as a de-duplicated list of
    :class:`~neuronika.Param`, in first-seen order."""
    if isinstance(params, (Param, Var)):
        params = [params]
    try:
        items = list(params)
    except TypeError:
        raise TypeError(
            f"{owner}: params must be an iterable of parameters (model.parameters() or "
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
                f"{owner}: params[{index}] is the output of {item._node.name}, not a parameter; "
                f"pass its differentiable leaves with var.parameters()"
            )
        elif isinstance(item, Var):
            raise TypeError(
                f"{owner}: params[{index}] is a non-differentiable variable of shape {item.shape}; "
                f"make it a parameter with .requires_grad() before building the graph"
            )
        else:
            raise TypeError(
                f"{owner}: params[{index}] is a {type(item).__name__}; expected neuronika.Param "
                f"(from model.parameters() or loss.parameters()) or a differentiable leaf"
            )
        if id(param._node) not in seen:
            seen.add(id(param._node))
            collected.append(param)
    if not collected:
        raise ValueError(
            f"{owner}: got an empty parameter list; pass model.parameters() (or "
            f"loss.parameters() for a graph of your own)"
        )
    return collected


def check_real(owner: str, name: str, value: Any, low: float = 0.0, high: float = math.inf,
               high_open: bool = False) -> float:
    """``value`` as a float in ``[low, high]`` (``[low, high)`` with ``high_open``), or raise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{owner}: {name} must be a real number, got {type(value).__name__}")
    value = float(value)
    inside = low <= value and (value < high if high_open else value <= high)
    if not (math.isfinite(value) and inside):
        bound = f">= {low:g}" if high == math.inf else f"in [{low:g}, {high:g}{')' if high_open else ']'}"
        raise ValueError(f"{owner}: {name} must be a finite number {bound}, got {value}")
    return value


def check_flag(owner: str, name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{owner}: {name} must be True or False, got {value!r}")
    return value


def hyperparameter(name: str, doc: str) -> property:
    """A property reading ``self._<name>`` and writing through :meth:`Optimizer._set` (checked)."""

    def get(self: "Optimizer") -> Any:
        return getattr(self, "_" + name)

    def set(self: "Optimizer", value: Any) -> None:
        self._set(**{name: value})

    return property(get, set, doc=doc)


class HookHandle:
    """What ``register_step_pre_hook`` returns: ``remove()`` unregisters the hook (idempotent)."""

    __slots__ = ("_hooks", "_key")

    def __init__(self, hooks: dict[int, Any], key: int) -> None:
        self._hooks, self._key = hooks, key

    def remove(self) -> None:
        self._hooks.pop(self._key, None)


class Optimizer(abc.ABC):
    """Base class of the optimizers.

    Subclasses list their hyper-parameters in ``_names`` (each stored as ``self._<name>``,
    exposed as a property, checked by ``_validated``) and their per-parameter state arrays in
    ``_buffers``, and implement ``_update``.

    Updates work in place on a fresh temporary where that rounds identically (``t = a * b;
    t *= c`` rather than ``c * (a * b)``): with large NumPy parameters, every extra live
    temporary lets glibc's allocator return memory to the system and fault it back in on each
    step, which can cost several times the arithmetic.
    """

    #: hyper-parameters besides ``lr`` and ``penalty``, in the order of the constructor
    _names: tuple[str, ...] = ()
    #: names of the per-parameter state arrays this optimizer may keep
    _buffers: tuple[str, ...] = ()

    _lr: float
    _penalty: Penalty | None

    def __init__(self, params: Any, lr: float, penalty: Penalty | None, **hyper: Any) -> None:
        self._params = collect_params(type(self).__name__, params)
        self._state: list[dict[str, Any]] = [{} for _ in self._params]
        self._steps = 0
        self._step_pre_hooks: dict[int, Callable[..., Any]] = {}
        self._assign(self._validated({"lr": lr, "penalty": penalty, **hyper}))

    # --- hyper-parameters ---------------------------------------------------------------------
    lr = hyperparameter("lr", "The learning rate (a float >= 0; schedulers set it every epoch).")
    penalty = hyperparameter("penalty", "The penalty added to the gradients (L1, L2, ElasticNet or None).")

    def get_lr(self) -> float:
        """The learning rate (the crate's getter; same as :attr:`lr`)."""
        return self._lr

    def set_lr(self, lr: float) -> None:
        """Set the learning rate (the crate's setter; same as assigning :attr:`lr`)."""
        self._set(lr=lr)

    def hyperparameters(self) -> dict[str, Any]:
        """The current hyper-parameters by name (``lr``, ``penalty`` and the optimizer's own)."""
        names = ("lr", "penalty", *self._names)
        return {name: getattr(self, "_" + name) for name in names}

    def _validated(self, values: dict[str, Any]) -> dict[str, Any]:
        """Every hyper-parameter checked (subclasses extend this); raises on a bad value."""
        owner = type(self).__name__
        values["lr"] = check_real(owner, "lr", values["lr"])
        penalty = values["penalty"]
        if penalty is not None and not isinstance(penalty, Penalty):
            raise TypeError(
                f"{owner}: penalty must be None or a Penalty (optim.L1(l), optim.L2(l), "
                f"optim.ElasticNet(l1, l2)), got {type(penalty).__name__}"
            )
        return values

    def _assign(self, values: Mapping[str, Any]) -> None:
        for name, value in values.items():
            setattr(self, "_" + name, value)

    def _set(self, **changes: Any) -> None:
        """Change some hyper-parameters, checking the whole new set before writing any."""
        self._assign(self._validated({**self.hyperparameters(), **changes}))

    # --- parameters and the step --------------------------------------------------------------
    @property
    def params(self) -> list[Param]:
        """The optimized parameters, in order."""
        return list(self._params)

    @property
    def steps(self) -> int:
        """How many steps this optimizer has taken."""
        return self._steps

    def step(self) -> None:
        """Update every parameter once from its accumulated gradient (see the class docstring
        of each optimizer for its rule). Step pre-hooks run first (see
        :meth:`register_step_pre_hook`)."""
        if self._step_pre_hooks:
            for hook in list(self._step_pre_hooks.values()):
                hook(self, (), {})
        self._steps += 1
        penalty, update = self._penalty, self._update
        for param, state in zip(self._params, self._state):
            node = param._node
            with node.backend.scope():
                grad = node.grad if node.grad is not None else param.grad
                if penalty is not None:
                    grad = grad + penalty(node.xp, node.value)
                update(param, node.xp, grad, state)

    def register_step_pre_hook(self, hook: Callable[["Optimizer", tuple, dict], Any]) -> "HookHandle":
        """Call ``hook(optimizer, args, kwargs)`` at the start of every :meth:`step`, before any
        parameter is updated (PyTorch's signature; the return value is ignored). Hooks run in
        registration order. ``neuronika.distributed.GradientAllReduce`` averages the gradients
        across processes here. Returns a handle whose ``remove()`` unregisters the hook."""
        if not callable(hook):
            raise TypeError(f"register_step_pre_hook: hook must be callable, got {type(hook).__name__}")
        key = max(self._step_pre_hooks, default=-1) + 1
        self._step_pre_hooks[key] = hook
        return HookHandle(self._step_pre_hooks, key)

    @abc.abstractmethod
    def _update(self, param: Param, xp: Any, grad: Any, state: dict[str, Any]) -> None:
        """Apply one update to ``param`` from ``grad`` (penalty included; never written in
        place), keeping this parameter's buffers in ``state`` (created on first use)."""

    def zero_grad(self) -> None:
        """Forget every parameter's accumulated gradient (it reads as zeros until the next
        ``backward``)."""
        for param in self._params:
            param.grad = None

    # --- state ----------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state as plain data: ``{"optimizer": name, "hyperparameters": {...},
        "step": int, "state": [ {buffer name: array}, ... one dict per parameter ]}``.

        Arrays are copies on their parameter's device, so later steps leave the dict unchanged;
        the penalty is saved as a dict (``{"kind": "L2", "lambda": 0.1}``). ``nk.save`` writes it.
        """
        hyper = self.hyperparameters()
        penalty = hyper["penalty"]
        hyper["penalty"] = None if penalty is None else penalty.state()
        state = []
        for param, buffers in zip(self._params, self._state):
            xp = param._node.xp
            state.append({name: xp.asarray(array, copy=True) for name, array in buffers.items()})
        return {"optimizer": type(self).__name__, "hyperparameters": hyper, "step": self._steps, "state": state}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` saved: hyper-parameters, step count and buffers.

        The state must come from the same kind of optimizer over as many parameters with the
        same shapes; otherwise a ``ValueError`` says what differs and nothing is changed.
        Arrays of any backend (or NumPy) are copied onto each parameter's device and dtype.
        """
        owner = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state, Mapping) or not {"hyperparameters", "step", "state"} <= set(state):
            raise ValueError(f"{owner}: expected a dict made by optimizer.state_dict(), with keys "
                             f"'optimizer', 'hyperparameters', 'step' and 'state'")
        kind = state.get("optimizer")
        if kind != type(self).__name__:
            raise ValueError(f"{owner}: the state was saved by {kind}, not by {type(self).__name__}")
        buffers = list(state["state"])
        if len(buffers) != len(self._params):
            raise ValueError(
                f"{owner}: the state holds {len(buffers)} parameters, this optimizer has "
                f"{len(self._params)}; build the optimizer over the same parameters, in the same order"
            )
        problems: list[str] = []
        converted: list[dict[str, Any]] = []
        for index, (param, saved) in enumerate(zip(self._params, buffers)):
            backend, arrays = param._node.backend, {}
            for name, array in dict(saved).items():
                if name not in self._buffers:
                    problems.append(f"parameter {index}: unknown buffer {name!r} (expected {', '.join(self._buffers)})")
                    continue
                original = array.data if isinstance(array, Var) else array
                value = backend.asarray(original, param.dtype)
                if tuple(value.shape) != param.shape:
                    problems.append(f"parameter {index}: {name} has shape {tuple(value.shape)}, the parameter {param.shape}")
                    continue
                arrays[name] = param._node.xp.asarray(value, copy=True) if value is original else value
            converted.append(arrays)
        hyper = dict(state["hyperparameters"])
        saved_penalty = hyper.get("penalty")
        current = self._penalty
        if current is not None and saved_penalty == current.state():
            hyper["penalty"] = current  # keeps a custom penalty object
        else:
            hyper["penalty"] = penalty_from_state(saved_penalty)
        unknown = set(hyper) - {"lr", "penalty", *self._names}
        if unknown:
            problems.append(f"unknown hyper-parameters {sorted(unknown)}")
        if problems:
            raise ValueError(f"{owner}: the state does not fit this optimizer:\n  " + "\n  ".join(problems))
        values = self._validated({**self.hyperparameters(), **hyper})
        steps = int(state["step"])
        self._assign(values)
        self._steps = steps
        self._state = converted

    def __repr__(self) -> str:
        hyper = ", ".join(f"{name}={value!r}" for name, value in self.hyperparameters().items())
        return f"{type(self).__name__}({len(self._params)} parameters, {hyper})"
