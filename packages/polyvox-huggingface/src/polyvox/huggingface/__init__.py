"""polyvox.huggingface: Hugging Face Inference Providers, Inference Endpoints, TGI and TEI.

``ChatHuggingFace``, ``HuggingFaceEndpoint`` and ``HuggingFaceEndpointEmbeddings`` are
drop-ins for langchain-huggingface's classes of the same names, built on the official
``huggingface_hub`` SDK; ``get_model_info`` and ``list_models`` read the Hub; the LlamaIndex
classes are in :mod:`polyvox.huggingface.llamaindex`. Nothing here imports the SDK until a
model is first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from polyvox.core.lazy import lazy_exports

if TYPE_CHECKING:
    from polyvox.huggingface.chat_models import ChatHuggingFace
    from polyvox.huggingface.embeddings import HuggingFaceEndpointEmbeddings
    from polyvox.huggingface.errors import (
        HuggingFaceAPIError,
        HuggingFaceAuthenticationError,
        HuggingFaceBadRequestError,
        HuggingFaceConnectionError,
        HuggingFaceContextOverflowError,
        HuggingFaceGenerationError,
        HuggingFaceInvalidRequestError,
        HuggingFaceNotFoundError,
        HuggingFaceOverloadedError,
        HuggingFacePermissionDeniedError,
        HuggingFaceRateLimitError,
        HuggingFaceTimeoutError,
        HuggingFaceValidationError,
    )
    from polyvox.huggingface.llms import HuggingFaceEndpoint
    from polyvox.huggingface.model_info import HubModelInfo, get_model_info, list_models

_ERRORS = (
    "HuggingFaceAPIError",
    "HuggingFaceAuthenticationError",
    "HuggingFaceBadRequestError",
    "HuggingFaceConnectionError",
    "HuggingFaceContextOverflowError",
    "HuggingFaceGenerationError",
    "HuggingFaceInvalidRequestError",
    "HuggingFaceNotFoundError",
    "HuggingFaceOverloadedError",
    "HuggingFacePermissionDeniedError",
    "HuggingFaceRateLimitError",
    "HuggingFaceTimeoutError",
    "HuggingFaceValidationError",
)

_EXPORTS = {
    "ChatHuggingFace": "polyvox.huggingface.chat_models",
    "HuggingFaceEndpoint": "polyvox.huggingface.llms",
    "HuggingFaceEndpointEmbeddings": "polyvox.huggingface.embeddings",
    "HubModelInfo": "polyvox.huggingface.model_info",
    "get_model_info": "polyvox.huggingface.model_info",
    "list_models": "polyvox.huggingface.model_info",
    **dict.fromkeys(_ERRORS, "polyvox.huggingface.errors"),
}

__all__ = [
    "ChatHuggingFace",
    "HubModelInfo",
    "HuggingFaceAPIError",
    "HuggingFaceAuthenticationError",
    "HuggingFaceBadRequestError",
    "HuggingFaceConnectionError",
    "HuggingFaceContextOverflowError",
    "HuggingFaceEndpoint",
    "HuggingFaceEndpointEmbeddings",
    "HuggingFaceGenerationError",
    "HuggingFaceInvalidRequestError",
    "HuggingFaceNotFoundError",
    "HuggingFaceOverloadedError",
    "HuggingFacePermissionDeniedError",
    "HuggingFaceRateLimitError",
    "HuggingFaceTimeoutError",
    "HuggingFaceValidationError",
    "get_model_info",
    "list_models",
]

__version__ = "0.1.0"
"""This distribution's version (the same in every polyvox package of a release)."""

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
