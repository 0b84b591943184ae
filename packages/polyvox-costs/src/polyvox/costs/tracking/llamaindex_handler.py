"""``LlamaIndexCostHandler``: LlamaIndex LLM calls, priced, into the ledger.

A LlamaIndex instrumentation event handler: add it to the root dispatcher
(:func:`track_llamaindex_costs` does) and every LLM chat or completion — polyvox's LlamaIndex
classes and LlamaIndex's own — is recorded with usage, latency, outcome and attribution.
Attribution comes from the handler's defaults and from LlamaIndex's instrumentation tags
(``with instrument_tags({"workspace_id": "w1"}): ...``). Use it *or* the LangChain
handler on the wrapped chat model, not both, or calls are counted twice.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from langchain_core.messages.ai import UsageMetadata
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events import BaseEvent
from llama_index.core.instrumentation.events.exception import ExceptionEvent
from llama_index.core.instrumentation.events.llm import (
    LLMChatEndEvent,
    LLMChatStartEvent,
    LLMCompletionEndEvent,
    LLMCompletionStartEvent,
)
from llama_index.core.instrumentation.events.span import (  # type: ignore[attr-defined]
    SpanDropEvent,
)
from pydantic import PrivateAttr

from polyvox.core.openai_format import provider_cost_from_openai
from polyvox.core.usage import make_usage
from polyvox.costs.tracking.attribution import attribution_from
from polyvox.costs.tracking.recorder import CallRecorder, ObservedCall

if TYPE_CHECKING:
    from polyvox.costs.catalog import ModelCatalog
    from polyvox.costs.ledger import Ledger

__all__ = ["LlamaIndexCostHandler", "track_llamaindex_costs"]


def _usage(response: Any) -> tuple[UsageMetadata | None, dict[str, Any]]:
    """Usage and metadata from a LlamaIndex response (polyvox's raw, or common fields).

    The metadata's ``provider_cost`` is polyvox's, or else read from the raw ``usage`` of
    another OpenAI-protocol LLM (OpenRouter's ``usage.cost``), as the LangChain handler
    records it.
    """
    raw = getattr(response, "raw", None)
    raw = raw if isinstance(raw, Mapping) else getattr(raw, "__dict__", {}) or {}
    meta = dict(raw.get("response_metadata") or {})
    if meta.get("provider_cost") is None:
        reported = provider_cost_from_openai(_as_mapping(raw.get("usage")))
        if reported is not None:
            meta["provider_cost"] = reported
    if usage := raw.get("usage_metadata"):
        return cast(UsageMetadata, dict(usage)), meta
    extra = getattr(response, "additional_kwargs", None) or {}
    if "prompt_tokens" in extra or "completion_tokens" in extra:
        return make_usage(extra.get("prompt_tokens"), extra.get("completion_tokens")), meta
    usage_obj = raw.get("usage")
    if usage_obj is not None:
        prompt = _field(usage_obj, "prompt_tokens")
        return make_usage(prompt, _field(usage_obj, "completion_tokens")), meta
    return None, meta


def _model_of(payload: Mapping[str, Any]) -> tuple[str, str]:
    """Provider and model from the start event's payload (an LLM's ``to_payload()``).

    polyvox's LlamaIndex classes are named ``polyvox_<provider>_llm``; other LLMs give
    their model name only.
    """
    name = str(payload.get("class_name") or "")
    parts = name.split("_")
    provider = parts[1] if len(parts) == 3 and parts[0] == "polyvox" else "unknown"
    model = payload.get("model_name") or payload.get("model") or "unknown"
    return provider, str(model)


def _error_name(err_str: str) -> str:
    """LlamaIndex passes only the error's text: keep its first line, shortened."""
    first = (err_str or "error").strip().splitlines()[0] if err_str else "error"
    return first[:120]


def _as_mapping(usage: Any) -> Mapping[str, Any] | None:
    """A raw ``usage`` as a mapping: a dict, or the SDK's object (its extra fields kept)."""
    if isinstance(usage, Mapping):
        return usage
    dump = getattr(usage, "model_dump", None)
    dumped = dump() if callable(dump) else None
    return dumped if isinstance(dumped, Mapping) else None


def _field(obj: Any, key: str) -> Any:
    return obj.get(key) if isinstance(obj, Mapping) else getattr(obj, key, None)


class LlamaIndexCostHandler(BaseEventHandler):
    """Records LlamaIndex LLM calls in a ledger."""

    default_attribution: dict[str, str] = {}
    """Attribution for every call (``{"workspace_id": "w1"}``); tags override it."""

    _recorder: CallRecorder = PrivateAttr()
    _starts: dict[str, tuple[float, str, str, dict[str, Any]]] = PrivateAttr(default_factory=dict)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def __init__(
        self,
        ledger: Ledger | None = None,
        catalog: ModelCatalog | None = None,
        **data: Any,
    ) -> None:
        """Create a handler.

        Args:
            ledger: Where records go (the process-wide default ledger when ``None``).
            catalog: Where prices come from (the default catalog).
            **data: ``default_attribution``.
        """
        super().__init__(**data)
        if ledger is None:
            from polyvox.costs.tracking.recorder import default_ledger

            ledger = default_ledger()
        self._recorder = CallRecorder(ledger, catalog)

    @classmethod
    def class_name(cls) -> str:
        """The class name LlamaIndex uses."""
        return "LlamaIndexCostHandler"

    @property
    def ledger(self) -> Ledger:
        """The ledger records go to."""
        return self._recorder.ledger

    def handle(self, event: BaseEvent, **kwargs: Any) -> None:
        """Note starts, record ends and failures of LLM calls."""
        span = event.span_id or event.id_
        if isinstance(event, LLMChatStartEvent | LLMCompletionStartEvent):
            provider, model = _model_of(event.model_dict or {})
            tags = {**self.default_attribution, **{k: str(v) for k, v in event.tags.items()}}
            with self._lock:
                self._starts[span] = (time.perf_counter(), provider, model, tags)
        elif isinstance(event, LLMChatEndEvent | LLMCompletionEndEvent):
            self._finish(span, event.response, None)
        elif isinstance(event, ExceptionEvent):
            self._finish(span, None, type(event.exception).__name__)
        elif isinstance(event, SpanDropEvent):  # how LlamaIndex reports a failed LLM call
            self._finish(span, None, _error_name(event.err_str))

    def _finish(self, span: str, response: Any, error: str | None) -> None:
        with self._lock:
            started = self._starts.pop(span, None)
        if started is None:
            return
        began, provider, model, tags = started
        usage, meta = _usage(response) if response is not None else (None, {})
        cache_hit = bool(meta.get("polyvox_cache_hit"))
        self._recorder.record(
            ObservedCall(
                provider=str(meta.get("model_provider") or provider),
                model=str(meta.get("model_name") or model),
                usage=usage,
                latency_ms=(time.perf_counter() - began) * 1000,
                attribution=attribution_from(tags),
                run_id=span,
                cache_hit=cache_hit,
                outcome="error" if error is not None else "ok",
                error_type=error,
                # a cached answer repeats the original call's metadata, its cost included
                provider_cost=None if cache_hit else meta.get("provider_cost"),
                deferred=meta.get("deferred") is True,
            )
        )


def track_llamaindex_costs(
    ledger: Ledger | None = None,
    catalog: ModelCatalog | None = None,
    *,
    attribution: Mapping[str, str] | None = None,
) -> LlamaIndexCostHandler:
    """Record every LlamaIndex LLM call from now on (adds a handler to the root dispatcher).

    Args:
        ledger: Where records go (a default ``Ledger()`` when ``None``).
        catalog: Where prices come from.
        attribution: Default attribution for every call.

    Returns:
        The handler (remove it with ``get_dispatcher().event_handlers.remove(handler)``).
    """
    from llama_index.core import instrumentation

    handler = LlamaIndexCostHandler(ledger, catalog, default_attribution=dict(attribution or {}))
    instrumentation.get_dispatcher().add_event_handler(handler)  # type: ignore[attr-defined]
    return handler
