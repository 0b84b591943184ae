"""The LlamaIndex LLM and embedding for GigaChat (needs the ``llamaindex`` extra).

``llama-index-llms-gigachat-ru`` pins ``gigachat<0.2`` (and opens a new client, so a new
OAuth token, on every call, without tools), and ``llama-index-embeddings-gigachat`` pins
``gigachat==0.1.28``: neither installs beside langchain-gigachat. These classes take their
names and run on the current SDK: the core bridge over :class:`GigaChat` (function calling,
streaming, async, usage) and over :class:`GigaChatEmbeddings`.
"""

from __future__ import annotations

from typing import ClassVar

from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel

from polyvox.core.extras import require

require("llama_index.core", "llamaindex", packages=("polyvox-gigachat", "polyvox-core"))

from polyvox.core.llamaindex import LangChainEmbedding, LangChainLLM  # noqa: E402
from polyvox.gigachat.chat_models import GigaChat  # noqa: E402
from polyvox.gigachat.embeddings import GigaChatEmbeddings  # noqa: E402

__all__ = ["GigaChatEmbedding", "GigaChatLLM"]


class GigaChatLLM(LangChainLLM):
    """A LlamaIndex function-calling LLM over :class:`GigaChat`.

    Example:
        .. code-block:: python

            from polyvox.gigachat.llamaindex import GigaChatLLM

            llm = GigaChatLLM(model="GigaChat-2-Max", credentials="...")
            llm.complete("Привет").text
    """

    chat_model_class: ClassVar[type[BaseChatModel] | None] = GigaChat

    @classmethod
    def class_name(cls) -> str:
        """The class name LlamaIndex uses in serialisation and traces."""
        return "polyvox_gigachat_llm"


class GigaChatEmbedding(LangChainEmbedding):
    """A LlamaIndex embedding model over :class:`GigaChatEmbeddings`.

    Example:
        .. code-block:: python

            from polyvox.gigachat.llamaindex import GigaChatEmbedding

            embed = GigaChatEmbedding(model="EmbeddingsGigaR", credentials="...")
            embed.get_text_embedding("текст")
    """

    embeddings_class: ClassVar[type[Embeddings] | None] = GigaChatEmbeddings

    @classmethod
    def class_name(cls) -> str:
        """The class name LlamaIndex uses in serialisation and traces."""
        return "polyvox_gigachat_embedding"
