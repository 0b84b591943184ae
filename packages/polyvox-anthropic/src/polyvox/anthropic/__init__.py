"""polyvox.anthropic: Anthropic's Claude models (the Messages API) as LangChain/LlamaIndex models.

``ChatAnthropic`` is a drop-in for ``langchain_anthropic.ChatAnthropic``; ``AnthropicLLM``
is the LangChain text ``LLM``; the LlamaIndex class is in :mod:`polyvox.anthropic.llamaindex`.
Anthropic has no embeddings API: use another provider's embeddings beside these.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from polyvox.core.lazy import lazy_exports

if TYPE_CHECKING:
    from polyvox.anthropic.chat_models import ChatAnthropic
    from polyvox.anthropic.errors import (
        AnthropicAPIError,
        AnthropicAuthenticationError,
        AnthropicBadRequestError,
        AnthropicConnectionError,
        AnthropicContextOverflowError,
        AnthropicInternalServerError,
        AnthropicInvalidRequestError,
        AnthropicNotFoundError,
        AnthropicOverloadedError,
        AnthropicPermissionDeniedError,
        AnthropicRateLimitError,
        AnthropicRequestTooLargeError,
        AnthropicStreamError,
        AnthropicTimeoutError,
    )
    from polyvox.anthropic.llms import AnthropicLLM

_ERRORS = (
    "AnthropicAPIError",
    "AnthropicAuthenticationError",
    "AnthropicBadRequestError",
    "AnthropicConnectionError",
    "AnthropicContextOverflowError",
    "AnthropicInternalServerError",
    "AnthropicInvalidRequestError",
    "AnthropicNotFoundError",
    "AnthropicOverloadedError",
    "AnthropicPermissionDeniedError",
    "AnthropicRateLimitError",
    "AnthropicRequestTooLargeError",
    "AnthropicStreamError",
    "AnthropicTimeoutError",
)

_EXPORTS = {
    "ChatAnthropic": "polyvox.anthropic.chat_models",
    "AnthropicLLM": "polyvox.anthropic.llms",
    **dict.fromkeys(_ERRORS, "polyvox.anthropic.errors"),
}

__all__ = [
    "AnthropicAPIError",
    "AnthropicAuthenticationError",
    "AnthropicBadRequestError",
    "AnthropicConnectionError",
    "AnthropicContextOverflowError",
    "AnthropicInternalServerError",
    "AnthropicInvalidRequestError",
    "AnthropicLLM",
    "AnthropicNotFoundError",
    "AnthropicOverloadedError",
    "AnthropicPermissionDeniedError",
    "AnthropicRateLimitError",
    "AnthropicRequestTooLargeError",
    "AnthropicStreamError",
    "AnthropicTimeoutError",
    "ChatAnthropic",
]

__version__ = "0.1.0"
"""This distribution's version (the same in every polyvox package of a release)."""

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
