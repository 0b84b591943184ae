"""polyvox.google: Gemini (the Gemini Developer API and Vertex AI) through ``google-genai``.

``ChatGoogleGenerativeAI`` and ``GoogleGenerativeAIEmbeddings`` are drop-ins for
langchain-google-genai's classes of the same names; ``GoogleGenerativeAI`` is the LangChain
text ``LLM``; the LlamaIndex classes are in :mod:`polyvox.google.llamaindex`. Nothing here
imports the SDK until a model is first called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from polyvox.core.lazy import lazy_exports

if TYPE_CHECKING:
    from polyvox.google.chat_models import ChatGoogleGenerativeAI
    from polyvox.google.embeddings import GoogleGenerativeAIEmbeddings
    from polyvox.google.errors import (
        ChatGoogleGenerativeAIError,
        GoogleAPIError,
        GoogleAuthenticationError,
        GoogleConnectionError,
        GoogleContextOverflowError,
        GoogleInvalidRequestError,
        GoogleModelNotFoundError,
        GoogleNotFoundError,
        GooglePermissionDeniedError,
        GoogleRateLimitError,
        GoogleTimeoutError,
    )
    from polyvox.google.llms import GoogleGenerativeAI

_EXPORTS = {
    "ChatGoogleGenerativeAI": "polyvox.google.chat_models",
    "ChatGoogleGenerativeAIError": "polyvox.google.errors",
    "GoogleAPIError": "polyvox.google.errors",
    "GoogleAuthenticationError": "polyvox.google.errors",
    "GoogleConnectionError": "polyvox.google.errors",
    "GoogleContextOverflowError": "polyvox.google.errors",
    "GoogleGenerativeAI": "polyvox.google.llms",
    "GoogleGenerativeAIEmbeddings": "polyvox.google.embeddings",
    "GoogleInvalidRequestError": "polyvox.google.errors",
    "GoogleModelNotFoundError": "polyvox.google.errors",
    "GoogleNotFoundError": "polyvox.google.errors",
    "GooglePermissionDeniedError": "polyvox.google.errors",
    "GoogleRateLimitError": "polyvox.google.errors",
    "GoogleTimeoutError": "polyvox.google.errors",
}

__all__ = [
    "ChatGoogleGenerativeAI",
    "ChatGoogleGenerativeAIError",
    "GoogleAPIError",
    "GoogleAuthenticationError",
    "GoogleConnectionError",
    "GoogleContextOverflowError",
    "GoogleGenerativeAI",
    "GoogleGenerativeAIEmbeddings",
    "GoogleInvalidRequestError",
    "GoogleModelNotFoundError",
    "GoogleNotFoundError",
    "GooglePermissionDeniedError",
    "GoogleRateLimitError",
    "GoogleTimeoutError",
]

__version__ = "0.1.0"
"""This distribution's version (the same in every polyvox package of a release)."""

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
