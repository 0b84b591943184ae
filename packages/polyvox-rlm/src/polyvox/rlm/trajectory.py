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
from dataclasses import asdict, dataclass, field, fields
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, TypedDict, get_args

from polyvox.rlm.checked import (
    as_bool,
    as_decimal,
    as_float,
    as_int,
    as_opt_int,
    as_opt_str,
    as_spans,
    as_str,
    as_str_list,
)
from polyvox.rlm.sandbox.isolation import SandboxReport

__all__ = [
    "CallKind",
    "CellOutcome",
    "Step",
    "SubCall",
    "Trajectory",
    "merge_spans",
    "read_trajectories",
]

CallKind = Literal["root", "llm_query", "rlm_query"]
"""What a model call was: a root-model turn, an ``llm_query`` sub-call, or an ``rlm_query``
(a child RLM, or a plain sub-call where recursion is not allowed)."""

_DECIMAL_FIELDS = ("cost", "cost_usd")


class CellOutcome(TypedDict):
    """What one code block did in the REPL (a JSON-friendly copy of the sandbox's result)."""

    code: str
    """The code that ran."""
    output: str
    """Captured stdout and stderr (and the traceback of an exception), as the sandbox capped
    it; the root model saw at most its share of ``max_output_chars`` of it."""
    error: str | None
    """The exception type and message when the block failed or was stopped."""
    truncated: bool
    """Whether the sandbox cut the output."""
    timed_out: bool
    """Whether the block hit the per-cell time limit."""
    duration_s: float
    """Wall time of the block."""
    final: str | None
    """The answer the block gave with ``FINAL``/``FINAL_VAR``, if it did."""
    reads: list[tuple[int, int]]
    """Character spans of ``context`` the block read."""
    restored: list[str]
    """Protected names the block overwrote and the sandbox restored."""


@dataclass
class SubCall:
    """One model call (or one child RLM started by ``rlm_query``)."""

    kind: CallKind
    """What the call was for."""
    depth: int
    """Its depth: root turns of the depth-``d`` RLM are at ``d``; their sub-calls at ``d + 1``."""
    model: str
    """The model that answered."""
    provider: str = "unknown"
    """The model's provider id."""
    prompt_chars: int = 0
    """Length of the prompt (all messages, for a root turn)."""
    response_chars: int = 0
    """Length of the response."""
    input_tokens: int = 0
    """Input tokens as the provider reported them (for a child RLM: its whole tree)."""
    output_tokens: int = 0
    """Output tokens (for a child RLM: its whole tree)."""
    cost: Decimal | None = None
    """Cost in the price's currency; ``None`` when the model is unpriced."""
    currency: str | None = None
    """The currency of :attr:`cost`."""
    cost_usd: Decimal | None = None
    """Cost in USD (``None`` when unpriced or no exchange rate is known)."""
    latency_s: float = 0.0
    """Wall time of the call."""
    prompt_preview: str = ""
    """The start of the prompt (the last message, for a root turn)."""
    response_preview: str = ""
    """The start of the response."""
    error: str | None = None
    """The exception type and message when the call failed."""
    child: int | None = None
    """For an ``rlm_query`` that started a child RLM: its index in
    :attr:`Trajectory.children` (its usage is then the child's, counted there)."""
    run_id: str | None = None
    """The LangChain run id of the model call (the ledger's ``run_id``)."""

    @property
    def is_model_call(self) -> bool:
        """Whether this entry is a model call itself (not a pointer to a child RLM)."""
        return self.child is None

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens

    def to_dict(self) -> dict[str, Any]:
        """The JSON-friendly form (decimals as strings)."""
        data = asdict(self)
        for key in _DECIMAL_FIELDS:
            if data[key] is not None:
                data[key] = str(data[key])
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SubCall:
        """Rebuild a call from :meth:`to_dict`'s form.

        Every field is type-checked (the file may have been edited), so no value of the
        wrong type reaches the HTML viewer.

        Args:
            data: The mapping.

        Returns:
            The call.

        Raises:
            ValueError: A field has the wrong type, or ``kind`` is unknown.
        """
        kind = as_str(data, "kind")
        if kind not in get_args(CallKind):
            raise ValueError(f"field 'kind' must be one of {get_args(CallKind)}, not {kind!r}")
        return cls(
            kind=kind,  # type: ignore[arg-type]
            depth=as_int(data, "depth"),
            model=as_str(data, "model"),
            provider=as_str(data, "provider", "unknown"),
            prompt_chars=as_int(data, "prompt_chars"),
            response_chars=as_int(data, "response_chars"),
            input_tokens=as_int(data, "input_tokens"),
            output_tokens=as_int(data, "output_tokens"),
            cost=as_decimal(data, "cost"),
            currency=as_opt_str(data, "currency"),
            cost_usd=as_decimal(data, "cost_usd"),
            latency_s=as_float(data, "latency_s"),
            prompt_preview=as_str(data, "prompt_preview"),
            response_preview=as_str(data, "response_preview"),
            error=as_opt_str(data, "error"),
            child=as_opt_int(data, "child"),
            run_id=as_opt_str(data, "run_id"),
        )


