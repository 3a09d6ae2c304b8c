"""The :class:`Optimizer` base class: parameter groups, the step loop, hyper-parameters and state.

An optimizer holds its parameters in :attr:`~Optimizer.param_groups` (each group with its own
hyper-parameters) and, per parameter, a dict of state arrays (moment buffers) that it creates on
the parameter's device at the first step. ``step()`` is the hot path: for every parameter it
reads the gradient (zeros when the parameter received none) and adds the penalty's gradient;
then the subclass's ``_update`` applies one set of Array API expressions that ends with
``param.data -= update`` (in place where the backend allows; the ``Param`` setter marks the
graphs that use the parameter stale). On a backend with immutable arrays
(``Backend.mutable_arrays`` False, e.g. JAX) ``a *= b`` binds a new array to the name: every
update therefore stores its state arrays back into the state dict, and the ``Param.data``
setter keeps the new value (an immutable array is shared, never copied: see
``Backend.asarray_copy``). Nothing is validated there: hyper-parameters are checked
when they are set; the step's only per-parameter check is one identity test that notices a
parameter moved to another device (its state then follows it).
"""

from __future__ import annotations

import abc
import math
import numbers
from typing import Any, Callable, Mapping

from .._args import boolean, real
from ..autograd import Param, Var
from ..backends._values import to_array
from .groups import ParamGroup, collect_params, split_groups
from .penalty import Penalty, penalty_from_state


def check_real(owner: str, name: str, value: Any, low: float = 0.0, high: float = math.inf,
               high_open: bool = False) -> float:
    """``value`` as a float in ``[low, high]`` (``[low, high)`` with ``high_open``), or raise."""
    number = real(owner, name, value)  # Python or NumPy scalars; never bools or strings
    inside = low <= number and (number < high if high_open else number <= high)
    if not (math.isfinite(number) and inside):
        bound = f">= {low:g}" if high == math.inf else f"in [{low:g}, {high:g}{')' if high_open else ']'}"
        raise ValueError(f"{owner}: {name} must be a finite number {bound}, got {number}")
    return number


