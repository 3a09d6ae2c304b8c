"""``Module.summary(input_shape)``: the table of layers, output shapes and parameter counts.

How it works: the model is called once on a zero input of the given shape while a recorder is
installed in a ``ContextVar`` that :meth:`Module.__call__` consults. Every module call made
during that forward — at any depth, in whatever order ``forward`` chooses, including calls of
modules that are not attributes and repeated calls of a shared module — is recorded with its
nesting depth when it starts and its output shape when it returns. Because neuronika infers
shapes when the graph is *built*, the graph is never run: the summary costs no arithmetic and
works for inputs of any size. Outside ``summary`` the recorder is unset and a module call costs
one ``ContextVar`` read, at build time only (never in ``forward()``/``backward()`` of a built
graph).

The recorder is a ContextVar, so a summary running in one thread never records another
thread's calls, and it is reset in ``finally`` even when ``forward`` raises.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..autograd import Var, zeros
from .module import Module, call_recorder

__all__ = ["Summary", "SummaryRow", "summarize"]


@dataclass
class SummaryRow:
    """One module call: its dotted name (``""`` for the model itself), type, nesting depth,
    output shape(s) and the number of parameters it holds (0 when already counted above for an
    earlier call of the same module, marked ``shared``)."""

    name: str
    kind: str
    depth: int
    output_shape: Any = None
    parameters: int = 0
    shared: bool = False


@dataclass
class Summary:
    """What :meth:`Module.summary` returns; ``print`` it for the table.

    >>> nk.nn.Sequential(nk.nn.Linear(3, 2)).summary((4, 3)).total_parameters
    8
    """

    rows: list[SummaryRow] = field(default_factory=list)
    total_parameters: int = 0
    input_shapes: list[tuple[int, ...]] = field(default_factory=list)

    def __str__(self) -> str:
        header = ("Layer (type)", "Output shape", "Param #")
        lines = [
            (
                "  " * row.depth + (f"{row.name} ({row.kind})" if row.name else row.kind),
                _format_shape(row.output_shape),
                "(shared)" if row.shared else f"{row.parameters:,}",
            )
            for row in self.rows
        ]
        widths = [max(len(cells[i]) for cells in [header, *lines]) for i in range(3)]
        rule = "=" * (sum(widths) + 4)
        text = [rule, _line(header, widths), rule, *(_line(cells, widths) for cells in lines), rule]
        text.append(f"Total parameters: {self.total_parameters:,}")
        text.append(f"Input shape: {', '.join(str(shape) for shape in self.input_shapes)}")
        return "\n".join(text)

    __repr__ = __str__


def _line(cells: tuple[str, str, str], widths: list[int]) -> str:
    return f"{cells[0]:<{widths[0]}}  {cells[1]:<{widths[1]}}  {cells[2]:>{widths[2]}}"


def _format_shape(output: Any) -> str:
    if isinstance(output, tuple) and all(isinstance(size, int) for size in output):
        return str(output)
    if isinstance(output, list):
        return "[" + ", ".join(_format_shape(item) for item in output) + "]"
    return "-" if output is None else str(output)


def _shapes(output: Any) -> Any:
    """The shape of a variable, or the shapes of a tuple/list of them (nested)."""
    if isinstance(output, Var):
        return output.shape
    if isinstance(output, (tuple, list)):
        return [_shapes(item) for item in output]
    return None


def summarize(model: Module, input_shape: Any, *, dtype: Any = None, device: Any = None) -> Summary:
    """Build ``model``'s graph on zero inputs of ``input_shape`` and record every module call."""
    shapes = _input_shapes(input_shape)
    params = model.parameters()
    if params:
        dtype = dtype if dtype is not None else params[0].dtype
        device = device if device is not None else params[0].device
    inputs = [zeros(shape, dtype=dtype, device=device) for shape in shapes]
    names = {id(module): name for name, module in model.named_modules()}
    summary = Summary(total_parameters=model.num_parameters(), input_shapes=shapes)
    counted: set[int] = set()
    depth = [0]

    def record(module: Module, forward: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        shared = id(module) in counted
        counted.add(id(module))
        row = SummaryRow(names.get(id(module), "(not an attribute)"), type(module).__name__, depth[0], shared=shared)
        if not shared:
            row.parameters = module.num_parameters()
        summary.rows.append(row)
        depth[0] += 1
        try:
            output = forward(*args, **kwargs)
        finally:
            depth[0] -= 1
        row.output_shape = _shapes(output)
        return output

    token = call_recorder.set(record)
    try:
        model(*inputs)
    finally:
        call_recorder.reset(token)
    return summary


def _input_shapes(input_shape: Any) -> list[tuple[int, ...]]:
    def one(shape: Any) -> tuple[int, ...] | None:
        if isinstance(shape, int) and not isinstance(shape, bool):
            return (shape,)
        if isinstance(shape, (tuple, list)) and all(isinstance(s, int) and not isinstance(s, bool) for s in shape):
            return tuple(shape)
        return None

    single = one(input_shape)
    if single is not None:
        return [single]
    if isinstance(input_shape, (tuple, list)) and input_shape:
        shapes = [one(shape) for shape in input_shape]
        if all(shape is not None for shape in shapes):
            return shapes  # type: ignore[return-value]
    raise TypeError(
        f"summary: input_shape must be a shape such as (1, 3, 28, 28) (batch axis included), or a "
        f"list of shapes for a forward with several inputs; got {input_shape!r}"
    )
