"""polyvox.core: the contracts every polyvox provider package builds on.

Usage normalisation, the error-mapping base, safety-filter detection, the base chat
model (standard parameters, tools, structured output, profiles), the OpenAI wire format
shared by OpenAI-compatible providers, shared SDK clients and closing them
(``ModelClosedError``), the chat-model → LangChain ``LLM`` adapter and the
chat-model → LlamaIndex bridge (``polyvox.core.llamaindex``, with the ``llamaindex`` extra).
Names load lazily, so ``import polyvox.core`` is cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from polyvox.core.lazy import lazy_exports

if TYPE_CHECKING:
    from polyvox.core.chat_model import PolyvoxChatModel, format_tool_choice
    from polyvox.core.embeddings import PolyvoxEmbeddings
    from polyvox.core.errors import (
        ErrorFamily,
        ErrorKind,
        MissingAPIKeyError,
        ProviderErrorMixin,
        ProviderResponseError,
        classify,
        is_context_overflow,
        parse_retry_after,
        rebrand,
    )
    from polyvox.core.lifecycle import ModelClosedError
    from polyvox.core.llm import ChatModelLLM, as_llm
    from polyvox.core.metadata import is_blocked, response_metadata
    from polyvox.core.profiles import get_profile, register_profiles, registered_models
    from polyvox.core.ranges import ParameterRangeError
    from polyvox.core.token_counting import TokenEstimateWarning, TokenizerUnavailableError
    from polyvox.core.usage import make_usage

_EXPORTS = {
    "PolyvoxChatModel": "polyvox.core.chat_model",
    "PolyvoxEmbeddings": "polyvox.core.embeddings",
    "format_tool_choice": "polyvox.core.chat_model",
    "ErrorFamily": "polyvox.core.errors",
    "ErrorKind": "polyvox.core.errors",
    "MissingAPIKeyError": "polyvox.core.errors",
    "ProviderErrorMixin": "polyvox.core.errors",
    "ProviderResponseError": "polyvox.core.errors",
    "classify": "polyvox.core.errors",
    "is_context_overflow": "polyvox.core.errors",
    "parse_retry_after": "polyvox.core.errors",
    "rebrand": "polyvox.core.errors",
    "ModelClosedError": "polyvox.core.lifecycle",
    "ChatModelLLM": "polyvox.core.llm",
    "as_llm": "polyvox.core.llm",
    "is_blocked": "polyvox.core.metadata",
    "response_metadata": "polyvox.core.metadata",
    "get_profile": "polyvox.core.profiles",
    "register_profiles": "polyvox.core.profiles",
    "registered_models": "polyvox.core.profiles",
    "ParameterRangeError": "polyvox.core.ranges",
    "TokenEstimateWarning": "polyvox.core.token_counting",
    "TokenizerUnavailableError": "polyvox.core.token_counting",
    "make_usage": "polyvox.core.usage",
}

__all__ = [
    "ChatModelLLM",
    "ErrorFamily",
    "ErrorKind",
    "MissingAPIKeyError",
    "ModelClosedError",
    "ParameterRangeError",
    "PolyvoxChatModel",
    "PolyvoxEmbeddings",
    "ProviderErrorMixin",
    "ProviderResponseError",
    "TokenEstimateWarning",
    "TokenizerUnavailableError",
    "as_llm",
    "classify",
    "format_tool_choice",
    "get_profile",
    "is_blocked",
    "is_context_overflow",
    "make_usage",
    "parse_retry_after",
    "rebrand",
    "register_profiles",
    "registered_models",
    "response_metadata",
]

__version__ = "0.1.0"
"""This distribution's version (the same in every polyvox package of a release)."""

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
