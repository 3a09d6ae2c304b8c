"""``Module``, the base class of layers and models, and ``ModelStatus``, the crate's registry.

A :class:`Module` registers what is assigned to its attributes, as PyTorch users expect:

- a differentiable leaf (a :class:`~neuronika.VarDiff` made with ``.requires_grad()``, or a
  :class:`~neuronika.Param`) becomes a *parameter*;
- another :class:`Module` becomes a *sub-module*;
- anything else (ints, constants, computed variables, ``None``) is a plain attribute.

Parameters are stored as the differentiable leaves themselves, so ``x.mm_t(self.weight)`` uses
them directly, and handed out as :class:`~neuronika.Param` objects by :meth:`Module.parameters`
(what optimizers take).

:class:`ModelStatus` is the Rust crate's way of building a model: components are registered one
by one (``status.register(nn.Linear(3, 4))`` returns the layer), and the status gathers their
parameters and switches them between training and evaluation together.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Iterator, Mapping, NamedTuple, TypeVar, Union

from ..backends._values import to_array
from ..autograd import Param, Var, VarDiff
from ..backends import Device

Component = TypeVar("Component")


class LoadResult(NamedTuple):
    """What :meth:`Module.load_state_dict` did not load (empty lists when ``strict=True``)."""

    missing_keys: list[str]
    unexpected_keys: list[str]


def _as_parameter(value: Any) -> VarDiff | None:
    """``value`` as a differentiable leaf when it is one (a Param or a leaf VarDiff), else None."""
    if isinstance(value, Param):
        return value.var
    if isinstance(value, VarDiff) and value.is_leaf:
        return value
    return None


class Module:
    """Base class of every layer and model.

    Subclasses call ``super().__init__()`` first, assign their parameters and sub-modules as
    attributes, and define ``forward(...)``; calling the module calls ``forward``::

        class MLP(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc1 = nn.Linear(4, 8)
                self.drop = nn.Dropout(0.5)
                self.fc2 = nn.Linear(8, 1)

            def forward(self, x):
                return self.fc2(self.drop(self.fc1(x).relu()))

    ``training`` is True after construction; :meth:`train` and :meth:`eval` switch the module
    and all of its sub-modules (dropout layers follow).
    """

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # --- registration by attribute ------------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        parameters = self.__dict__.get("_parameters")
        if parameters is None:
            raise AttributeError(
                f"cannot assign {name!r} before Module.__init__(): call super().__init__() at the "
                f"top of {type(self).__name__}.__init__"
            )
        modules = self.__dict__["_modules"]
        parameter = _as_parameter(value)
        if parameter is not None:
            self._forget(name)
            parameters[name] = parameter
        elif isinstance(value, Module):
            self._forget(name)
            modules[name] = value
        else:
            if (name in parameters or name in modules) and value is not None:
                kind = "parameter" if name in parameters else "sub-module"
                raise TypeError(
                    f"cannot assign {type(value).__name__} to {kind} {name!r} of "
                    f"{type(self).__name__}: expected a differentiable leaf (.requires_grad()), a "
                    f"Module or None"
                )
            self._forget(name)
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails: parameters and sub-modules live in registries.
        registries = self.__dict__
        for registry in ("_parameters", "_modules"):
            entries = registries.get(registry)
            if entries is not None and name in entries:
                return entries[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        if name in self._parameters:
            del self._parameters[name]
        elif name in self._modules:
            del self._modules[name]
        else:
            object.__delattr__(self, name)

    def _forget(self, name: str) -> None:
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        self.__dict__.pop(name, None)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        forward = getattr(self, "forward", None)
        if forward is None:
            raise TypeError(f"{type(self).__name__} defines no forward(...) method; a Module subclass must define one")
        return forward(*args, **kwargs)

    # --- traversal ----------------------------------------------------------------------------
    def named_children(self) -> Iterator[tuple[str, "Module"]]:
        """The direct sub-modules with their attribute names, in assignment order."""
        yield from self._modules.items()

    def children(self) -> Iterator["Module"]:
        """The direct sub-modules, in assignment order."""
        for _, module in self.named_children():
            yield module

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, "Module"]]:
        """This module (named ``prefix``) and every sub-module below it, depth first, each once."""
        seen: set[int] = set()
        stack: list[tuple[str, Module]] = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            children = [(f"{name}.{child}" if name else child, sub) for child, sub in module._modules.items()]
            stack.extend(reversed(children))

    def modules(self) -> Iterator["Module"]:
        """This module and every sub-module below it, depth first."""
        for _, module in self.named_modules():
            yield module

    def named_parameters(self) -> Iterator[tuple[str, Param]]:
        """``(dotted name, Param)`` for every parameter, each once (a shared parameter under the
        first name it is reached by): a module's own parameters in assignment order, then those
        of its sub-modules, depth first. Names look like ``fc1.weight``."""
        seen: set[int] = set()
        for prefix, module in self.named_modules():
            for name, leaf in module._parameters.items():
                node = leaf._node
                if id(node) in seen:
                    continue
                seen.add(id(node))
                yield (f"{prefix}.{name}" if prefix else name), Param(node)  # type: ignore[arg-type]

    def parameters(self) -> list[Param]:
        """Every parameter as a :class:`~neuronika.Param`, each once, in :meth:`named_parameters`
        order (give this to an optimizer)."""
        return [param for _, param in self.named_parameters()]

    # --- modes, devices, gradients ------------------------------------------------------------
    def train(self, mode: bool = True) -> "Module":
        """Switch this module and every sub-module to training mode (``mode=False``: evaluation)."""
        for module in self.modules():
            module._set_training(bool(mode))
        return self

    def eval(self) -> "Module":
        """Switch this module and every sub-module to evaluation mode (dropout is the identity)."""
        return self.train(False)

    def _set_training(self, mode: bool) -> None:
        object.__setattr__(self, "training", mode)

    def to(self, device: "str | Device") -> "Module":
        """Move every parameter (data and gradient) to ``device`` in place; returns the module.

        Graphs built before the move keep referring to the same parameters, which now live on
        the new device: rebuild graphs whose other inputs stayed behind.
        """
        for param in self.parameters():
            param.move_to(device)
        return self

    def zero_grad(self) -> None:
        """Forget the accumulated gradient of every parameter."""
        for param in self.parameters():
            param.grad = None

    # --- state ----------------------------------------------------------------------------------
    def state_dict(self) -> "OrderedDict[str, Any]":
        """An ordered dict ``dotted name → array``: a copy of every parameter's value, as an array
        of the parameter's own backend (NumPy on ``"cpu"``). The copies do not change when the
        model trains on; ``var.numpy()``-style host copies come from ``backend.to_host``."""
        state: OrderedDict[str, Any] = OrderedDict()
        for name, param in self.named_parameters():
            xp = param._node.xp
            state[name] = xp.asarray(param.data, copy=True)
        return state

    def load_state_dict(self, state: Mapping[str, Any], strict: bool = True) -> LoadResult:
        """Copy the arrays of ``state`` (any backend's arrays, or NumPy, converted to each
        parameter's device and dtype) into the parameters of the same names.

        Every name must be present with the parameter's shape. ``strict=True`` also requires
        the names to match exactly; with ``strict=False`` missing and unexpected names are
        skipped and returned. Nothing is written unless everything checks out; otherwise a
        ``ValueError`` lists the missing, unexpected and mismatched names with their shapes.
        """
        own = OrderedDict(self.named_parameters())
        missing = [name for name in own if name not in state]
        unexpected = [name for name in state if name not in own]
        converted: list[tuple[Param, Any]] = []
        mismatched: list[str] = []
        for name, param in own.items():
            if name not in state:
                continue
            value = state[name]
            original = value.data if isinstance(value, Var) else value
            array = to_array(param._node.backend, original, param.dtype, f"load_state_dict: {name}")
            if tuple(array.shape) != param.shape:
                mismatched.append(f"{name}: checkpoint {tuple(array.shape)}, model {param.shape}")
                continue
            converted.append((param, array))
        if mismatched or (strict and (missing or unexpected)):
            lines = [f"load_state_dict: the state does not fit {type(self).__name__}"]
            if missing:
                lines.append("  missing names: " + ", ".join(f"{n} {own[n].shape}" for n in missing))
            if unexpected:
                lines.append("  unexpected names: " + ", ".join(unexpected))
            if mismatched:
                lines.append("  mismatched shapes: " + "; ".join(mismatched))
            if not mismatched:
                lines.append("  (pass strict=False to load the names that match)")
            raise ValueError("\n".join(lines))
        for param, array in converted:
            param.data = array
        return LoadResult(missing, unexpected)

    # --- printing -------------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The arguments shown inside ``Name(...)`` by ``repr`` (layers override it)."""
        return ""

    def __repr__(self) -> str:
        lines = [f"({name}): " + repr(module).replace("\n", "\n  ") for name, module in self._modules.items()]
        if not lines:
            return f"{type(self).__name__}({self.extra_repr()})"
        body = "\n  ".join(([self.extra_repr()] if self.extra_repr() else []) + lines)
        return f"{type(self).__name__}(\n  {body}\n)"


Registrable = Union[Module, VarDiff, Param]


class ModelStatus:
    """The Rust crate's model registry: ``register`` components, then ask for their
    ``parameters()`` and switch them all with ``train()`` / ``eval()``::

        status = nn.ModelStatus()
        lin1 = status.register(nn.Linear(3, 8))
        drop = status.register(nn.Dropout(0.5))
        lin2 = status.register(nn.Linear(8, 1))
        optimizer = optim.SGD(status.parameters(), lr=0.1)
        status.eval()   # drop is the identity from now on

    A component is any :class:`Module` (every layer is one) or a differentiable leaf (a
    ``VarDiff`` made with ``.requires_grad()``, or a ``Param``: the crate's ``Learnable``).
    A registered module takes the status's current mode.
    """

    def __init__(self) -> None:
        self.training = True
        self._components: list[Module | VarDiff] = []

    def register(self, component: Component) -> Component:
        """Track ``component`` and return it unchanged."""
        if isinstance(component, Module):
            component.train(self.training)
            self._components.append(component)
            return component
        parameter = _as_parameter(component)
        if parameter is None:
            raise TypeError(
                f"ModelStatus.register: expected a Module (a layer) or a differentiable leaf "
                f"(.requires_grad()), got {type(component).__name__}"
            )
        self._components.append(parameter)
        return component

    def parameters(self) -> list[Param]:
        """The parameters of every registered component, each once, in registration order."""
        seen: set[int] = set()
        result = []
        for component in self._components:
            params = component.parameters() if isinstance(component, Module) else [Param(component._node)]  # type: ignore[arg-type]
            for param in params:
                if id(param._node) not in seen:
                    seen.add(id(param._node))
                    result.append(param)
        return result

    def train(self) -> None:
        """Switch every registered module to training mode."""
        self._set(True)

    def eval(self) -> None:
        """Switch every registered module to evaluation mode (dropout is the identity)."""
        self._set(False)

    def _set(self, mode: bool) -> None:
        self.training = mode
        for component in self._components:
            if isinstance(component, Module):
                component.train(mode)

    def __len__(self) -> int:
        return len(self._components)

    def __repr__(self) -> str:
        mode = "train" if self.training else "eval"
        return f"ModelStatus({len(self._components)} components, {len(self.parameters())} parameters, {mode})"
