"""LlamaIndex classes for Yandex AI Studio (needs the ``llamaindex`` extra).

LlamaIndex has no Yandex integration of its own; these are named after the LangChain
classes they wrap: :class:`YandexGPTLLM` (a function-calling LLM) and
:class:`YandexGPTEmbedding` (documents and queries on their own models, as LlamaIndex asks
for text and query embeddings separately).
"""

from __future__ import annotations

from typing import ClassVar

from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel

from polyvox.core.llamaindex import LangChainEmbedding, LangChainLLM
from polyvox.yandex.chat_models import ChatYandexGPT
from polyvox.yandex.embeddings import YandexGPTEmbeddings

__all__ = ["YandexGPTEmbedding", "YandexGPTLLM"]


class YandexGPTLLM(LangChainLLM):
    """A LlamaIndex function-calling LLM over :class:`ChatYandexGPT`."""

    chat_model_class: ClassVar[type[BaseChatModel] | None] = ChatYandexGPT

    @classmethod
    def class_name(cls) -> str:
        """The class name LlamaIndex uses in serialisation and traces."""
        return "polyvox_yandexgpt_llm"


class YandexGPTEmbedding(LangChainEmbedding):
    """A LlamaIndex embedding model over :class:`YandexGPTEmbeddings`."""

    embeddings_class: ClassVar[type[Embeddings] | None] = YandexGPTEmbeddings

    @classmethod
    def class_name(cls) -> str:
        """The class name LlamaIndex uses in serialisation and traces."""
        return "polyvox_yandexgpt_embedding"
