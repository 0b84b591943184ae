"""What is measured per task, size and method, and how calls are recorded.

:class:`CallRecorder` is a LangChain callback handler put on a model instance: it sees every
call of that model, whichever code path made it (an RLM's REPL, LlamaIndex's bridge, a direct
``ainvoke``), with its usage, its duration and, for RLM calls, the ``rlm_depth`` the RLM
puts in the run's metadata. :class:`Measurement` is one row of the results.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import BaseMessage, SystemMessage
from langchain_core.outputs import LLMResult

from polyvox.costs.catalog import ModelCatalog, default_catalog
from polyvox.costs.computation import compute_cost

if TYPE_CHECKING:
    from polyvox.rlm.trajectory import Trajectory

__all__ = [
    "CallRecord",
    "CallRecorder",
    "Measurement",
    "by_depth",
    "price_calls",
    "tree_levels",
    "tree_reads",
]


@dataclass
class CallRecord:
    """One model call seen by a :class:`CallRecorder`."""

    role: str
    """``root`` for an RLM root turn (a conversation with a system prompt), else ``sub``."""
    depth: int | None
    """The ``rlm_depth`` of the call's metadata, when an RLM made it."""
    started: float
    """``time.perf_counter()`` at the start."""
    ended: float = 0.0
    """``time.perf_counter()`` at the end (0 while running)."""
    input_tokens: int = 0
    """Input tokens the model reported."""
    output_tokens: int = 0
    """Output tokens the model reported."""
    provider: str = ""
    """``response_metadata["model_provider"]``."""
    model: str = ""
    """``response_metadata["model_name"]``."""
    error: str | None = None
    """The exception, when the call failed."""
    simulated_s: float | None = None
    """The latency a simulated model slept (``response_metadata["simulated_latency_s"]``)."""

    @property
    def seconds(self) -> float:
        """The call's duration, as measured."""
        return max(self.ended - self.started, 0.0)

    @property
    def model_seconds(self) -> float:
        """The model's own time: the simulated latency, else the measured duration.

        A simulated call's measured duration also holds the time it waited for the event
        loop while hundreds of others ran (their reading is CPU work in this process), which
        a real API would not charge; its simulated latency is what it stands for.
        """
        return self.seconds if self.simulated_s is None else self.simulated_s


class CallRecorder(BaseCallbackHandler):
    """Records every call of the model instances it is attached to (thread-safe).

    A call whose messages include a system message is an RLM root turn (the RLM always sends
    its system prompt); any other is a sub-call (a plain prompt).
    """

    run_inline = True
    raise_error = False

    def __init__(self) -> None:
        """Start with no calls."""
        self._lock = threading.Lock()
        self._open: dict[UUID, CallRecord] = {}
        self.calls: list[CallRecord] = []
        """Finished calls, in the order they finished."""

    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[BaseMessage]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Open a record."""
        depth = (metadata or {}).get("rlm_depth")
        root = any(isinstance(m, SystemMessage) for batch in messages for m in batch)
        record = CallRecord(
            "root" if root else "sub",
            depth if isinstance(depth, int) else None,
            time.perf_counter(),
        )
        with self._lock:
            self._open[run_id] = record

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        """Close a record with the reply's usage and model."""
        ended = time.perf_counter()
        with self._lock:
            record = self._open.pop(run_id, None)
        if record is None:
            return
        record.ended = ended
        for generations in response.generations:
            for generation in generations:
                message = getattr(generation, "message", None)
                usage = getattr(message, "usage_metadata", None) or {}
                record.input_tokens += int(usage.get("input_tokens", 0))
                record.output_tokens += int(usage.get("output_tokens", 0))
                meta = getattr(message, "response_metadata", None) or {}
                record.provider = str(meta.get("model_provider", record.provider))
                record.model = str(meta.get("model_name", record.model))
                simulated = meta.get("simulated_latency_s")
                if isinstance(simulated, int | float):
                    record.simulated_s = (record.simulated_s or 0.0) + float(simulated)
        with self._lock:
            self.calls.append(record)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        """Close a record as failed."""
        with self._lock:
            record = self._open.pop(run_id, None)
            if record is not None:
                record.ended = time.perf_counter()
                record.error = f"{type(error).__name__}: {error}"
                self.calls.append(record)


def price_calls(calls: Iterable[CallRecord], catalog: ModelCatalog | None = None) -> Decimal | None:
    """The USD cost of ``calls`` at the catalog's prices (``None`` if any is unpriced)."""
    catalog = catalog or default_catalog()
    total = Decimal(0)
    for call in calls:
        if call.error is not None and not call.input_tokens:
            continue  # refused before any token was billed
        price = catalog.price_for(call.provider, call.model) if call.model else None
        if price is None or price.currency != "USD":
            return None
        usage = {"input_tokens": call.input_tokens, "output_tokens": call.output_tokens}
        cost = compute_cost(usage, price).total
        if cost is None:
            return None
        total += cost
    return total


