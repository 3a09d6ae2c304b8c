"""Containers of modules, with PyTorch's names and key naming: :class:`Sequential`,
:class:`ModuleList` and :class:`ModuleDict`.

Their sub-modules register under the keys PyTorch uses (``"0"``, ``"1"``, ... for Sequential
and ModuleList; the given keys for ModuleDict and an ``OrderedDict``-built Sequential), so
parameter names such as ``layers.0.weight`` equal PyTorch's and ``state_dict`` keys match::

    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    model[0]                    # the first Linear
    model[1:]                   # a Sequential of the last two (keys "1", "2" kept, as PyTorch)
    [name for name, _ in model.named_parameters()]   # ['0.weight', '0.bias', '2.weight', '2.bias']
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Iterable, Iterator, Mapping, overload

from .module import Module

__all__ = ["Sequential", "ModuleList", "ModuleDict"]


def _checked(owner: str, where: str, module: Any) -> Module:
    if not isinstance(module, Module):
        raise TypeError(f"{owner}: {where} is a {type(module).__name__}, not a Module (a layer such as nn.Linear)")
    return module


def _checked_key(owner: str, key: Any) -> str:
    if not isinstance(key, str) or not key or "." in key:
        raise KeyError(f"{owner}: a key must be a non-empty string without '.', got {key!r}")
    return key


class _IndexedModules(Module):
    """What Sequential and ModuleList share: integer indexing, ``len``, iteration, ``append``."""

    def _position(self, index: int) -> str:
        keys = list(self._modules)
        if isinstance(index, bool) or not isinstance(index, int):
            raise TypeError(f"{type(self).__name__} indices must be integers or slices, not {type(index).__name__}")
        if not -len(keys) <= index < len(keys):
            raise IndexError(f"{type(self).__name__} index {index} is out of range for {len(keys)} modules")
        key: str = keys[index]
        return key

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(list(self._modules.values()))

    def __setitem__(self, index: int, module: Module) -> None:
        setattr(self, self._position(index), _checked(type(self).__name__, f"the module for index {index}", module))

    def __delitem__(self, index: "int | slice") -> None:
        keys = list(self._modules)[index] if isinstance(index, slice) else [self._position(index)]
        for key in keys:
            delattr(self, key)
        self._renumber()

    def _renumber(self) -> None:
        # PyTorch keeps integer keys contiguous after a deletion or insertion
        modules = list(self._modules.values())
        self._modules.clear()
        for index, module in enumerate(modules):
            self._modules[str(index)] = module

    def append(self, module: Module) -> Any:
        """Add ``module`` at the end (key ``str(len(self))``); returns this container."""
        setattr(self, str(len(self)), _checked(type(self).__name__, "the appended value", module))
        return self

    def extend(self, modules: Iterable[Module]) -> Any:
        """Append every module of ``modules``; returns this container."""
        for module in modules:
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> None:
        """Insert ``module`` before position ``index`` (keys are renumbered, as PyTorch does)."""
        _checked(type(self).__name__, "the inserted value", module)
        modules = list(self._modules.values())
        modules.insert(index, module)
        self._modules.clear()
        for position, item in enumerate(modules):
            setattr(self, str(position), item)

    def extra_repr(self) -> str:
        return ""


class Sequential(_IndexedModules):
    """Modules applied one after the other: ``Sequential(a, b, c)(x) == c(b(a(x)))``.

    ``Sequential(*modules)`` names them ``"0"``, ``"1"``, ...; ``Sequential(OrderedDict(...))``
    uses the given names. Indexable (``model[0]``, ``model[-1]``, ``model[1:3]`` — a slice is a
    Sequential keeping the original keys, as PyTorch), iterable, ``len``, ``append``, ``extend``,
    ``insert``, item assignment and deletion.

    >>> model = nk.nn.Sequential(nk.nn.Linear(4, 8), nk.nn.ReLU(), nk.nn.Linear(8, 2))
    >>> model(nk.ones((3, 4))).shape, len(model), [name for name, _ in model.named_parameters()]
    ((3, 2), 3, ['0.weight', '0.bias', '2.weight', '2.bias'])
    """

    def __init__(self, *modules: Any) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], Mapping):
            for key, module in modules[0].items():
                setattr(self, _checked_key("Sequential", key), _checked("Sequential", f"entry {key!r}", module))
            return
        for index, module in enumerate(modules):
            setattr(self, str(index), _checked("Sequential", f"argument {index}", module))

    @overload
    def __getitem__(self, index: int) -> Module: ...

    @overload
    def __getitem__(self, index: slice) -> "Sequential": ...

    def __getitem__(self, index: "int | slice") -> "Module | Sequential":
        if isinstance(index, slice):
            return Sequential(OrderedDict(list(self._modules.items())[index]))
        return self._modules[self._position(index)]  # type: ignore[no-any-return]

    def forward(self, input: Any) -> Any:
        """The input through every module in order."""
        for module in self._modules.values():
            input = module(input)
        return input


class ModuleList(_IndexedModules):
    """A list of modules whose parameters register under ``"0"``, ``"1"``, ... (PyTorch's
    ``ModuleList``): indexing (a slice is a new ModuleList), iteration, ``len``, ``append``,
    ``extend``, ``insert``, ``+=``, item assignment and deletion. It has no ``forward``: the
    owning module decides how to call its members.

    >>> layers = nk.nn.ModuleList([nk.nn.Linear(2, 2), nk.nn.Linear(2, 1)]); len(layers), [name for name, _ in layers.named_parameters()][:2]
    (2, ['0.weight', '0.bias'])
    """

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    @overload
    def __getitem__(self, index: int) -> Module: ...

    @overload
    def __getitem__(self, index: slice) -> "ModuleList": ...

    def __getitem__(self, index: "int | slice") -> "Module | ModuleList":
        if isinstance(index, slice):
            return ModuleList(list(self._modules.values())[index])
        return self._modules[self._position(index)]  # type: ignore[no-any-return]

    def __iadd__(self, modules: Iterable[Module]) -> "ModuleList":
        return self.extend(modules)  # type: ignore[no-any-return]


class ModuleDict(Module):
    """A dict of modules whose parameters register under their keys (PyTorch's
    ``ModuleDict``): ``d[key]``, ``d[key] = module``, ``del d[key]``, ``in``, ``len``, iteration
    over keys, ``keys()``, ``values()``, ``items()``, ``update(...)``, ``pop(key)``, ``clear()``.
    Keys keep insertion order. It has no ``forward``.

    >>> heads = nk.nn.ModuleDict({"cls": nk.nn.Linear(4, 3), "reg": nk.nn.Linear(4, 1)})
    >>> heads["reg"].out_features, list(heads), "cls" in heads
    (1, ['cls', 'reg'], True)
    """

    def __init__(self, modules: "Mapping[str, Module] | Iterable[tuple[str, Module]] | None" = None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        if key not in self._modules:
            raise KeyError(f"ModuleDict has no key {key!r}; keys: {list(self._modules)}")
        return self._modules[key]  # type: ignore[no-any-return]

    def __setitem__(self, key: str, module: Module) -> None:
        setattr(self, _checked_key("ModuleDict", key), _checked("ModuleDict", f"the value for {key!r}", module))

    def __delitem__(self, key: str) -> None:
        self[key]  # raises the KeyError that names the keys
        delattr(self, key)

    def __contains__(self, key: object) -> bool:
        return key in self._modules

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._modules))

    def keys(self) -> list[str]:
        return list(self._modules)

    def values(self) -> list[Module]:
        return list(self._modules.values())

    def items(self) -> list[tuple[str, Module]]:
        return list(self._modules.items())

    def update(self, modules: "Mapping[str, Module] | Iterable[tuple[str, Module]]") -> None:
        """Add or replace entries from a mapping or from ``(key, module)`` pairs."""
        pairs = modules.items() if isinstance(modules, Mapping) else modules
        for pair in pairs:
            key, module = pair
            self[key] = module

    def pop(self, key: str) -> Module:
        """Remove ``key`` and return its module."""
        module = self[key]
        del self[key]
        return module

    def clear(self) -> None:
        """Remove every entry."""
        for key in list(self._modules):
            delattr(self, key)
