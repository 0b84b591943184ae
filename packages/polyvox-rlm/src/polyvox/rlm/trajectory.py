"""What a Recursive Language Model run did, step by step, and its JSON-lines form.

A :class:`Trajectory` is one RLM at one depth: its :class:`Step` s (the root model's reply,
the code blocks that ran, their output, the sub-calls they made) and the trajectories of the
child RLMs its code started with ``rlm_query``. Every model call of the tree is a
:class:`SubCall` (the root model's own turns included, as ``kind="root"``), so the sum over
:meth:`Trajectory.calls` is the run's whole usage and cost, the figure the ledger sees.

JSON lines: one line per trajectory (``"record": "trajectory"``) and one per step
(``"record": "step"``), tied together by a ``run`` key and dotted ids (``"0"``, ``"0.1"``), so
several runs can be appended to one file and each read back whole.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from polyvox.rlm.checked import (
    as_float,
    as_int,
    as_opt_str,
    as_spans,
    as_str,
)
from polyvox.rlm.sandbox.isolation import SandboxReport
from polyvox.rlm.steps import CallKind, CellOutcome, Step, SubCall, _records_of

__all__ = [
    "CallKind",
    "CellOutcome",
    "Step",
    "SubCall",
    "Trajectory",
    "merge_spans",
    "read_trajectories",
]


@dataclass
class Trajectory:
    """One RLM's run at one depth, with the child RLMs it started."""

    question: str
    """The question this RLM answered (for a child: the ``rlm_query`` prompt)."""
    context_chars: int
    """Length of its ``context``."""
    depth: int = 0
    """Its depth (0 for the root RLM)."""
    model: str = ""
    """Its root model."""
    documents: int = 0
    """How many documents the context was made of (0 for a plain string)."""
    steps: list[Step] = field(default_factory=list)
    """The iterations, in order."""
    answer: str | None = None
    """The accepted final answer (``None`` when the run stopped without one)."""
    stopped: str | None = None
    """Why the run stopped without an answer (a limit's name or an error), else ``None``."""
    children: list[Trajectory] = field(default_factory=list)
    """Child RLMs started by ``rlm_query``, in the order they started."""
    read_spans: list[tuple[int, int]] = field(default_factory=list)
    """Merged character spans of the context that code read."""
    duration_s: float = 0.0
    """Wall time of the run."""
    sandbox: SandboxReport | None = None
    """The isolation layers its REPL's worker applied (``None`` for a custom REPL)."""

    # ---- totals ------------------------------------------------------------------------------

    def calls(self) -> Iterator[SubCall]:
        """Every model call of the tree: this RLM's, then its children's (depth first)."""
        for step in self.steps:
            for call in step.calls():
                if call.is_model_call:
                    yield call
        for child in self.children:
            yield from child.calls()

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens of every call in the tree."""
        return sum(c.total_tokens for c in self.calls())

    @property
    def total_cost_usd(self) -> Decimal | None:
        """USD cost of the priced calls in the tree (``None`` when none was priced)."""
        costs = [c.cost_usd for c in self.calls() if c.cost_usd is not None]
        return sum(costs, Decimal(0)) if costs else None

    # ---- dict and JSON lines ---------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The whole tree as nested JSON-friendly dicts."""
        data = self._header()
        data["steps"] = [s.to_dict() for s in self.steps]
        data["children"] = [c.to_dict() for c in self.children]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Trajectory:
        """Rebuild a tree from :meth:`to_dict`'s form.

        Args:
            data: The mapping.

        Returns:
            The trajectory.
        """
        trajectory = cls._from_header(data)
        trajectory.steps = [Step.from_dict(s) for s in _records_of(data, "steps")]
        trajectory.children = [cls.from_dict(c) for c in _records_of(data, "children")]
        return trajectory

    def jsonl_records(self) -> Iterator[dict[str, Any]]:
        """The JSON-lines records of the tree (one run key for all of them)."""
        run = uuid.uuid4().hex
        yield from self._records(run, "0", None)

    def to_jsonl(self, path: str | os.PathLike[str], *, append: bool = False) -> Path:
        """Write the tree as JSON lines.

        Args:
            path: The file.
            append: Add to the file instead of replacing it (one file can hold many runs).

        Returns:
            The path written.
        """
        target = Path(path)
        with target.open("a" if append else "w", encoding="utf-8") as out:
            for record in self.jsonl_records():
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
        return target

    @classmethod
    def from_jsonl(cls, path: str | os.PathLike[str]) -> Trajectory:
        """Read the first run of a JSON-lines file.

        Args:
            path: The file written by :meth:`to_jsonl`.

        Returns:
            The trajectory tree.

        Raises:
            ValueError: The file holds no trajectory.
        """
        runs = read_trajectories(path)
        if not runs:
            raise ValueError(f"{path} holds no RLM trajectory")
        return runs[0]

    def to_html(self, *, title: str | None = None) -> str:
        """A self-contained HTML page showing the tree (see :mod:`polyvox.rlm.viewer`).

        Args:
            title: The page title (the question by default).

        Returns:
            The page.
        """
        from polyvox.rlm.viewer import render_html

        return render_html(self, title=title)

    def save_html(self, path: str | os.PathLike[str], *, title: str | None = None) -> Path:
        """Write :meth:`to_html` to a file.

        Args:
            path: The file.
            title: The page title.

        Returns:
            The path written.
        """
        target = Path(path)
        target.write_text(self.to_html(title=title), encoding="utf-8")
        return target

    def _header(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "context_chars": self.context_chars,
            "depth": self.depth,
            "model": self.model,
            "documents": self.documents,
            "answer": self.answer,
            "stopped": self.stopped,
            "read_spans": [list(s) for s in self.read_spans],
            "duration_s": self.duration_s,
            "sandbox": self.sandbox.to_dict() if self.sandbox is not None else None,
        }

    @classmethod
    def _from_header(cls, data: Mapping[str, Any]) -> Trajectory:
        return cls(
            question=as_str(data, "question"),
            context_chars=as_int(data, "context_chars"),
            depth=as_int(data, "depth"),
            model=as_str(data, "model"),
            documents=as_int(data, "documents"),
            answer=as_opt_str(data, "answer"),
            stopped=as_opt_str(data, "stopped"),
            read_spans=as_spans(data, "read_spans"),
            duration_s=as_float(data, "duration_s"),
            sandbox=_sandbox_report(data.get("sandbox")),
        )

    def _records(self, run: str, node: str, parent: str | None) -> Iterator[dict[str, Any]]:
        yield {"record": "trajectory", "run": run, "id": node, "parent": parent, **self._header()}
        for step in self.steps:
            yield {"record": "step", "run": run, "trajectory": node, **step.to_dict()}
        for index, child in enumerate(self.children):
            yield from child._records(run, f"{node}.{index}", node)