def tree_levels(calls: Sequence[CallRecord]) -> list[int]:
    """Calls per level of a bottom-up tree: a level starts when every earlier call ended."""
    levels: list[int] = []
    horizon = float("-inf")
    for call in sorted(calls, key=lambda c: c.started):
        if not levels or call.started >= horizon:
            levels.append(0)
        levels[-1] += 1
        horizon = max(horizon, call.ended)
    return levels


@dataclass
class Measurement:
    """One task x size x method."""

    family: str
    """The task family."""
    size_tokens: int
    """The size asked for (a power of two)."""
    seed: int
    """The task's seed."""
    method: str
    """``direct``, ``tree_summarize``, ``rlm_d0``, ``rlm_d1`` or ``rlm_d2``."""
    metric: str
    """How :attr:`score` is computed."""
    score: float
    """Accuracy, ``0.75^|error|`` or F1, in [0, 1]."""
    answer: str
    """The answer (cut to 200 characters)."""
    gold: str
    """The gold answer (cut to 200 characters)."""
    context_tokens: int
    """The context's actual size, in tokens of four characters."""
    calls: int = 0
    """Model calls, all depths."""
    calls_by_depth: dict[int, int] = field(default_factory=dict)
    """Calls per RLM depth (the direct call is depth 0)."""
    tree_levels: list[int] = field(default_factory=list)
    """For tree_summarize: calls per level, leaves first."""
    input_tokens: int = 0
    """Input tokens of every call."""
    output_tokens: int = 0
    """Output tokens of every call."""
    tokens_by_depth: dict[int, int] = field(default_factory=dict)
    """Input plus output tokens per depth."""
    peak_root_tokens: int | None = None
    """The largest prompt of the top-level model (the root's turns; the direct call; the
    largest tree_summarize call)."""
    cost_usd: float | None = None
    """Cost at the catalog's price of the model each call names (``None``: unpriced)."""
    wall_s: float = 0.0
    """Wall time of the whole method."""
    serial_s: float = 0.0
    """Sum of every call's model time (:attr:`CallRecord.model_seconds`): what the calls
    would take one after another."""
    context_read: float | None = None
    """Share of the context's characters the method read."""
    note: str = ""
    """A refusal, a limit, an error."""

    def to_json(self) -> dict[str, Any]:
        """The row as plain data."""
        data = asdict(self)
        data["calls_by_depth"] = {str(k): v for k, v in sorted(self.calls_by_depth.items())}
        data["tokens_by_depth"] = {str(k): v for k, v in sorted(self.tokens_by_depth.items())}
        return data


def by_depth(calls: Iterable[CallRecord]) -> tuple[Counter[int], Counter[int]]:
    """Calls and tokens per depth (calls outside an RLM count at depth 0)."""
    counts: Counter[int] = Counter()
    tokens: Counter[int] = Counter()
    for call in calls:
        depth = call.depth or 0
        counts[depth] += 1
        tokens[depth] += call.input_tokens + call.output_tokens
    return counts, tokens


_DELEGATED = re.compile(r"DELEGATED=(\d+:\d+(?:;\d+:\d+)*)")


def _merge(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _subtract(spans: list[tuple[int, int]], holes: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in spans:
        pieces = [(start, end)]
        for a, b in holes:
            pieces = [p for x, y in pieces for p in ((x, min(y, a)), (max(x, b), y)) if p[1] > p[0]]
        out.extend(pieces)
    return out


def tree_reads(trajectory: Trajectory) -> list[tuple[int, int]]:
    """The spans of an RLM's context read anywhere in its tree, in its own coordinates.

    An RLM's read spans count a part it handed to a child RLM as read (the code sliced it).
    When the scripted root printed which parts it handed over (``DELEGATED=a:b;...``, one
    part per child, in order), those parts count instead by what the children read in them.
    Otherwise (a real model's code) the RLM's own spans are returned as they are.
    """
    own = _merge(trajectory.read_spans)
    outputs = [r["output"] for step in trajectory.steps for r in step.results]
    parts = [
        (int(a), int(b))
        for found in _DELEGATED.findall("\n".join(outputs))
        for a, b in (item.split(":") for item in found.split(";"))
    ]
    if not parts or len(parts) != len(trajectory.children):
        return own
    mapped = [
        (a + start, a + end)
        for (a, _), child in zip(parts, trajectory.children, strict=True)
        for start, end in tree_reads(child)
    ]
    return _merge(_subtract(own, _merge(parts)) + mapped)
