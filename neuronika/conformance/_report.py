"""Outcomes of conformance checks and the one-screen report."""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

#: the areas, in the order they run and print
AREAS = ("capabilities", "kernels", "ops", "training", "state", "checkpoints", "errors")
STATUSES = ("provided", "fallback", "passed", "skipped", "failed")


class Skip(Exception):
    """Raised by a check that does not apply to the backend; the message is the reason."""


@dataclass
class Outcome:
    """One check's result: ``status`` is one of provided / fallback / skipped / failed."""

    area: str
    name: str
    status: str
    detail: str = ""
    seconds: float = 0.0


def provided(detail: str = "") -> tuple[str, str]:
    """What a check returns when the backend's own implementation passed."""
    return "provided", detail


def passed(detail: str = "") -> tuple[str, str]:
    """What a check of neuronika's own code running on the backend (ops, training, state,
    checkpoints, errors) returns when it passed."""
    return "passed", detail


def fallback(detail: str = "") -> tuple[str, str]:
    """What a check returns when neuronika's generic path ran on the backend and passed."""
    return "fallback", detail


@dataclass
class Check:
    """What every check receives: the device under test, its backend and the reference device."""

    device: str
    backend: Any
    reference: str
    quick: bool = False

    def run(self, area: str, name: str, function: Callable[["Check"], Any]) -> Outcome:
        start = time.perf_counter()
        try:
            result = function(self)
            status, detail = result if isinstance(result, tuple) else ("passed", "")
        except Skip as reason:
            status, detail = "skipped", str(reason)
        except Exception as error:  # a failed check is reported, never raised
            frame = traceback.extract_tb(error.__traceback__)[-1]
            first = (str(error).strip().splitlines() or [""])[0]
            status = "failed"
            detail = f"{type(error).__name__}: {first[:300]} [{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno}]"
        return Outcome(area, name, status, detail, time.perf_counter() - start)


@dataclass
class Report:
    """All outcomes on one device; :meth:`render` prints them grouped by area."""

    device: str
    reference: str
    capabilities: dict[str, Any]
    outcomes: list[Outcome] = field(default_factory=list)

    def add(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)

    @property
    def failed(self) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if outcome.status == "failed"]

    @property
    def ok(self) -> bool:
        """Whether no check failed."""
        return not self.failed

    def by_status(self, status: str, area: str | None = None) -> list[str]:
        return [o.name for o in self.outcomes if o.status == status and (area is None or o.area == area)]

    def render(self, width: int = 100) -> str:
        """The one-screen report: the declarations, then per area the checks provided by the
        backend, those that ran on neuronika's fallback, those skipped (with reasons) and those
        that failed (with the error)."""
        caps = self.capabilities
        total = {status: len(self.by_status(status)) for status in STATUSES}
        seconds = sum(o.seconds for o in self.outcomes)
        lines = [
            f"neuronika conformance: {self.device}  (reference: {self.reference})  "
            + ", ".join(f"{total[s]} {s}" for s in STATUSES) + f"  [{seconds:.1f}s]",
            f"  arrays: {'mutable' if caps['mutable_arrays'] else 'immutable (functional kernels)'}"
            f"{'' if caps.get('negative_slice_steps', True) else ', no negative slice steps'}; "
            f"dtypes: {', '.join(caps['dtypes'])}; native: {', '.join(caps['native_ops']) or '-'}; "
            f"rng state: {'yes' if caps['rng_state'] else 'no'}",
        ]
        for area in AREAS:
            outcomes = [o for o in self.outcomes if o.area == area]
            if not outcomes:
                continue
            counts = ", ".join(f"{sum(o.status == s for o in outcomes)} {s}" for s in STATUSES if any(o.status == s for o in outcomes))
            lines.append(f"{area} ({counts}) [{sum(o.seconds for o in outcomes):.1f}s]")
            notes = [o for o in outcomes if o.status == "passed" and o.detail and area == "training" and "learns" in o.name]
            lines.extend(f"  {o.name}: {o.detail}" for o in notes)
            for status in ("provided", "fallback", "passed"):
                names = [o.name for o in outcomes if o.status == status]
                if names:
                    lines.extend(_wrapped(f"  {status}: ", names, width))
            for outcome in outcomes:
                if outcome.status in ("skipped", "failed"):
                    text = f"  {outcome.status.upper() if outcome.status == 'failed' else outcome.status}: {outcome.name}: {outcome.detail}"
                    lines.append(text if len(text) <= 2 * width else text[: 2 * width - 3] + "...")
        lines.append("RESULT: " + ("PASS" if self.ok else f"FAIL ({total['failed']} failed)"))
        return "\n".join(lines)


def _wrapped(head: str, names: list[str], width: int) -> list[str]:
    lines, line = [], head
    for name in names:
        piece = name if line == head else ", " + name
        if len(line) + len(piece) > width and line != head:
            lines.append(line + ",")
            line = " " * len(head) + name
        else:
            line += piece
    lines.append(line)
    return lines
