"""polyvox.ollama: models served by Ollama (native API), and Bielik, the Polish LLM.

``ChatOllama``, ``OllamaEmbeddings`` and ``OllamaLLM`` are LangChain models; the LlamaIndex
classes are in :mod:`polyvox.ollama.llamaindex`. ``ChatBielik`` is Bielik on Ollama;
``detect_language``, ``polish_to_english`` and ``english_to_polish`` (from
``polyvox-language``: ``pip install "polyvox-ollama[polish]"``) are here for Polish
pipelines.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from polyvox.core.lazy import lazy_exports

if TYPE_CHECKING:
    from polyvox.language import detect_language, english_to_polish, polish_to_english
    from polyvox.ollama.bielik import BIELIK_DEFAULT_MODEL, BIELIK_VARIANTS, ChatBielik
    from polyvox.ollama.chat_models import ChatOllama
    from polyvox.ollama.embeddings import OllamaEmbeddings
    from polyvox.ollama.errors import (
        OllamaAPIError,
        OllamaConnectError,
        OllamaConnectionError,
        OllamaContextOverflowError,
        OllamaInvalidRequestError,
        OllamaModelNotFoundError,
        OllamaTimeoutError,
    )
    from polyvox.ollama.llms import OllamaLLM
    from polyvox.ollama.server import OllamaHealth, PullProgress

_EXPORTS = {
    "BIELIK_DEFAULT_MODEL": "polyvox.ollama.bielik",
    "BIELIK_VARIANTS": "polyvox.ollama.bielik",
    "ChatBielik": "polyvox.ollama.bielik",
    "ChatOllama": "polyvox.ollama.chat_models",
    "OllamaAPIError": "polyvox.ollama.errors",
    "OllamaConnectError": "polyvox.ollama.errors",
    "OllamaConnectionError": "polyvox.ollama.errors",
    "OllamaContextOverflowError": "polyvox.ollama.errors",
    "OllamaEmbeddings": "polyvox.ollama.embeddings",
    "OllamaHealth": "polyvox.ollama.server",
    "OllamaInvalidRequestError": "polyvox.ollama.errors",
    "OllamaLLM": "polyvox.ollama.llms",
    "OllamaModelNotFoundError": "polyvox.ollama.errors",
    "OllamaTimeoutError": "polyvox.ollama.errors",
    "PullProgress": "polyvox.ollama.server",
    "detect_language": "polyvox.language",
    "english_to_polish": "polyvox.language",
    "polish_to_english": "polyvox.language",
}

__all__ = [
    "BIELIK_DEFAULT_MODEL",
    "BIELIK_VARIANTS",
    "ChatBielik",
    "ChatOllama",
    "OllamaAPIError",
    "OllamaConnectError",
    "OllamaConnectionError",
    "OllamaContextOverflowError",
    "OllamaEmbeddings",
    "OllamaHealth",
    "OllamaInvalidRequestError",
    "OllamaLLM",
    "OllamaModelNotFoundError",
    "OllamaTimeoutError",
    "PullProgress",
    "detect_language",
    "english_to_polish",
    "polish_to_english",
]

__version__ = "0.1.0"
"""This distribution's version (the same in every polyvox package of a release)."""

__getattr__, __dir__ = lazy_exports(
    __name__, _EXPORTS, install={"polyvox.language": 'pip install "polyvox-ollama[polish]"'}
)
