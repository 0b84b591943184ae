"""polyvox.gigachat: Sber's GigaChat as LangChain and LlamaIndex models, on the current SDK.

``GigaChat`` is a drop-in for ``langchain_gigachat.GigaChat`` and ``GigaChatEmbeddings`` for
``langchain_gigachat.GigaChatEmbeddings``; ``GigaChatLLM`` is the LangChain text ``LLM``;
the LlamaIndex classes are in :mod:`polyvox.gigachat.llamaindex`. One OAuth token per
credentials is shared by every sync and async call; TLS verification stays on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from polyvox.core.lazy import lazy_exports

if TYPE_CHECKING:
    from polyvox.gigachat.chat_models import GigaChat
    from polyvox.gigachat.connection import GigaChatInsecureWarning
    from polyvox.gigachat.embeddings import GigaChatEmbeddings
    from polyvox.gigachat.errors import (
        GigaChatAPIError,
        GigaChatAuthenticationError,
        GigaChatBadRequestError,
        GigaChatCertificateError,
        GigaChatConnectError,
        GigaChatConnectionError,
        GigaChatContextOverflowError,
        GigaChatInvalidRequestError,
        GigaChatNotFoundError,
        GigaChatPermissionDeniedError,
        GigaChatRateLimitError,
        GigaChatRequestEntityTooLargeError,
        GigaChatTimeoutError,
        GigaChatUnprocessableEntityError,
    )
    from polyvox.gigachat.llms import GigaChatLLM
    from polyvox.gigachat.messages import GigaChatSchemaError

_ERRORS = (
    "GigaChatAPIError",
    "GigaChatAuthenticationError",
    "GigaChatBadRequestError",
    "GigaChatCertificateError",
    "GigaChatConnectError",
    "GigaChatConnectionError",
    "GigaChatContextOverflowError",
    "GigaChatInvalidRequestError",
    "GigaChatNotFoundError",
    "GigaChatPermissionDeniedError",
    "GigaChatRateLimitError",
    "GigaChatRequestEntityTooLargeError",
    "GigaChatTimeoutError",
    "GigaChatUnprocessableEntityError",
)

_EXPORTS = {
    "GigaChat": "polyvox.gigachat.chat_models",
    "GigaChatEmbeddings": "polyvox.gigachat.embeddings",
    "GigaChatLLM": "polyvox.gigachat.llms",
    "GigaChatInsecureWarning": "polyvox.gigachat.connection",
    "GigaChatSchemaError": "polyvox.gigachat.messages",
    **dict.fromkeys(_ERRORS, "polyvox.gigachat.errors"),
}

__all__ = [
    "GigaChat",
    "GigaChatAPIError",
    "GigaChatAuthenticationError",
    "GigaChatBadRequestError",
    "GigaChatCertificateError",
    "GigaChatConnectError",
    "GigaChatConnectionError",
    "GigaChatContextOverflowError",
    "GigaChatEmbeddings",
    "GigaChatInsecureWarning",
    "GigaChatInvalidRequestError",
    "GigaChatLLM",
    "GigaChatNotFoundError",
    "GigaChatPermissionDeniedError",
    "GigaChatRateLimitError",
    "GigaChatRequestEntityTooLargeError",
    "GigaChatSchemaError",
    "GigaChatTimeoutError",
    "GigaChatUnprocessableEntityError",
]

__version__ = "0.1.0"
"""This distribution's version (the same in every polyvox package of a release)."""

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
