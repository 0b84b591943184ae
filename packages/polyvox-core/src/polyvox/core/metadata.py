"""``response_metadata`` every polyvox chat model fills, and safety-filter detection."""

from __future__ import annotations

from typing import Any

__all__ = ["BLOCKING_FINISH_REASONS", "is_blocked", "response_metadata"]

BLOCKING_FINISH_REASONS = frozenset(
    {
        "content_filter",  # OpenAI, Azure, OpenRouter
        "safety",  # Gemini (lower-cased), various
        "prohibited_content",
        "blocklist",
        "spii",
        "image_safety",
        "refusal",  # Anthropic stop_reason
        "blocked",
        "blacklist",  # GigaChat
    }
)
"""Finish reasons (lower-cased) by which providers say a safety filter stopped the answer."""


def is_blocked(finish_reason: str | None, *, refusal: str | None = None) -> bool:
    """Tell whether the provider's safety filter stopped or replaced the answer.

    Args:
        finish_reason: The provider's finish/stop reason.
        refusal: A refusal message, when the provider returns one separately.

    Returns:
        True when the answer was blocked for content policy.
    """
    if refusal:
        return True
    return bool(finish_reason) and str(finish_reason).lower() in BLOCKING_FINISH_REASONS


def response_metadata(
    *,
    model_name: str,
    model_provider: str,
    finish_reason: str | None,
    blocked: bool | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Build the ``response_metadata`` dict of an ``AIMessage``.

    Args:
        model_name: The model that answered (as the provider reported it).
        model_provider: The polyvox provider id (``"openai"``, ``"openrouter"``, ...).
        finish_reason: Why generation stopped, as the provider said.
        blocked: Whether a safety filter stopped the answer; derived from
            ``finish_reason`` when not given.
        **extra: Provider-specific entries (ids, fingerprints, ...); ``None`` values are dropped.

    Returns:
        The metadata dict.
    """
    meta: dict[str, Any] = {
        "model_name": model_name,
        "model_provider": model_provider,
        "finish_reason": finish_reason,
        "blocked": is_blocked(finish_reason) if blocked is None else blocked,
    }
    meta.update({k: v for k, v in extra.items() if v is not None})
    return meta
