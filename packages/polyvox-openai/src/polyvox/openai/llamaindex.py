"""LlamaIndex classes for OpenAI and compatible servers (needs the ``llamaindex`` extra).

Named like LlamaIndex's own (``llama_index.llms.openai.OpenAI``,
``llama_index.embeddings.openai.OpenAIEmbedding``), so switching is one import line. Both
are the core bridges over :class:`ChatOpenAI` and :class:`OpenAIEmbeddings`: every
parameter of those is accepted, and any preset can be wrapped positionally
(``OpenAI(ChatOpenRouter(model=...))``).
"""

from __future__ import annotations

from typing import ClassVar

from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel

from polyvox.core.llamaindex import LangChainEmbedding, LangChainLLM
from polyvox.openai.chat_models import ChatOpenAI
from polyvox.openai.embeddings import OpenAIEmbeddings
from polyvox.openai.llamacpp import LlamaCppEmbeddings
from polyvox.openai.presets import ChatLlamaCpp

__all__ = ["LlamaCPP", "LlamaCppEmbedding", "OpenAI", "OpenAIEmbedding"]


class OpenAI(LangChainLLM):
    """A LlamaIndex function-calling LLM over :class:`ChatOpenAI`.

    Example:
        .. code-block:: python

            from polyvox.openai.llamaindex import OpenAI

            llm = OpenAI(model="gpt-4o-mini")
            llm.complete("Hello").text
    """

    chat_model_class: ClassVar[type[BaseChatModel] | None] = ChatOpenAI

    @classmethod
    def class_name(cls) -> str:
        """The class name LlamaIndex uses in serialisation and traces."""
        return "polyvox_openai_llm"


class OpenAIEmbedding(LangChainEmbedding):
    """A LlamaIndex embedding model over :class:`OpenAIEmbeddings`."""

    embeddings_class: ClassVar[type[Embeddings] | None] = OpenAIEmbeddings

    @classmethod
    def class_name(cls) -> str:
        """The class name LlamaIndex uses in serialisation and traces."""
        return "polyvox_openai_embedding"


class LlamaCPP(LangChainLLM):
    """A LlamaIndex LLM over :class:`~polyvox.openai.ChatLlamaCpp` (named like LlamaIndex's).

    ``model_path=`` runs a GGUF in this process, ``base_url=`` talks to ``llama-server``.

    Example:
        .. code-block:: python

            from polyvox.openai.llamaindex import LlamaCPP

            llm = LlamaCPP(model_path="models/qwen2.5-0.5b-instruct-q4_k_m.gguf")
            llm.complete("Hello").text
    """

    chat_model_class: ClassVar[type[BaseChatModel] | None] = ChatLlamaCpp

    @classmethod
    def class_name(cls) -> str:
        """The class name LlamaIndex uses in serialisation and traces."""
        return "polyvox_llamacpp_llm"


class LlamaCppEmbedding(LangChainEmbedding):
    """A LlamaIndex embedding model over :class:`~polyvox.openai.LlamaCppEmbeddings`."""

    embeddings_class: ClassVar[type[Embeddings] | None] = LlamaCppEmbeddings

    @classmethod
    def class_name(cls) -> str:
        """The class name LlamaIndex uses in serialisation and traces."""
        return "polyvox_llamacpp_embedding"
