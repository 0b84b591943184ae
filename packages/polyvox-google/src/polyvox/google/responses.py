"""The SDK's ``GenerateContentResponse`` to LangChain messages, whole or streamed.

Read from the first candidate: text parts become the content, ``thought`` parts the
reasoning (``additional_kwargs["reasoning_content"]``), ``function_call`` parts tool calls
with stable ids (the API sends none; an id it does send is kept), and the
``thoughtSignature`` s of the parts are kept for the next turn
(:data:`~polyvox.google.messages.SIGNATURES_KEY`). ``usageMetadata`` becomes
``usage_metadata``: the input counts the prompt and tool-use prompt tokens, the output the
candidates' and the thoughts' (``output_token_details["reasoning"]``), and cached-content
tokens are ``input_token_details["cache_read"]`` (0 when the API leaves the count out, as it
does when nothing was cached: the same keys langchain-google-genai reports). An answer
stopped by a safety filter (``SAFETY``, ``RECITATION``, ``PROHIBITED_CONTENT``,
``BLOCKLIST``, ``SPII``...) or a prompt blocked outright (``promptFeedback.blockReason``)
has ``blocked=True`` and its ``block_reason``.

Every field may be missing or null in a real response: none of that is an error here.
A stream repeats the usage in every event; :class:`StreamReader` counts it once, at the
end, and refuses a stream that stops before the API said it was finished.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk, ToolCall, ToolCallChunk
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from polyvox.core.errors import ProviderResponseError
from polyvox.core.metadata import response_metadata
from polyvox.core.tool_ids import stable_tool_call_id
from polyvox.core.usage import make_usage
from polyvox.google.messages import SIGNATURES_KEY, TEXT_SIGNATURE_KEY

__all__ = ["BLOCKING_REASONS", "StreamReader", "chat_result", "usage_from_gemini"]

BLOCKING_REASONS = frozenset(
    {
        "SAFETY", "RECITATION", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "IMAGE_SAFETY",
        "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION", "MODEL_ARMOR", "JAILBREAK",
    }
)  # fmt: skip
"""Finish and block reasons by which Gemini says a filter stopped the answer."""


def _name(value: Any) -> str | None:
    """An SDK enum (or a plain string) as its wire name."""
    if value is None:
        return None
    return str(getattr(value, "value", value))


def _dump(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    return dump(mode="json", exclude_none=True) if dump is not None else value


def usage_from_gemini(usage: Any) -> UsageMetadata | None:
    """LangChain usage from the SDK's ``usage_metadata``.

    Args:
        usage: ``GenerateContentResponseUsageMetadata`` (or ``None``).

    Returns:
        The usage, or ``None`` when the response had none.
    """
    if usage is None:
        return None
    prompt = usage.prompt_token_count or 0
    tool_prompt = usage.tool_use_prompt_token_count or 0
    candidates = usage.candidates_token_count or 0
    thoughts = usage.thoughts_token_count
    total = usage.total_token_count
    return make_usage(
        prompt + tool_prompt,
        candidates + (thoughts or 0),
        total if total is not None else None,
        cache_read=usage.cached_content_token_count or 0,  # the API omits a zero count
        reasoning=thoughts,
    )


class _Parts:
    """What the parts of one candidate (or one stream event) amount to."""

    def __init__(self, turn: int, start: int) -> None:
        self.text: list[str] = []
        self.reasoning: list[str] = []
        self.calls: list[ToolCall] = []
        self.signatures: dict[str, str] = {}
        self.text_signature: str | None = None
        self._turn = turn
        self._start = start

    def read(self, parts: Iterable[Any]) -> _Parts:
        for part in parts:
            signature = part.thought_signature
            encoded = base64.b64encode(signature).decode() if signature else None
            call = part.function_call
            if call is not None:
                args = call.args if isinstance(call.args, dict) else {}
                name = call.name or ""
                index = self._start + len(self.calls)
                call_id = call.id or stable_tool_call_id(self._turn, index, name, args)
                self.calls.append(ToolCall(name=name, args=args, id=call_id, type="tool_call"))
                if encoded:
                    self.signatures[call_id] = encoded
            elif isinstance(part.text, str):
                if part.thought:
                    self.reasoning.append(part.text)
                else:
                    self.text.append(part.text)
                    if encoded and self.text_signature is None:
                        self.text_signature = encoded
        return self

    def kwargs(self) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if self.reasoning:
            extra["reasoning_content"] = "".join(self.reasoning)
        if self.signatures:
            extra[SIGNATURES_KEY] = self.signatures
        if self.text_signature:
            extra[TEXT_SIGNATURE_KEY] = self.text_signature
        return extra


def _first_candidate(response: Any) -> Any:
    candidates = response.candidates or []
    return candidates[0] if candidates else None


def _metadata(
    response: Any, candidate: Any, model: str, provider: str, finish: str | None
) -> dict[str, Any]:
    feedback = response.prompt_feedback
    block_reason = _name(feedback.block_reason) if feedback is not None else None
    blocked_by = block_reason or (finish if finish in BLOCKING_REASONS else None)
    ratings = candidate.safety_ratings if candidate is not None else None
    return response_metadata(
        model_name=response.model_version or model,
        model_provider=provider,
        finish_reason=finish or block_reason,
        blocked=blocked_by is not None,
        block_reason=blocked_by,
        id=response.response_id,
        finish_message=candidate.finish_message if candidate is not None else None,
        safety_ratings=[_dump(r) for r in ratings or ()],  # always there, as in the anchor
        prompt_feedback=_dump(feedback) if feedback is not None else None,
        grounding_metadata=(
            _dump(candidate.grounding_metadata)
            if candidate is not None and candidate.grounding_metadata is not None
            else None
        ),
    )


def chat_result(response: Any, *, model: str, provider: str, turn: int) -> ChatResult:
    """A whole ``GenerateContentResponse`` as a LangChain ``ChatResult``.

    Args:
        response: What ``client.models.generate_content`` returned.
        model: The model asked for (when the response names none).
        provider: The provider id for ``response_metadata``.
        turn: How many messages preceded the answer (for stable tool call ids).

    Returns:
        The result, its message carrying usage and metadata.

    Raises:
        ProviderResponseError: When the response is not a ``GenerateContentResponse``.
    """
    if not hasattr(response, "candidates"):
        msg = f"{provider} returned something that is not a GenerateContentResponse: {response!r}"
        raise ProviderResponseError(msg, provider=provider, body=repr(response)[:2000])
    candidate = _first_candidate(response)
    if candidate is None and response.prompt_feedback is None:
        msg = (
            f"{provider} returned a response with no candidates and no promptFeedback (an "
            "empty body, or one that is not JSON): there is no answer to read"
        )
        raise ProviderResponseError(msg, provider=provider, body=repr(response)[:2000])
    content = candidate.content if candidate is not None else None
    parts = _Parts(turn, 0).read((content.parts or []) if content is not None else [])
    finish = _name(candidate.finish_reason) if candidate is not None else None
    meta = _metadata(response, candidate, model, provider, finish)
    message = AIMessage(
        content="".join(parts.text),
        tool_calls=parts.calls,
        additional_kwargs=parts.kwargs(),
        response_metadata=meta,
        usage_metadata=usage_from_gemini(response.usage_metadata),
        id=response.response_id,
    )
    return ChatResult(
        generations=[ChatGeneration(message=message, generation_info={"finish_reason": finish})],
        llm_output={"model_name": meta["model_name"], "model_provider": provider},
    )


class StreamReader:
    """Turns the events of one ``streamGenerateContent`` into LangChain chunks."""

    def __init__(self, *, model: str, provider: str, turn: int) -> None:
        self._model = model
        self._provider = provider
        self._turn = turn
        self._calls = 0
        self._last: Any = None
        self._finish: str | None = None
        self._candidate: Any = None
        self.events = 0
        """Events received so far."""

    def feed(self, response: Any) -> list[ChatGenerationChunk]:
        """Take one event (a ``GenerateContentResponse``).

        Args:
            response: The event.

        Returns:
            The chunks it carried (text, reasoning, whole tool calls).
        """
        self.events += 1
        self._last = response
        candidate = _first_candidate(response)
        if candidate is None:
            return []
        self._candidate = candidate
        if candidate.finish_reason is not None:
            self._finish = _name(candidate.finish_reason)
        content = candidate.content
        parts = _Parts(self._turn, self._calls).read(
            (content.parts or []) if content is not None else []
        )
        extra = parts.kwargs()
        if not (parts.text or parts.calls or extra):
            return []
        chunks = [
            ToolCallChunk(
                name=call["name"],
                args=json.dumps(call["args"], ensure_ascii=False),
                id=call["id"],
                index=self._calls + index,
            )
            for index, call in enumerate(parts.calls)
        ]
        self._calls += len(parts.calls)
        message = AIMessageChunk(
            content="".join(parts.text),
            additional_kwargs=extra,
            tool_call_chunks=chunks,
            id=response.response_id,
        )
        return [ChatGenerationChunk(message=message)]

    @property
    def finished(self) -> bool:
        """Whether the API said the answer was complete (a finish or block reason)."""
        last = self._last
        feedback = last.prompt_feedback if last is not None else None
        return self._finish is not None or (feedback is not None and feedback.block_reason)

    def finish(self) -> ChatGenerationChunk:
        """The last chunk: the usage (counted once) and the response metadata.

        Returns:
            The chunk.

        Raises:
            ProviderResponseError: When the stream ended before a finish reason.
        """
        if not self.finished:
            msg = (
                f"{self._provider}: the stream ended after {self.events} events without a "
                "finish reason: the answer is incomplete"
            )
            raise ProviderResponseError(msg, provider=self._provider)
        last = self._last
        meta = _metadata(last, self._candidate, self._model, self._provider, self._finish)
        message = AIMessageChunk(
            content="",
            response_metadata=meta,
            usage_metadata=usage_from_gemini(last.usage_metadata),
            id=last.response_id,
            chunk_position="last",
        )
        return ChatGenerationChunk(message=message, generation_info={"finish_reason": self._finish})
