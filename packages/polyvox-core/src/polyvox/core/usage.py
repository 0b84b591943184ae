"""Token usage, normalised into LangChain's :class:`~langchain_core.messages.ai.UsageMetadata`."""

from __future__ import annotations

from langchain_core.messages.ai import InputTokenDetails, OutputTokenDetails, UsageMetadata

__all__ = ["make_usage"]


def make_usage(
    input_tokens: int | None,
    output_tokens: int | None,
    total_tokens: int | None = None,
    *,
    cache_read: int | None = None,
    cache_creation: int | None = None,
    reasoning: int | None = None,
    input_audio: int | None = None,
    output_audio: int | None = None,
) -> UsageMetadata:
    """Build a :class:`UsageMetadata` from a provider's counts.

    ``input_tokens`` is the *whole* prompt, cached part included (LangChain's convention);
    ``cache_read``/``cache_creation`` say how much of it was read from or written to the
    provider's prompt cache. ``output_tokens`` includes ``reasoning`` tokens. Details are
    set only when the provider reported them, so "0 cached" and "not reported" differ.

    Args:
        input_tokens: Prompt tokens, cached ones included.
        output_tokens: Completion tokens, reasoning included.
        total_tokens: The provider's total; computed when missing.
        cache_read: Prompt tokens served from cache.
        cache_creation: Prompt tokens written to cache.
        reasoning: Completion tokens spent on hidden reasoning.
        input_audio: Prompt audio tokens.
        output_audio: Completion audio tokens.

    Returns:
        The normalised usage.
    """
    inp = int(input_tokens or 0)
    out = int(output_tokens or 0)
    usage = UsageMetadata(
        input_tokens=inp,
        output_tokens=out,
        total_tokens=int(total_tokens) if total_tokens is not None else inp + out,
    )
    in_details = InputTokenDetails()
    if cache_read is not None:
        in_details["cache_read"] = int(cache_read)
    if cache_creation is not None:
        in_details["cache_creation"] = int(cache_creation)
    if input_audio is not None:
        in_details["audio"] = int(input_audio)
    if in_details:
        usage["input_token_details"] = in_details
    out_details = OutputTokenDetails()
    if reasoning is not None:
        out_details["reasoning"] = int(reasoning)
    if output_audio is not None:
        out_details["audio"] = int(output_audio)
    if out_details:
        usage["output_token_details"] = out_details
    return usage