@dataclass
class Step:
    """One iteration of the loop: the root model's reply and what its code did."""

    depth: int
    """Depth of the RLM that took the step."""
    iteration: int
    """1-based iteration number."""
    model_text: str = ""
    """The root model's whole reply."""
    code_blocks: list[str] = field(default_factory=list)
    """The code blocks found in the reply, in order."""
    results: list[CellOutcome] = field(default_factory=list)
    """What each block that ran did (blocks after an accepted ``FINAL`` do not run)."""
    subcalls: list[SubCall] = field(default_factory=list)
    """Sub-calls the blocks made, in the order they finished."""
    root_call: SubCall | None = None
    """The root model's call that produced :attr:`model_text`."""
    feedback: str = ""
    """The message sent back to the root model after the step."""
    notes: list[str] = field(default_factory=list)
    """What the loop refused or noticed (an answer claimed in prose, no code, ...)."""
    final: str | None = None
    """The answer accepted in this step, if any."""
    duration_s: float = 0.0
    """Wall time of the step (model call and code)."""

    def calls(self) -> Iterator[SubCall]:
        """The model calls of the step: its root call, then its sub-calls."""
        if self.root_call is not None:
            yield self.root_call
        yield from self.subcalls

    def to_dict(self) -> dict[str, Any]:
        """The JSON-friendly form."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["results"] = [dict(r, reads=[list(s) for s in r["reads"]]) for r in self.results]
        data["subcalls"] = [c.to_dict() for c in self.subcalls]
        data["root_call"] = self.root_call.to_dict() if self.root_call else None
        data["code_blocks"] = list(self.code_blocks)
        data["notes"] = list(self.notes)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Step:
        """Rebuild a step from :meth:`to_dict`'s form.

        Every field is type-checked, as in :meth:`SubCall.from_dict`.

        Args:
            data: The mapping.

        Returns:
            The step.

        Raises:
            ValueError: A field has the wrong type.
        """
        root = data.get("root_call")
        return cls(
            depth=as_int(data, "depth"),
            iteration=as_int(data, "iteration"),
            model_text=as_str(data, "model_text"),
            code_blocks=as_str_list(data, "code_blocks"),
            results=[_outcome(r) for r in _records_of(data, "results")],
            subcalls=[SubCall.from_dict(c) for c in _records_of(data, "subcalls")],
            root_call=SubCall.from_dict(_record(root, "root_call")) if root else None,
            feedback=as_str(data, "feedback"),
            notes=as_str_list(data, "notes"),
            final=as_opt_str(data, "final"),
            duration_s=as_float(data, "duration_s"),
        )


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


def _record(value: object, key: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"field {key!r} must be a JSON object, not {type(value).__name__}")
    return value


def _records_of(data: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    value = data.get(key) or []
    if not isinstance(value, list):
        raise ValueError(f"field {key!r} must be a list, not {type(value).__name__}")
    return [_record(item, key) for item in value]


def _outcome(data: Mapping[str, Any]) -> CellOutcome:
    return CellOutcome(
        code=as_str(data, "code"),
        output=as_str(data, "output"),
        error=as_opt_str(data, "error"),
        truncated=as_bool(data, "truncated"),
        timed_out=as_bool(data, "timed_out"),
        duration_s=as_float(data, "duration_s"),
        final=as_opt_str(data, "final"),
        reads=as_spans(data, "reads"),
        restored=as_str_list(data, "restored"),
    )


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
