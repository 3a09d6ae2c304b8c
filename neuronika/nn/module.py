"""``Module``, the base class of layers and models.

A :class:`Module` registers what is assigned to its attributes, as PyTorch users expect:

- a differentiable leaf (a :class:`~neuronika.VarDiff` made with ``.requires_grad()``, or a
  :class:`~neuronika.Param`) becomes a *parameter*;
- another :class:`Module` becomes a *sub-module*;
- anything else (ints, constants, computed variables, ``None``) is a plain attribute, unless
  it was made a *buffer* with :meth:`Module.register_buffer` (state that is saved and moved
  with the model but not trained, such as running statistics).

Parameters are stored as the differentiable leaves themselves, so ``x.mm_t(self.weight)`` uses
them directly, and handed out as :class:`~neuronika.Param` objects by :meth:`Module.parameters`
(what optimizers take).

The Rust crate's way of building a model, :class:`~neuronika.nn.ModelStatus`, lives in
:mod:`neuronika.nn.status`.
"""

from __future__ import annotations

from collections import OrderedDict
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, NamedTuple, ParamSpec, Protocol, TypeVar

from ..autograd import Param, Var, VarDiff, from_ndarray
from ..backends import Device, DType
from ..backends._values import to_array

if TYPE_CHECKING:
    from .summary import Summary

#: while :meth:`Module.summary` runs: a function ``(module, forward, args, kwargs) -> output``
#: through which every module call goes (one ContextVar read per call, at graph-build time only)
call_recorder: ContextVar[Callable[..., Any] | None] = ContextVar("neuronika_call_recorder", default=None)

if TYPE_CHECKING:
    from typing_extensions import Self

    _Args = ParamSpec("_Args")
    _Result = TypeVar("_Result", covariant=True)

    class _HasForward(Protocol[_Args, _Result]):
        def forward(self, *args: _Args.args, **kwargs: _Args.kwargs) -> _Result: ...

    class _CallsForward:
        """``module(...)`` has the signature and the result type of ``module.forward``: a
        descriptor whose ``__get__`` reads them off the subclass (for type checkers only)."""

        def __get__(self, instance: _HasForward[_Args, _Result], owner: type) -> Callable[_Args, _Result]: ...


class LoadResult(NamedTuple):
    """What :meth:`Module.load_state_dict` did not load (empty lists when ``strict=True``).

    >>> nk.nn.Linear(2, 1).load_state_dict({"weight": nk.zeros((1, 2)).data}, strict=False)
    LoadResult(missing_keys=['bias'], unexpected_keys=[])
    """

    missing_keys: list[str]
    unexpected_keys: list[str]


def _as_parameter(value: Any) -> VarDiff | None:
    """``value`` as a differentiable leaf when it is one (a Param or a leaf VarDiff), else None."""
    if isinstance(value, Param):
        return value.var
    if isinstance(value, VarDiff) and value.is_leaf:
        return value
    return None


