"""Turning a reply into what is actually sent: stop sequences, output limits, usage.

Protocol-neutral: applies ``stop`` and ``max_tokens`` to the text, a content-filter
fault, and the token counts (estimated, or overridden by :class:`~.replies.Usage`). Each
protocol then renders the :class:`Outcome` in its own wire format.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from polyvox.testing.emulator.conversation import ChatRequest
from polyvox.testing.emulator.faults import Fault
from polyvox.testing.emulator.replies import Reply, ToolCall
from polyvox.testing.emulator.tokens import count_prompt_tokens, count_tokens, truncate_tokens

__all__ = ["Outcome", "make_outcome"]


@dataclass(frozen=True, slots=True)
class Outcome:
    """The final answer to one request, ready to render."""

    content: str | None
    """The text, after stop sequences and the token limit."""

    reasoning: str | None
    """Reasoning text."""

    refusal: str | None
    """A refusal message."""

    tool_calls: Sequence[ToolCall]
    """Tool calls (ids may still be ``None``: the protocol makes them)."""

    finish_reason: str
    """``stop``, ``length``, ``tool_calls``, ``content_filter`` (or a scripted value)."""

    prompt_tokens: int
    """Input tokens."""

    completion_tokens: int
    """Output tokens, reasoning included."""

    cached_tokens: int = 0
    """Input tokens served from the prompt cache."""

    cache_creation_tokens: int = 0
    """Input tokens written to the prompt cache (Anthropic reports them)."""

    cache_creation_1h_tokens: int = 0
    """Of :attr:`cache_creation_tokens`, those written with Anthropic's 1-hour lifetime."""

    reasoning_tokens: int = 0
    """Output tokens spent on reasoning."""

    cost: str | None = None
    """The call's cost as the server reports it (``usage.cost``), a decimal string."""

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.prompt_tokens + self.completion_tokens


def make_outcome(reply: Reply, request: ChatRequest, fault: Fault | None = None) -> Outcome:
    """Apply the request's limits and a content-filter fault to a reply, and count tokens.

    Args:
        reply: The scripted or auto reply (not raw).
        request: The request it answers.
        fault: The pending fault, if any.

    Returns:
        The outcome.
    """
    content = reply.content
    tool_calls = reply.tool_calls
    finish = reply.effective_finish_reason
    refusal = reply.refusal
    if fault is not None and fault.content_filter:
        content, refusal, finish = None, None, "content_filter"
        tool_calls = ()
    if content is not None and request.stop:
        cut = min((i for s in request.stop if s and (i := content.find(s)) >= 0), default=-1)
        if cut >= 0:
            content, finish = content[:cut], "stop"
    if content is not None and request.max_tokens is not None:
        content, truncated = truncate_tokens(content, request.max_tokens)
        if truncated:
            finish = "length"
    usage = reply.usage
    reasoning_tokens = count_tokens(reply.reasoning)
    completion = (
        count_tokens(content)
        + count_tokens(refusal)
        + sum(count_tokens(c.name) + count_tokens(str(dict(c.args))) for c in tool_calls)
        + reasoning_tokens
    )
    parts = [m.text for m in request.messages] + [m.name or "" for m in request.messages]
    prompt = count_prompt_tokens(
        [*parts, *request.extra_prompt_texts], messages=len(request.messages)
    )
    if usage is not None:
        reasoning_tokens = _pick(usage.reasoning_tokens, reasoning_tokens)
        completion = _pick(usage.completion_tokens, completion)
        prompt = _pick(usage.prompt_tokens, prompt)
    cached = usage.cached_tokens if usage is not None and usage.cached_tokens else 0
    written = (
        usage.cache_creation_tokens if usage is not None and usage.cache_creation_tokens else 0
    )
    return Outcome(
        content=content,
        reasoning=reply.reasoning,
        refusal=refusal,
        tool_calls=tool_calls,
        finish_reason=finish,
        prompt_tokens=prompt,
        completion_tokens=completion,
        cached_tokens=cached,
        cache_creation_tokens=written,
        reasoning_tokens=reasoning_tokens,
        cost=usage.cost if usage is not None else None,
    )


def _pick(override: int | None, estimate: int) -> int:
    return estimate if override is None else override
