"""``ModelStatus``, the Rust crate's model registry (the Pythonic way is :class:`~neuronika.nn.Module`)."""

from __future__ import annotations

from typing import TypeVar, Union

from ..autograd import Param, VarDiff
from .module import Module, _as_parameter

Component = TypeVar("Component")

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

    >>> status = nk.nn.ModelStatus(); layer = status.register(nk.nn.Linear(3, 2)); len(status.parameters())
    2
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
