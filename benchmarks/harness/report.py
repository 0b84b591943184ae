"""What a benchmark returns (a :class:`Section`) and how it is printed and saved."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Column", "Row", "Section", "Target"]

Value = float | int | str | None


@dataclass(frozen=True, slots=True)
class Column:
    """A column of a section's table."""

    key: str
    """The key in each row's ``values``."""
    header: str
    fmt: str | Callable[[Any], str] = "{:,.0f}"
    """A format string or function for a value; missing values print as a dash."""

    def cell(self, value: Value) -> str:
        """Format one value."""
        if value is None:
            return "—"
        if callable(self.fmt):
            return self.fmt(value)
        return self.fmt.format(value)


@dataclass(frozen=True, slots=True)
class Target:
    """A goal for one value of a row (``overhead_us <= 200``)."""

    key: str
    op: Literal["<=", ">="]
    limit: float
    label: str
    """How the table shows it (``≤ +200 µs``)."""

    def met(self, values: dict[str, Value]) -> bool | None:
        """Whether the row meets it (``None`` when the value is missing)."""
        value = values.get(self.key)
        if not isinstance(value, int | float):
            return None
        return value <= self.limit if self.op == "<=" else value >= self.limit


@dataclass(slots=True)
class Row:
    """One line of a table: a client (or variant) and its values."""

    label: str
    values: dict[str, Value]
    target: Target | None = None
    error: str | None = None
    """Why this client could not be measured (its row then shows no values)."""

    @property
    def verdict(self) -> str:
        """``PASS``, ``MISS``, ``FAIL`` (could not run), or empty when there is no target."""
        if self.error is not None:
            return "FAIL"
        if self.target is None:
            return ""
        met = self.target.met(self.values)
        return "—" if met is None else ("PASS" if met else "MISS")


@dataclass(slots=True)
class Section:
    """One benchmark's result: a titled table with its set-up and notes."""

    name: str
    title: str
    columns: list[Column]
    rows: list[Row]
    setup: list[str] = field(default_factory=list)
    """How it was measured (printed above the table)."""
    notes: list[str] = field(default_factory=list)
    """What the numbers mean (printed below it)."""
    seconds: float = 0.0
    """How long the benchmark took (set by the runner)."""

    def render(self) -> str:
        """The section as plain text: title, set-up, aligned table, notes."""
        with_targets = any(r.target is not None for r in self.rows)
        headers = ["", *(c.header for c in self.columns)]
        if with_targets:
            headers += ["target", "result"]
        lines = [[r.label, *(c.cell(r.values.get(c.key)) for c in self.columns)] for r in self.rows]
        if with_targets:
            for line, row in zip(lines, self.rows, strict=True):
                line += [row.target.label if row.target else "", row.verdict]
        widths = [max(len(h), *(len(x[i]) for x in lines)) for i, h in enumerate(headers)]

        def fmt(cells: list[str]) -> str:
            first = cells[0].ljust(widths[0])
            rest = [c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)]
            if with_targets:  # the target and result columns read better left-aligned
                rest[-2:] = [cells[-2].ljust(widths[-2]), cells[-1].ljust(widths[-1])]
            return "  ".join([first, *rest]).rstrip()

        out = [f"== {self.name}: {self.title} ({self.seconds:.0f} s)"]
        out += [f"   {s}" for s in self.setup]
        out.append("")
        out.append(fmt(headers))
        out.append("  ".join("-" * w for w in widths))
        out += [fmt(line) for line in lines]
        notes = [*self.notes, *(f"{r.label} FAILED: {r.error}" for r in self.rows if r.error)]
        if notes:
            out.append("")
            out += [f"   * {n}" for n in notes]
        return "\n".join(out)

    def verdicts(self) -> list[tuple[str, str, str]]:
        """``(row label, target label, PASS/MISS)`` for each row with a target."""
        return [(r.label, r.target.label, r.verdict) for r in self.rows if r.target is not None]

    def to_json(self) -> dict[str, Any]:
        """The section as plain data for the results file."""
        return {
            "name": self.name,
            "title": self.title,
            "seconds": round(self.seconds, 2),
            "setup": self.setup,
            "notes": self.notes,
            "rows": [
                {
                    "label": r.label,
                    "values": r.values,
                    "target": (
                        {"key": r.target.key, "op": r.target.op, "limit": r.target.limit}
                        if r.target
                        else None
                    ),
                    "result": r.verdict or None,
                    "error": r.error,
                }
                for r in self.rows
            ],
        }
