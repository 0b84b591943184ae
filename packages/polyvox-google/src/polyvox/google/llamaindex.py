"""LlamaIndex classes for Gemini (needs the ``llamaindex`` extra).

Named like LlamaIndex's own (``llama_index.llms.google_genai.GoogleGenAI``,
``llama_index.embeddings.google_genai.GoogleGenAIEmbedding``), so switching is one import.
"""

from __future__ import annotations

from typing import ClassVar

from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel

from polyvox.core.llamaindex import LangChainEmbedding, LangChainLLM
from polyvox.google.chat_models import ChatGoogleGenerativeAI
from polyvox.google.embeddings import GoogleGenerativeAIEmbeddings

__all__ = ["GoogleGenAI", "GoogleGenAIEmbedding"]


class GoogleGenAI(LangChainLLM):
    """A LlamaIndex function-calling LLM over :class:`ChatGoogleGenerativeAI`."""

    chat_model_class: ClassVar[type[BaseChatModel] | None] = ChatGoogleGenerativeAI

    @classmethod
    def class_name(cls) -> str:
        """The class name LlamaIndex uses in serialisation and traces."""
        return "polyvox_google_genai_llm"


class GoogleGenAIEmbedding(LangChainEmbedding):
    """A LlamaIndex embedding model over :class:`GoogleGenerativeAIEmbeddings`."""

    embeddings_class: ClassVar[type[Embeddings] | None] = GoogleGenerativeAIEmbeddings

    @classmethod
    def class_name(cls) -> str:
        """The class name LlamaIndex uses in serialisation and traces."""
        return "polyvox_google_genai_embedding"
