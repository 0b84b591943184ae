"""What an RLM takes and returns: its input, the prepared context, and its result.

The context may be a string, a list of strings, or LangChain ``Document`` s (their metadata
is kept: in the REPL each document is an entry of ``documents`` with its metadata and its
character span in ``context``, and the LlamaIndex engine puts it on its source nodes).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from langchain_core.documents import Document
from pydantic import BaseModel, ConfigDict

from polyvox.rlm.errors import RLMError
from polyvox.rlm.sandbox.documents import join_documents

if TYPE_CHECKING:
    from polyvox.rlm.accounting import UsageReport
    from polyvox.rlm.trajectory import SubCall, Trajectory

__all__ = [
    "ContextInput",
    "PreparedContext",
    "RLMInput",
    "RLMResult",
    "prepare_context",
]

ContextInput = str | Document | Sequence[str] | Sequence[Document]
"""What an RLM's context may be."""


class RLMInput(BaseModel):
    """The input of :class:`~polyvox.rlm.rlm.RecursiveLanguageModel`."""

    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid")

    question: str
    """The question to answer."""
    context: str | list[str] | list[Document] | Document
    """The long input: a string, strings, or documents (metadata kept)."""


@dataclass(frozen=True)
class PreparedContext:
    """A context ready for the sandbox, with where each document lies in ``context``."""

    text: str
    """The whole context as the REPL's ``context`` holds it."""
    parts: tuple[str, ...]
    """The documents' texts (one part for a plain string)."""
    metadata: tuple[dict[str, Any], ...] | None
    """Each document's metadata (``None`` for a plain string)."""
    spans: tuple[tuple[int, int], ...]
    """Each document's ``(start, end)`` in :attr:`text`."""

    @property
    def documents(self) -> int:
        """How many documents (0 for a plain string)."""
        return 0 if self.metadata is None else len(self.parts)

    @property
    def sandbox_context(self) -> str | tuple[str, ...]:
        """What the sandbox is started with: the string, or the documents' texts."""
        return self.text if self.metadata is None else self.parts


_ANSWER_SHOWN = 200
"""Characters of the answer a printed result shows."""


@dataclass(repr=False)
class RLMResult:
    """What an RLM run returns.

    Printed (``print(result)``, ``repr``), it is a one-line summary: the answer (cut at 200
    characters), the context's size, steps, sub-calls, what was read, tokens and cost;
    never the context itself, which may be megabytes (read :attr:`context` for it).
    """

    answer: str
    """The final answer (given by code that ran)."""
    trajectory: Trajectory
    """What the run did, step by step, child RLMs included."""
    usage: UsageReport
    """Calls, tokens and cost of the whole call tree, per depth and per model."""
    read_spans: list[tuple[int, int]] = field(default_factory=list)
    """Merged character spans of the root context that code read."""
    context: PreparedContext | None = None
    """The root context as the REPL held it (to map :attr:`read_spans` back to documents)."""

    @property
    def subqueries(self) -> list[SubCall]:
        """Every sub-call of the tree (``llm_query`` and ``rlm_query``), root turns excluded."""
        return [c for c in self.trajectory.calls() if c.kind != "root"]

    def __repr__(self) -> str:
        answer = self.answer
        if len(answer) > _ANSWER_SHOWN:
            answer = f"{answer[:_ANSWER_SHOWN]}... ({len(self.answer):,} chars)"
        chars = self.trajectory.context_chars
        documents = self.trajectory.documents
        size = f"{chars:,} chars" + (f" in {documents} documents" if documents else "")
        read = sum(end - start for start, end in self.read_spans)
        cost = self.usage.total_cost_usd
        return (
            f"RLMResult(answer={answer!r}, context={size}, "
            f"steps={len(self.trajectory.steps)}, sub_calls={len(self.subqueries)}, "
            f"read={read:,} chars, calls={self.usage.calls}, "
            f"tokens={self.usage.total_tokens:,}, "
            f"cost_usd={'unpriced' if cost is None else f'{cost:.6f}'})"
        )

    __str__ = __repr__


def prepare_context(value: Any) -> PreparedContext:
    """Normalise an RLM context.

    Args:
        value: A string, a ``Document``, or a list of strings, ``Document`` s and/or
            ``{"text": ..., "metadata": {...}}`` mappings.

    Returns:
        The prepared context.

    Raises:
        RLMError: For any other type, or an empty list.
    """
    if isinstance(value, str):
        return PreparedContext(value, (value,), None, ((0, len(value)),))
    items: Sequence[Any] = [value] if isinstance(value, Document) else value
    if not isinstance(items, Sequence) or not items:
        raise RLMError(
            "the context must be a str, a Document, or a non-empty list of str or Document; "
            f"got {type(value).__name__}"
        )
    texts: list[str] = []
    metadata: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        if isinstance(item, Document):
            texts.append(item.page_content)
            metadata.append(dict(item.metadata))
        elif isinstance(item, str):
            texts.append(item)
            metadata.append({})
        elif isinstance(item, Mapping) and isinstance(item.get("text"), str):
            texts.append(item["text"])
            metadata.append(dict(item.get("metadata") or {}))
        else:
            raise RLMError(f"context item {index} is a {type(item).__name__}; use str or Document")
    joined, spans = join_documents(texts)
    return PreparedContext(joined, tuple(texts), tuple(metadata), tuple(spans))
