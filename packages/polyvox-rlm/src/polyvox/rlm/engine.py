"""The seed project's RLM API, ``RLMConfig`` and ``RLMEngine``, over ``RecursiveLanguageModel``.

For code written against the seed's ``rlm_engine``: contexts are loaded once and named by
an id, queried recursively, searched by regular expression or BM25, and answers can be
recorded against them. The method is the Recursive Language Model of
:mod:`polyvox.rlm.rlm` (code over a REPL variable), not the seed's chunk-and-merge: the
seed's ``partition_strategy`` and ``temperature`` have no meaning here and are refused with
an explanation; ``max_recursion_depth`` is ``max_depth``, and ``chunk_size`` and
``chunk_overlap`` are the chunk size and overlap of BM25 search.

Sync methods carry the seed's names; ``arecursive_query`` is the native async twin of the
one that calls models, and ``aload_context``, ``asearch_context`` and ``asubmit_answer``
exist so async code can ``await`` every step as it did with the seed.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from langchain_core.documents import Document
from langchain_core.language_models import BaseChatModel
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator

from polyvox.rlm.accounting import UsageReport
from polyvox.rlm.errors import RLMError
from polyvox.rlm.inputs import PreparedContext, RLMResult, prepare_context
from polyvox.rlm.sandbox.limits import SandboxLimits
from polyvox.rlm.settings import RLMSettings

if TYPE_CHECKING:
    from langchain_core.runnables import RunnableConfig

    from polyvox.rlm.rlm import RecursiveLanguageModel

__all__ = ["RLMConfig", "RLMEngine", "StoredContext"]

_SEED_ONLY = {
    "partition_strategy": "the RLM does not partition the context: its code decides how to",
    "temperature": "set temperature on the chat models themselves (root_model, sub_model)",
}


class RLMConfig(BaseModel):
    """Configuration of an :class:`RLMEngine` (the seed's ``RLMConfig``)."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True, populate_by_name=True)

    max_depth: int = Field(
        default=1, ge=0, validation_alias=AliasChoices("max_depth", "max_recursion_depth")
    )
    """Deepest child RLM (``max_recursion_depth`` is accepted as the seed's name for it)."""
    max_iterations: int = Field(default=20, ge=1)
    """Root-model turns per RLM."""
    max_output_chars: int = Field(default=20_000, ge=200)
    """REPL output shown to the root model per step."""
    subcall_concurrency: int = Field(default=8, ge=1)
    """Sub-calls running at once per RLM."""
    max_live_sandboxes: int = Field(default=8, ge=1)
    """REPL processes one query may have running at once (its child RLMs included)."""
    max_time_s: float | None = Field(default=None, gt=0)
    """Wall-clock limit of one query."""
    max_tokens: int | None = Field(default=None, gt=0)
    """Token limit of one query's call tree."""
    max_cost_usd: Decimal | None = Field(default=None, gt=0)
    """Cost limit of one query's call tree."""
    chunk_size: int = Field(default=2000, ge=50)
    """Characters per chunk of :meth:`RLMEngine.search_context`'s BM25 ranking."""
    chunk_overlap: int | None = Field(default=None, ge=0)
    """Characters shared by consecutive BM25 chunks (``None``: a quarter of a chunk)."""
    root_model: BaseChatModel | None = None
    """The root model (or pass ``root=`` to the engine, or ``model_client=`` per query)."""
    sub_model: BaseChatModel | None = None
    """The sub-model (``None``: the root model)."""
    depth_settings: dict[int, RLMSettings] = Field(default_factory=dict)
    """Loop settings per depth."""
    sandbox_limits: SandboxLimits = Field(default_factory=SandboxLimits)
    """Limits of every REPL."""

    @model_validator(mode="before")
    @classmethod
    def _refuse_seed_only(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key, why in _SEED_ONLY.items():
                if key in data:
                    raise ValueError(f"RLMConfig does not take {key!r}: {why}")
        return data


@dataclass
class StoredContext:
    """A context loaded into an :class:`RLMEngine`."""

    context_id: str
    """Its id."""
    prepared: PreparedContext
    """The context as the REPL holds it."""
    metadata: dict[str, Any]
    """Metadata given when it was loaded."""
    loaded_at: datetime
    """When it was loaded (UTC)."""
    answers: list[dict[str, Any]] = field(default_factory=list)
    """Answers recorded with :meth:`RLMEngine.submit_answer`."""
    results: list[RLMResult] = field(default_factory=list)
    """Results of the queries run over it."""


class RLMEngine:
    """The seed's RLM engine: named contexts, recursive queries, search, answers, stats."""

    def __init__(
        self,
        config: RLMConfig | None = None,
        *,
        root: BaseChatModel | None = None,
        sub: BaseChatModel | None = None,
        rlm: RecursiveLanguageModel | None = None,
    ) -> None:
        """Create an engine.

        Args:
            config: The configuration (defaults when ``None``).
            root: The root model (overrides ``config.root_model``).
            sub: The sub-model (overrides ``config.sub_model``).
            rlm: A ready RLM to use instead of building one from the configuration.
        """
        self.config = config or RLMConfig()
        """The configuration."""
        self._root = root or self.config.root_model
        self._sub = sub or self.config.sub_model
        self._rlm = rlm
        self._contexts: dict[str, StoredContext] = {}
        self._usage = UsageReport()
        self._counts = {"queries": 0, "failed_queries": 0, "searches": 0, "answers": 0}
        self._lock = threading.Lock()

    # ---- contexts --------------------------------------------------------------------------

    def load_context(
        self,
        content: str | Sequence[str] | Sequence[Document],
        metadata: dict[str, Any] | None = None,
        *,
        context_id: str | None = None,
    ) -> str:
        """Load a context and name it.

        Args:
            content: Text, texts, or LangChain documents.
            metadata: Metadata of the whole context (kept; for a text, it becomes the
                metadata of its single document in the REPL).
            context_id: The id to use (default: derived from the content, so loading the
                same content twice gives the same id). Loading different content under an
                id that is already loaded raises ``ValueError`` (unload it first); loading
                the same content and metadata again returns the id and changes nothing.

        Returns:
            The context's id.

        Raises:
            ValueError: If ``context_id`` is loaded with other content.
        """
        value: Any = content
        if isinstance(content, str) and metadata:
            value = [Document(page_content=content, metadata=dict(metadata))]
        prepared = prepare_context(value)
        if context_id is None:
            digest = hashlib.sha256(prepared.text.encode("utf-8", "surrogatepass"))
            digest.update(json.dumps(metadata or {}, sort_keys=True, default=str).encode())
            context_id = f"ctx-{digest.hexdigest()[:16]}"
        with self._lock:
            existing = self._contexts.get(context_id)
            if existing is None:
                self._contexts[context_id] = StoredContext(
                    context_id, prepared, dict(metadata or {}), datetime.now(UTC)
                )
            elif existing.prepared.text != prepared.text or existing.metadata != dict(
                metadata or {}
            ):
                raise ValueError(
                    f"context id {context_id!r} is already loaded with other content; "
                    "call unload_context first to replace it"
                )
        return context_id

    async def aload_context(
        self,
        content: str | Sequence[str] | Sequence[Document],
        metadata: dict[str, Any] | None = None,
        *,
        context_id: str | None = None,
    ) -> str:
        """:meth:`load_context` for async code (in memory: nothing to await)."""
        return self.load_context(content, metadata, context_id=context_id)

    def get_context(self, context_id: str) -> StoredContext:
        """A loaded context.

        Args:
            context_id: Its id.

        Returns:
            The stored context.

        Raises:
            KeyError: No context has that id.
        """
        with self._lock:
            found = self._contexts.get(context_id)
        if found is None:
            raise KeyError(f"no context {context_id!r} is loaded (load_context gives ids)")
        return found

    def unload_context(self, context_id: str) -> None:
        """Forget a context (its answers and results too).

        Args:
            context_id: Its id.
        """
        with self._lock:
            self._contexts.pop(context_id, None)

    # ---- queries ----------------------------------------------------------------------------

    def rlm_for(self, model_client: BaseChatModel | None = None) -> RecursiveLanguageModel:
        """The RLM that answers queries.

        Args:
            model_client: A root model for this query (the seed's ``model_client``).

        Returns:
            The engine's RLM, with ``model_client`` as its root when given.

        Raises:
            RLMError: No root model was given anywhere.
        """
        from polyvox.rlm.rlm import RecursiveLanguageModel

        if self._rlm is not None:
            return (
                self._rlm
                if model_client is None
                else self._rlm.model_copy(update={"root": model_client})
            )
        root = model_client or self._root
        if root is None:
            raise RLMError(
                "RLMEngine needs a root model: RLMConfig(root_model=...), RLMEngine(root=...), "
                "or recursive_query(..., model_client=...)"
            )
        c = self.config
        return RecursiveLanguageModel(
            root=root,
            sub=self._sub,
            max_depth=c.max_depth,
            max_iterations=c.max_iterations,
            max_output_chars=c.max_output_chars,
            subcall_concurrency=c.subcall_concurrency,
            max_live_sandboxes=c.max_live_sandboxes,
            depth_settings=c.depth_settings,
            max_time_s=c.max_time_s,
            max_tokens=c.max_tokens,
            max_cost_usd=c.max_cost_usd,
            sandbox_limits=c.sandbox_limits,
        )

    def recursive_query(
        self,
        question: str,
        context_id: str,
        *,
        model_client: BaseChatModel | None = None,
        config: RunnableConfig | None = None,
    ) -> RLMResult:
        """Answer a question over a loaded context.

        Args:
            question: The question.
            context_id: The context's id.
            model_client: A root model for this query only.
            config: The LangChain config (callbacks, metadata).

        Returns:
            The result (``.answer``, ``.subqueries``, ``.trajectory``, ``.usage``).
        """
        stored = self.get_context(context_id)
        rlm = self.rlm_for(model_client)
        try:
            result = rlm.invoke(self._input(question, stored), config)
        except Exception as exc:
            self._failed(exc)
            raise
        return self._keep(stored, result)

    async def arecursive_query(
        self,
        question: str,
        context_id: str,
        *,
        model_client: BaseChatModel | None = None,
        config: RunnableConfig | None = None,
    ) -> RLMResult:
        """:meth:`recursive_query`, natively async."""
        stored = self.get_context(context_id)
        rlm = self.rlm_for(model_client)
        try:
            result = await rlm.ainvoke(self._input(question, stored), config)
        except Exception as exc:
            self._failed(exc)
            raise
        return self._keep(stored, result)

    # ---- search and answers -------------------------------------------------------------

    def search_context(
        self,
        context_id: str,
        pattern: str,
        *,
        method: Literal["regex", "bm25"] | None = None,
        search_type: Literal["regex", "bm25"] | None = None,
        k: int = 10,
        flags: int = 0,
    ) -> list[dict[str, Any]]:
        """Search a loaded context, with character offsets (no model is called).

        Args:
            context_id: The context's id.
            pattern: A regular expression (``regex``) or words to rank by (``bm25``).
            method: ``"regex"`` (the default) or ``"bm25"``.
            search_type: The seed's name for ``method``.
            k: Most hits returned.
            flags: ``re`` flags for ``regex``.

        Returns:
            Hits ``{"start", "end", "text"}`` (plus ``"score"`` for BM25), in context order for
            regex and best first for BM25.

        Raises:
            ValueError: An unknown method, or both ``method`` and ``search_type`` disagreeing.
        """
        from polyvox.rlm import search

        if method and search_type and method != search_type:
            raise ValueError(f"method={method!r} and search_type={search_type!r} disagree")
        chosen = method or search_type or "regex"
        text = self.get_context(context_id).prepared.text
        hits: Sequence[search.RegexHit | search.Bm25Hit]
        if chosen == "regex":
            hits = search.regex_search(text, pattern, flags=flags, max_hits=k)
        elif chosen == "bm25":
            hits = search.bm25_search(
                text,
                pattern,
                k=k,
                chunk_chars=self.config.chunk_size,
                overlap=self.config.chunk_overlap,
            )
        else:
            raise ValueError(f"unknown search method {chosen!r}; use 'regex' or 'bm25'")
        self._count("searches")
        return [hit.to_dict() for hit in hits]

    async def asearch_context(
        self,
        context_id: str,
        pattern: str,
        *,
        method: Literal["regex", "bm25"] | None = None,
        search_type: Literal["regex", "bm25"] | None = None,
        k: int = 10,
        flags: int = 0,
    ) -> list[dict[str, Any]]:
        """:meth:`search_context` for async code.

        Searching megabytes of text is CPU-bound work of up to seconds, so it runs in a worker
        thread rather than stalling the event loop.
        """
        return await asyncio.to_thread(
            self.search_context,
            context_id,
            pattern,
            method=method,
            search_type=search_type,
            k=k,
            flags=flags,
        )

    def submit_answer(
        self, context_id: str, answer: str, metadata: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Record an answer for a context (for example one a person checked).

        Args:
            context_id: The context's id.
            answer: The answer.
            metadata: Anything to keep with it (who answered, confidence...).

        Returns:
            The record kept.
        """
        stored = self.get_context(context_id)
        record = {
            "context_id": context_id,
            "answer": answer,
            "metadata": dict(metadata or {}),
            "submitted_at": datetime.now(UTC).isoformat(),
        }
        with self._lock:
            stored.answers.append(record)
            self._counts["answers"] += 1
        return record

    async def asubmit_answer(
        self, context_id: str, answer: str, metadata: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """:meth:`submit_answer` for async code (in memory: nothing to await)."""
        return self.submit_answer(context_id, answer, metadata)

    def get_stats(self) -> dict[str, Any]:
        """What the engine has done.

        Returns:
            Contexts loaded and their size, queries (and failures), searches, answers, and
            the usage of every query's call tree (calls, tokens, cost per depth and model).
        """
        with self._lock:
            return {
                "contexts": len(self._contexts),
                "context_chars": sum(len(c.prepared.text) for c in self._contexts.values()),
                "queries": self._counts["queries"],
                "failed_queries": self._counts["failed_queries"],
                "searches": self._counts["searches"],
                "answers_submitted": self._counts["answers"],
                "usage": self._usage.as_dict(),
            }

    # ---- internals ------------------------------------------------------------------------

    @staticmethod
    def _input(question: str, stored: StoredContext) -> dict[str, Any]:
        prepared = stored.prepared
        if prepared.metadata is None:
            return {"question": question, "context": prepared.text}
        documents = [
            Document(page_content=text, metadata=meta)
            for text, meta in zip(prepared.parts, prepared.metadata, strict=True)
        ]
        return {"question": question, "context": documents}

    def _keep(self, stored: StoredContext, result: RLMResult) -> RLMResult:
        with self._lock:
            stored.results.append(result)
            self._usage.merge(result.usage)
            self._counts["queries"] += 1
        return result

    def _failed(self, error: Exception) -> None:
        usage = getattr(error, "usage", None)
        with self._lock:
            self._counts["failed_queries"] += 1
            if isinstance(usage, UsageReport):
                self._usage.merge(usage)

    def _count(self, key: str) -> None:
        with self._lock:
            self._counts[key] += 1
