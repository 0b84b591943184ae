"""polyvox.openai: OpenAI and every OpenAI-compatible server as LangChain/LlamaIndex models.

``ChatOpenAI`` is a drop-in for ``langchain_openai.ChatOpenAI``; the presets
(``ChatOpenRouter``, ``ChatCloudRu``, ``ChatLlamaCpp``, ``ChatVLLM``, ``ChatTogether``,
``ChatMistral``) are the same model with each server's defaults. ``OpenAILLM`` is the
LangChain text ``LLM``; the LlamaIndex classes are in :mod:`polyvox.openai.llamaindex`.
``ChatLlamaCpp``, ``LlamaCpp`` and ``LlamaCppEmbeddings`` also run a GGUF file in this
process (``model_path=...``, the ``llamacpp`` extra).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from polyvox.core.lazy import lazy_exports

if TYPE_CHECKING:
    from polyvox.openai.chat_models import ChatOpenAI
    from polyvox.openai.embeddings import OpenAIEmbeddings
    from polyvox.openai.errors import (
        OpenAIAPIError,
        OpenAIAuthenticationError,
        OpenAIBadRequestError,
        OpenAIConflictError,
        OpenAIConnectionError,
        OpenAIContextOverflowError,
        OpenAIInternalServerError,
        OpenAIInvalidRequestError,
        OpenAINotFoundError,
        OpenAIPermissionDeniedError,
        OpenAIRateLimitError,
        OpenAIStreamError,
        OpenAITimeoutError,
        OpenAIUnprocessableEntityError,
    )
    from polyvox.openai.llamacpp import LlamaCppEmbeddings
    from polyvox.openai.llamacpp_local import LlamaCppLoadError, LlamaCppTemplateError
    from polyvox.openai.llms import LlamaCpp, OpenAILLM
    from polyvox.openai.presets import (
        ChatCloudRu,
        ChatLlamaCpp,
        ChatMistral,
        ChatOpenRouter,
        ChatTogether,
        ChatVLLM,
    )

_EXPORTS = {
    "ChatOpenAI": "polyvox.openai.chat_models",
    "ChatOpenRouter": "polyvox.openai.presets",
    "ChatCloudRu": "polyvox.openai.presets",
    "ChatLlamaCpp": "polyvox.openai.presets",
    "ChatMistral": "polyvox.openai.presets",
    "ChatVLLM": "polyvox.openai.presets",
    "ChatTogether": "polyvox.openai.presets",
    "OpenAIEmbeddings": "polyvox.openai.embeddings",
    "OpenAILLM": "polyvox.openai.llms",
    "LlamaCpp": "polyvox.openai.llms",
    "LlamaCppEmbeddings": "polyvox.openai.llamacpp",
    "LlamaCppLoadError": "polyvox.openai.llamacpp_local",
    "LlamaCppTemplateError": "polyvox.openai.llamacpp_local",
    "OpenAIAPIError": "polyvox.openai.errors",
    "OpenAIUnprocessableEntityError": "polyvox.openai.errors",
    "OpenAIInternalServerError": "polyvox.openai.errors",
    "OpenAIConflictError": "polyvox.openai.errors",
    "OpenAIBadRequestError": "polyvox.openai.errors",
    "OpenAIAuthenticationError": "polyvox.openai.errors",
    "OpenAIConnectionError": "polyvox.openai.errors",
    "OpenAIContextOverflowError": "polyvox.openai.errors",
    "OpenAIInvalidRequestError": "polyvox.openai.errors",
    "OpenAINotFoundError": "polyvox.openai.errors",
    "OpenAIPermissionDeniedError": "polyvox.openai.errors",
    "OpenAIRateLimitError": "polyvox.openai.errors",
    "OpenAIStreamError": "polyvox.openai.errors",
    "OpenAITimeoutError": "polyvox.openai.errors",
}

__all__ = [
    "ChatCloudRu",
    "ChatLlamaCpp",
    "ChatMistral",
    "ChatOpenAI",
    "ChatOpenRouter",
    "ChatTogether",
    "ChatVLLM",
    "LlamaCpp",
    "LlamaCppEmbeddings",
    "LlamaCppLoadError",
    "LlamaCppTemplateError",
    "OpenAIAPIError",
    "OpenAIAuthenticationError",
    "OpenAIBadRequestError",
    "OpenAIConflictError",
    "OpenAIConnectionError",
    "OpenAIContextOverflowError",
    "OpenAIEmbeddings",
    "OpenAIInternalServerError",
    "OpenAIInvalidRequestError",
    "OpenAILLM",
    "OpenAINotFoundError",
    "OpenAIPermissionDeniedError",
    "OpenAIRateLimitError",
    "OpenAIStreamError",
    "OpenAITimeoutError",
    "OpenAIUnprocessableEntityError",
]

__version__ = "0.1.0"
"""This distribution's version (the same in every polyvox package of a release)."""

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
