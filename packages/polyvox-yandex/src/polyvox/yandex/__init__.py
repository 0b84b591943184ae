"""polyvox.yandex: YandexGPT and the other Yandex AI Studio models for LangChain and LlamaIndex.

``ChatYandexGPT`` is a drop-in for langchain-community's class of that name, on the
official ``yandex-ai-studio-sdk`` (gRPC); ``YandexGPT`` is the LangChain text ``LLM``;
``YandexGPTEmbeddings`` embeds documents and queries with their own models. The LlamaIndex
classes are in :mod:`polyvox.yandex.llamaindex`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from polyvox.core.lazy import lazy_exports

if TYPE_CHECKING:
    from polyvox.yandex.auth import ServiceAccountKeyAuth
    from polyvox.yandex.chat_models import ChatYandexGPT
    from polyvox.yandex.embeddings import YandexGPTEmbeddings
    from polyvox.yandex.errors import (
        YandexAPIError,
        YandexAuthenticationError,
        YandexConnectionError,
        YandexContextOverflowError,
        YandexInvalidRequestError,
        YandexNotFoundError,
        YandexPermissionDeniedError,
        YandexRateLimitError,
        YandexTimeoutError,
    )
    from polyvox.yandex.llms import YandexGPT
    from polyvox.yandex.uris import model_uri

_ERRORS = (
    "YandexAPIError",
    "YandexAuthenticationError",
    "YandexConnectionError",
    "YandexContextOverflowError",
    "YandexInvalidRequestError",
    "YandexNotFoundError",
    "YandexPermissionDeniedError",
    "YandexRateLimitError",
    "YandexTimeoutError",
)

_EXPORTS = {
    "ChatYandexGPT": "polyvox.yandex.chat_models",
    "YandexGPT": "polyvox.yandex.llms",
    "YandexGPTEmbeddings": "polyvox.yandex.embeddings",
    "ServiceAccountKeyAuth": "polyvox.yandex.auth",
    "model_uri": "polyvox.yandex.uris",
    **dict.fromkeys(_ERRORS, "polyvox.yandex.errors"),
}

__all__ = [
    "ChatYandexGPT",
    "ServiceAccountKeyAuth",
    "YandexAPIError",
    "YandexAuthenticationError",
    "YandexConnectionError",
    "YandexContextOverflowError",
    "YandexGPT",
    "YandexGPTEmbeddings",
    "YandexInvalidRequestError",
    "YandexNotFoundError",
    "YandexPermissionDeniedError",
    "YandexRateLimitError",
    "YandexTimeoutError",
    "model_uri",
]

__version__ = "0.1.0"
"""This distribution's version (the same in every polyvox package of a release)."""

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