def _as_buffer(owner: str, name: str, value: Any) -> Var:
    """``value`` as a buffer: a non-differentiable leaf ``Var`` (arrays become one)."""
    if isinstance(value, (VarDiff, Param)):
        raise TypeError(
            f"{owner}.register_buffer: {name!r} is differentiable; a buffer holds state that is "
            f"not trained (assign a parameter as an attribute instead)"
        )
    if isinstance(value, Var):
        if not value.is_leaf:
            raise TypeError(
                f"{owner}.register_buffer: {name!r} is the output of {value._node.name}; a buffer "
                f"must be a leaf (compute its value, then register nk.from_ndarray(value))"
            )
        return value
    if isinstance(value, (bool, int, float, str, bytes)) or value is None:
        raise TypeError(f"{owner}.register_buffer: {name!r} must be a Var or an array, got {type(value).__name__}")
    return from_ndarray(value)


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

    >>> class Affine(nk.nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.scale = nk.ones(2).requires_grad()
    ...     def forward(self, x):
    ...         return x * self.scale
    >>> [name for name, _ in Affine().named_parameters()], Affine()(nk.ones((3, 2))).shape
    (['scale'], (3, 2))
    """

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
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
        if name in self.__dict__["_buffers"] and _as_parameter(value) is None and not isinstance(value, Module):
            self.register_buffer(name, value, persistent=name not in self._non_persistent)
            return
        parameter = _as_parameter(value)
        if parameter is not None:
            if name not in parameters:  # a reassigned name keeps its place, as in PyTorch
                self._forget(name)
            parameters[name] = parameter
        elif isinstance(value, Module):
            if name not in modules:
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
        for registry in ("_parameters", "_modules", "_buffers"):
            entries = registries.get(registry)
            if entries is not None and name in entries:
                return entries[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        if name in self._parameters:
            del self._parameters[name]
        elif name in self._modules:
            del self._modules[name]
        elif name in self._buffers:
            del self._buffers[name]
            self._non_persistent.discard(name)
        else:
            object.__delattr__(self, name)

    def _forget(self, name: str) -> None:
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        self._buffers.pop(name, None)
        self._non_persistent.discard(name)
        self.__dict__.pop(name, None)

    def register_buffer(self, name: str, value: Any, persistent: bool = True) -> None:
        """Register ``value`` as the buffer ``name``: state that is not trained but belongs to
        the model (running statistics, a fixed mask), as in PyTorch.

        ``value`` is a non-differentiable :class:`~neuronika.Var` leaf, an array of any backend
        or NumPy (made a leaf on the default device, keeping its dtype), or None (a slot filled
        later). The buffer reads as ``self.<name>`` (a ``Var`` to use in expressions), is listed
        by :meth:`buffers` / :meth:`named_buffers`, moves with :meth:`to`, and, when
        ``persistent``, is saved by :meth:`state_dict` and loaded by :meth:`load_state_dict`.
        Assigning ``self.<name> = value`` later replaces it the same way.
        """
        owner = type(self).__name__
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f"{owner}.register_buffer: the name must be a non-empty string without '.', got {name!r}")
        if name in self._parameters or name in self._modules:
            raise KeyError(f"{owner}.register_buffer: {name!r} is already a parameter or a sub-module")
        if value is not None:
            value = _as_buffer(owner, name, value)
        if name not in self._buffers:
            self._forget(name)
        self._buffers[name] = value
        if persistent:
            self._non_persistent.discard(name)
        else:
            self._non_persistent.add(name)

    if TYPE_CHECKING:
        # Checkers see ``module(x)`` as ``module.forward(x)``: same parameters, same result.
        __call__: _CallsForward

        def forward(self, *args: Any, **kwargs: Any) -> Any: ...
    else:
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            forward = getattr(self, "forward", None)
            if forward is None:
                raise TypeError(f"{type(self).__name__} defines no forward(...) method; a Module subclass must define one")
            recorder = call_recorder.get()
            if recorder is None:
                return forward(*args, **kwargs)
            return recorder(self, forward, args, kwargs)

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
                yield (f"{prefix}.{name}" if prefix else name), Param(node)

    def parameters(self) -> list[Param]:
        """Every parameter as a :class:`~neuronika.Param`, each once, in :meth:`named_parameters`
        order (give this to an optimizer)."""
        return [param for _, param in self.named_parameters()]

    def named_buffers(self) -> Iterator[tuple[str, Var]]:
        """``(dotted name, Var)`` for every buffer that is set (not None), each once, in the
        order of :meth:`named_parameters` (a module's own, then its sub-modules', depth first)."""
        seen: set[int] = set()
        for prefix, module in self.named_modules():
            for name, buffer in module._buffers.items():
                if buffer is None or id(buffer._node) in seen:
                    continue
                seen.add(id(buffer._node))
                yield (f"{prefix}.{name}" if prefix else name), buffer

    def buffers(self) -> list[Var]:
        """Every buffer (a non-differentiable :class:`~neuronika.Var`), in :meth:`named_buffers` order."""
        return [buffer for _, buffer in self.named_buffers()]

    def apply(self, fn: Callable[["Module"], Any]) -> Self:
        """Call ``fn`` on every sub-module (children first, recursively) and then on this
        module, as PyTorch does (e.g. ``model.apply(init_weights)``); returns this module."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def num_parameters(self) -> int:
        """The number of scalar parameters (each shared parameter counted once)."""
        total = 0
        for _, param in self.named_parameters():
            count = 1
            for size in param.shape:
                count *= size
            total += count
        return total

    def summary(self, input_shape: Any, *, dtype: "DType | str | None" = None, device: Any = None) -> "Summary":
        """A table of the layers this model calls on a zero input of ``input_shape`` (a tuple
        with the batch axis; a list of tuples for a ``forward`` with several inputs): each
        call's module name, type, output shape and parameter count, plus the totals.

        The graph is only built, never run (shapes are known when ops are built), so this is
        cheap even for large inputs. ``print(model.summary((1, 3, 28, 28)))``. See
        :mod:`neuronika.nn.summary` for how calls are recorded.
        """
        from .summary import summarize  # late: summary builds on Module

        return summarize(self, input_shape, dtype=dtype, device=device)

    # --- modes, devices, gradients ------------------------------------------------------------
    def train(self, mode: bool = True) -> Self:
        """Switch this module and every sub-module to training mode (``mode=False``: evaluation)."""
        for module in self.modules():
            module._set_training(bool(mode))
        return self

    def eval(self) -> Self:
        """Switch this module and every sub-module to evaluation mode (dropout is the identity)."""
        return self.train(False)

    def _set_training(self, mode: bool) -> None:
        object.__setattr__(self, "training", mode)

    def to(self, device: "str | Device") -> Self:
        """Move every parameter (data and gradient) and every buffer to ``device`` in place;
        returns the module.

        Graphs built before the move keep referring to the same parameters, which now live on
        the new device: rebuild graphs whose other inputs stayed behind. An optimizer's state
        follows its parameters at its next step.
        """
        for param in self.parameters():
            param.move_to(device)
        for buffer in self.buffers():
            Param(buffer._node).move_to(device)  # type: ignore[arg-type]  # moves any leaf node in place
        return self

    def zero_grad(self) -> None:
        """Forget the accumulated gradient of every parameter."""
        for param in self.parameters():
            param.grad = None

    # --- state ----------------------------------------------------------------------------------
    def _state_entries(self, prefix: str = "") -> Iterator[tuple[str, Any]]:
        """``(dotted name, leaf node)`` for every parameter and persistent buffer, PyTorch's
        ``state_dict`` walk: a module's own parameters, then its buffers, then each sub-module
        under its name (a shared parameter or module appears under every name, as in PyTorch)."""
        for name, leaf in self._parameters.items():
            yield prefix + name, leaf._node
        for name, buffer in self._buffers.items():
            if buffer is not None and name not in self._non_persistent:
                yield prefix + name, buffer._node
        for name, module in self._modules.items():
            yield from module._state_entries(f"{prefix}{name}.")

    def state_dict(self) -> "OrderedDict[str, Any]":
        """An ordered dict ``dotted name → array``: a copy of every parameter's and persistent
        buffer's value, as an array of its own backend (NumPy on ``"cpu"``), with PyTorch's
        names and order. The copies do not change when the model trains on; ``nk.save``
        writes the dict and host copies come from ``backend.to_host``."""
        state: OrderedDict[str, Any] = OrderedDict()
        for name, node in self._state_entries():
            state[name] = node.xp.asarray(node.value, copy=True)
        return state

    def load_state_dict(self, state: Mapping[str, Any], strict: bool = True) -> LoadResult:
        """Copy the arrays of ``state`` (any backend's arrays, or NumPy, converted to each
        entry's device and dtype) into the parameters and persistent buffers of the same names.

        Every name must be present with the entry's shape. ``strict=True`` also requires
        the names to match exactly; with ``strict=False`` missing and unexpected names are
        skipped and returned. Nothing is written unless everything checks out; otherwise a
        ``ValueError`` lists the missing, unexpected and mismatched names with their shapes.
        """
        own = OrderedDict(self._state_entries())
        missing = [name for name in own if name not in state]
        unexpected = [name for name in state if name not in own]
        converted: list[tuple[Any, Any]] = []
        mismatched: list[str] = []
        for name, node in own.items():
            if name not in state:
                continue
            value = state[name]
            original = value.data if isinstance(value, Var) else value
            array = to_array(node.backend, original, node.dtype, f"load_state_dict: {name}")
            if tuple(array.shape) != node.shape:
                mismatched.append(f"{name}: checkpoint {tuple(array.shape)}, model {node.shape}")
                continue
            converted.append((node, array))
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
        for node, array in converted:
            Param(node).data = array  # the setter marks the graphs that use it stale
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