def check_count(owner: str, name: str, value: Any) -> int:
    """``value`` as an int >= 0 (a step or epoch counter), or raise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{owner}: {name} must be an integer >= 0, got {value!r}")
    return int(value)


def check_flag(owner: str, name: str, value: Any) -> bool:
    return boolean(owner, name, value)


def hyperparameter(name: str, doc: str) -> property:
    """A property reading the hyper-parameter ``name`` shared by every group and writing it
    into every group through :meth:`Optimizer._set` (checked)."""

    def get(self: "Optimizer") -> Any:
        return self._common(name)

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

    Subclasses list their hyper-parameters in ``_names`` (checked by ``_validated``, exposed as
    properties) and their per-parameter state arrays in ``_buffers``, and implement ``_update``.

    ``params`` is an iterable of parameters or a list of parameter-group dicts
    (:mod:`neuronika.optim.groups`); :attr:`param_groups` holds the groups, each with its own
    hyper-parameters, and :attr:`defaults` the constructor's. A hyper-parameter property such as
    ``optimizer.lr`` reads the value all groups share (it raises when they differ: read
    ``param_groups[i]["lr"]`` then) and writes every group.

    ``step()`` first moves each parameter's state to the parameter's device if the parameter
    moved since (``Module.to``), and computes every penalised gradient; only then does it
    write. So a step whose penalty raises, or that meets state on another device, changes
    nothing: no parameter, buffer or step counter.

    Updates work in place on a fresh temporary where that rounds identically (``t = a * b;
    t *= c`` rather than ``c * (a * b)``): with large NumPy parameters, every extra live
    temporary lets glibc's allocator return memory to the system and fault it back in on each
    step, which can cost several times the arithmetic.

    >>> isinstance(nk.optim.SGD([nk.ones(1).requires_grad()], lr=0.1), nk.optim.Optimizer)
    True
    """

    #: hyper-parameters besides ``lr`` and ``penalty``, in the order of the constructor
    _names: tuple[str, ...] = ()
    #: names of the per-parameter state arrays this optimizer may keep
    _buffers: tuple[str, ...] = ()

    def __init__(self, params: Any, lr: float, penalty: Penalty | None, **hyper: Any) -> None:
        owner = type(self).__name__
        self.defaults: dict[str, Any] = self._validated({"lr": lr, "penalty": penalty, **hyper})
        self.param_groups: list[ParamGroup] = []
        self._params: list[Param] = []
        self._state: list[dict[str, Any]] = []
        self._homes: list[Any] = []
        self._steps = 0
        self._step_pre_hooks: dict[int, Callable[..., Any]] = {}
        for index, (items, overrides) in enumerate(split_groups(owner, params)):
            label = "params" if overrides is None else f"param_groups[{index}]['params']"
            self._add_group(index, items, overrides or {}, label)

    def _add_group(self, index: int, items: Any, overrides: dict[str, Any], label: str) -> None:
        """Check a group (parameters new to this optimizer, known hyper-parameters) and add it."""
        owner = type(self).__name__
        members = collect_params(owner, items, label)
        seen = {id(param._node) for param in self._params}
        for param in members:
            if id(param._node) in seen:
                raise ValueError(f"{owner}: a parameter of shape {param.shape} is in more than one parameter group")
            seen.add(id(param._node))
        unknown = sorted(set(overrides) - set(self.defaults))
        if unknown:
            raise ValueError(
                f"{owner}: parameter group {index} has unknown hyper-parameters {unknown}; "
                f"{owner} takes {', '.join(self.defaults)}"
            )
        group = ParamGroup(self, members, self._validated({**self.defaults, **overrides}))
        group.first_step = self._steps
        self.param_groups.append(group)
        self._params.extend(members)
        self._state.extend({} for _ in members)
        self._homes.extend(param._node.backend for param in members)

    def add_param_group(self, param_group: Mapping[str, Any]) -> None:
        """Add a parameter group (a dict with ``"params"`` and hyper-parameters that differ from
        :attr:`defaults`), e.g. layers unfrozen while fine-tuning. Its parameters start at their
        own step 1 (Adam's bias correction counts from when they joined), as in PyTorch.
        Schedulers attached before start scheduling the group at their next step."""
        if not isinstance(param_group, Mapping) or "params" not in param_group:
            raise TypeError(f"{type(self).__name__}.add_param_group: expected a dict with 'params', got {type(param_group).__name__}")
        index = len(self.param_groups)
        overrides = {key: value for key, value in param_group.items() if key != "params"}
        self._add_group(index, param_group["params"], overrides, f"param_groups[{index}]['params']")

    # --- hyper-parameters ---------------------------------------------------------------------
    lr = hyperparameter("lr", "The learning rate (a float >= 0; schedulers set it every epoch).")
    penalty = hyperparameter("penalty", "The penalty added to the gradients (L1, L2, ElasticNet or None).")

    def get_lr(self) -> float:
        """The learning rate (the crate's getter; same as :attr:`lr`)."""
        return self._common("lr")  # type: ignore[no-any-return]

    def set_lr(self, lr: float) -> None:
        """Set the learning rate of every group (the crate's setter; same as assigning :attr:`lr`)."""
        self._set(lr=lr)

    def hyperparameters(self) -> dict[str, Any]:
        """The hyper-parameters by name (``lr``, ``penalty`` and the optimizer's own) that every
        group shares; raises when the groups differ in one of them."""
        return {name: self._common(name) for name in self.defaults}

    def _common(self, name: str) -> Any:
        values = [group.hyper[name] for group in self.param_groups]
        if any(value != values[0] for value in values[1:]):
            raise ValueError(
                f"{type(self).__name__}.{name}: the {len(values)} parameter groups have different "
                f"values {values}; read optimizer.param_groups[i][{name!r}]"
            )
        return values[0]

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

    def _set(self, **changes: Any) -> None:
        """Change some hyper-parameters in every group, checking all new sets before writing any."""
        checked = [self._validated({**group.hyper, **changes}) for group in self.param_groups]
        for group, values in zip(self.param_groups, checked):
            group.hyper = values

    # --- parameters and the step --------------------------------------------------------------
    @property
    def params(self) -> list[Param]:
        """The optimized parameters, in order (group by group)."""
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
        grads = self._gradients()  # everything that can fail happens before the first write
        self._steps += 1
        try:
            update, index = self._update, 0
            for group in self.param_groups:
                hyper, step = group.hyper, self._steps - group.first_step
                for param in group.params:
                    node = param._node
                    with node.backend.scope():
                        update(param, node.xp, grads[index], self._state[index], hyper, step)
                    grads[index] = None
                    index += 1
        except BaseException:
            self._steps -= 1
            raise

    def _gradients(self) -> list[Any]:
        """Each parameter's gradient, penalty included, with its state moved to the parameter's
        device first (one identity check per parameter when nothing moved)."""
        grads: list[Any] = []
        index = 0
        for group in self.param_groups:
            penalty = group.hyper["penalty"]
            for param in group.params:
                node = param._node
                if self._homes[index] is not node.backend:
                    self._follow(index, node)
                grad = node.grad
                if grad is None or penalty is not None:
                    with node.backend.scope():
                        if grad is None:
                            grad = param.grad
                        if penalty is not None:
                            grad = grad + penalty(node.xp, node.value)
                grads.append(grad)
                index += 1
        return grads

    def _follow(self, index: int, node: Any) -> None:
        """Move parameter ``index``'s state to the device its parameter now lives on."""
        backend = node.backend
        state = self._state[index]
        self._state[index] = {name: backend.asarray(array, node.dtype) for name, array in state.items()}
        self._homes[index] = backend

    def register_step_pre_hook(self, hook: Callable[["Optimizer", tuple[Any, ...], dict[str, Any]], Any]) -> "HookHandle":
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
    def _update(self, param: Param, xp: Any, grad: Any, state: dict[str, Any], hyper: dict[str, Any], step: int) -> None:
        """Apply update number ``step`` (1, 2, … for this parameter) to ``param`` from ``grad``
        (penalty included; never written in place) with its group's hyper-parameters ``hyper``,
        keeping this parameter's buffers in ``state`` (created on first use)."""

    def zero_grad(self) -> None:
        """Forget every parameter's accumulated gradient (it reads as zeros until the next
        ``backward``)."""
        for param in self._params:
            param.grad = None

    # --- state ----------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state as plain data: ``{"optimizer": name, "param_groups": [{hyper-
        parameters..., "params": [indices], "step": the group's own step count}, ...], "step":
        int, "state": [ {buffer name: array}, ... one dict per parameter ]}``.

        Parameters are numbered across the groups in order, as PyTorch does. Arrays are copies
        on their parameter's device, so later steps leave the dict unchanged; a penalty is
        saved as a dict (``{"kind": "L2", "lambda": 0.1}``). ``nk.save`` writes it.
        """
        groups, start = [], 0
        for group in self.param_groups:
            values = dict(group.hyper)
            penalty = values["penalty"]
            values["penalty"] = None if penalty is None else penalty.state()
            values["params"] = list(range(start, start + len(group.params)))
            values["step"] = self._steps - group.first_step
            start += len(group.params)
            groups.append(values)
        state = []
        for index, (param, buffers) in enumerate(zip(self._params, self._state)):
            if self._homes[index] is not param._node.backend:
                self._follow(index, param._node)
                buffers = self._state[index]
            xp = param._node.xp
            state.append({name: xp.asarray(array, copy=True) for name, array in buffers.items()})
        return {"optimizer": type(self).__name__, "param_groups": groups, "step": self._steps, "state": state}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` saved: each group's hyper-parameters, the step count
        and the buffers.

        The state must come from the same kind of optimizer over as many parameters with the
        same shapes, in as many groups of the same sizes; otherwise a ``ValueError`` says what
        differs and nothing is changed. Arrays of any backend (or NumPy) are copied onto each
        parameter's device and dtype. (A state saved before parameter groups existed, with one
        ``"hyperparameters"`` dict, loads into every group.)
        """
        owner = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state, Mapping) or not {"step", "state"} <= set(state) or not (
            "param_groups" in state or "hyperparameters" in state
        ):
            raise ValueError(f"{owner}: expected a dict made by optimizer.state_dict(), with keys "
                             f"'optimizer', 'param_groups', 'step' and 'state'")
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
        converted = [self._converted_buffers(index, saved, problems) for index, saved in enumerate(buffers)]
        saved_groups = state.get("param_groups")
        if saved_groups is None:
            saved_groups = [dict(state["hyperparameters"]) for _ in self.param_groups]
        else:
            sizes = [len(group.params) for group in self.param_groups]
            saved_sizes = [len(group.get("params", ())) for group in saved_groups]
            if saved_sizes != sizes:
                raise ValueError(f"{owner}: the state has parameter groups of sizes {saved_sizes}, this optimizer {sizes}")
        steps = check_count(owner, "step", state["step"])
        values: list[dict[str, Any]] = []
        firsts: list[int] = []
        for group, saved in zip(self.param_groups, saved_groups):
            hyper = {key: value for key, value in dict(saved).items() if key not in ("params", "step")}
            group_steps = check_count(owner, "a group's step", dict(saved).get("step", steps))
            if group_steps > steps:
                problems.append(f"a group has taken {group_steps} steps, more than the optimizer's {steps}")
            firsts.append(steps - group_steps)
            current = group.hyper["penalty"]
            if current is not None and hyper.get("penalty") == current.state():
                hyper["penalty"] = current  # keeps a custom penalty object
            else:
                hyper["penalty"] = penalty_from_state(hyper.get("penalty"))
            unknown = set(hyper) - set(self.defaults)
            if unknown:
                problems.append(f"unknown hyper-parameters {sorted(unknown)}")
                continue
            values.append(self._validated({**group.hyper, **hyper}))
        if problems:
            raise ValueError(f"{owner}: the state does not fit this optimizer:\n  " + "\n  ".join(problems))
        for group, hyper, first in zip(self.param_groups, values, firsts):
            group.hyper, group.first_step = hyper, first
        self._steps = steps
        self._state = converted
        self._homes = [param._node.backend for param in self._params]

    def _converted_buffers(self, index: int, saved: Any, problems: list[str]) -> dict[str, Any]:
        param = self._params[index]
        backend, arrays = param._node.backend, {}
        for name, array in dict(saved).items():
            if name not in self._buffers:
                problems.append(f"parameter {index}: unknown buffer {name!r} (expected {', '.join(self._buffers)})")
                continue
            original = array.data if isinstance(array, Var) else array
            try:
                value = to_array(backend, original, param.dtype, f"{type(self).__name__}.load_state_dict: parameter {index}: {name}")
            except TypeError as error:
                problems.append(str(error))
                continue
            if tuple(value.shape) != param.shape:
                problems.append(f"parameter {index}: {name} has shape {tuple(value.shape)}, the parameter {param.shape}")
                continue
            arrays[name] = value  # to_array made a private copy
        return arrays

    def __repr__(self) -> str:
        groups = len(self.param_groups)
        try:
            hyper = ", ".join(f"{name}={value!r}" for name, value in self.hyperparameters().items())
        except ValueError:
            hyper = f"{groups} parameter groups with different hyper-parameters"
        return f"{type(self).__name__}({len(self._params)} parameters, {hyper})"