def read_trajectories(path: str | os.PathLike[str]) -> list[Trajectory]:
    """Read every run of a JSON-lines file written by :meth:`Trajectory.to_jsonl`.

    Args:
        path: The file.

    Returns:
        The runs' trajectory trees, in file order.

    Raises:
        ValueError: A line is not JSON, or a step names a trajectory not seen before it.
    """
    with Path(path).open(encoding="utf-8") as source:
        return _assemble(_parse_lines(source))


def _parse_lines(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"line {number} is not JSON: {exc}") from exc
        if not isinstance(record, dict):
            raise ValueError(f"line {number} is not a JSON object")
        yield record


def _assemble(records: Iterable[dict[str, Any]]) -> list[Trajectory]:
    nodes: dict[tuple[str, str], Trajectory] = {}
    roots: list[Trajectory] = []
    for record in records:
        kind = record.get("record")
        run = str(record.get("run", ""))
        if kind == "trajectory":
            node = Trajectory._from_header(record)
            nodes[(run, str(record["id"]))] = node
            parent = record.get("parent")
            if parent is None:
                roots.append(node)
            elif (run, str(parent)) in nodes:
                nodes[(run, str(parent))].children.append(node)
            else:
                raise ValueError(f"trajectory {record['id']} comes before its parent {parent}")
        elif kind == "step":
            owner = nodes.get((run, str(record.get("trajectory"))))
            if owner is None:
                raise ValueError(f"a step names unknown trajectory {record.get('trajectory')}")
            owner.steps.append(Step.from_dict(record))
    return roots


def _sandbox_report(value: object) -> SandboxReport | None:
    """A trajectory file's sandbox report; ``None`` when absent or not a valid one."""
    if not isinstance(value, dict):
        return None
    try:
        return SandboxReport.from_dict(value)
    except ValueError:
        return None


def merge_spans(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Merge overlapping and touching character spans.

    Args:
        spans: ``(start, end)`` pairs, in any order; empty or inverted ones are dropped.

    Returns:
        Disjoint spans, sorted.
    """
    merged: list[tuple[int, int]] = []
    for start, end in sorted((int(a), int(b)) for a, b in spans if int(b) > int(a)):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
