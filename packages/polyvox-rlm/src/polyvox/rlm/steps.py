"""The records of an RLM run's steps: each step, its cells' outcomes and its model calls.

:mod:`polyvox.rlm.trajectory` ties them into a tree.

A :class:`Step` is one iteration: the root model's reply, the code blocks that ran
(:class:`CellOutcome`) and the model calls it made (:class:`SubCall`); each record has a
JSON form and is read back type-checked.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field, fields
from decimal import Decimal
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

__all__ = ["CallKind", "CellOutcome", "Step", "SubCall"]

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
