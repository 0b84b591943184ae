"""LlamaIndex classes for Ollama (needs the ``llamaindex`` extra).

Named like LlamaIndex's own (``llama_index.llms.ollama.Ollama``,
``llama_index.embeddings.ollama.OllamaEmbedding``), so switching is one import line.
"""

from __future__ import annotations

from typing import ClassVar

from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel

from polyvox.core.llamaindex import LangChainEmbedding, LangChainLLM
from polyvox.ollama.chat_models import ChatOllama
from polyvox.ollama.embeddings import OllamaEmbeddings

__all__ = ["Ollama", "OllamaEmbedding"]


class Ollama(LangChainLLM):
    """A LlamaIndex function-calling LLM over :class:`ChatOllama` (wrap ``ChatBielik`` too)."""

    chat_model_class: ClassVar[type[BaseChatModel] | None] = ChatOllama

    @classmethod
    def class_name(cls) -> str:
        """The class name LlamaIndex uses in serialisation and traces."""
        return "polyvox_ollama_llm"


class OllamaEmbedding(LangChainEmbedding):
    """A LlamaIndex embedding model over :class:`OllamaEmbeddings`."""

    embeddings_class: ClassVar[type[Embeddings] | None] = OllamaEmbeddings

    @classmethod
    def class_name(cls) -> str:
        """The class name LlamaIndex uses in serialisation and traces."""
        return "polyvox_ollama_embedding"
