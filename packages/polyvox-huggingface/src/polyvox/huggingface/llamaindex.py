"""LlamaIndex classes for Hugging Face (needs the ``llamaindex`` extra).

Named like LlamaIndex's own (``llama_index.llms.huggingface_api.HuggingFaceInferenceAPI``,
``llama_index.embeddings.huggingface_api.HuggingFaceInferenceAPIEmbedding``), so switching is
one import. Both are the core bridges over :class:`ChatHuggingFace` and
:class:`HuggingFaceEndpointEmbeddings`.
"""

from __future__ import annotations

from typing import ClassVar

from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel

from polyvox.core.llamaindex import LangChainEmbedding, LangChainLLM
from polyvox.huggingface.chat_models import ChatHuggingFace
from polyvox.huggingface.embeddings import HuggingFaceEndpointEmbeddings

__all__ = ["HuggingFaceInferenceAPI", "HuggingFaceInferenceAPIEmbedding"]


class HuggingFaceInferenceAPI(LangChainLLM):
    """A LlamaIndex function-calling LLM over :class:`ChatHuggingFace`."""

    chat_model_class: ClassVar[type[BaseChatModel] | None] = ChatHuggingFace

    @classmethod
    def class_name(cls) -> str:
        """The class name LlamaIndex uses in serialisation and traces."""
        return "polyvox_huggingface_inference_api_llm"


class HuggingFaceInferenceAPIEmbedding(LangChainEmbedding):
    """A LlamaIndex embedding model over :class:`HuggingFaceEndpointEmbeddings`."""

    embeddings_class: ClassVar[type[Embeddings] | None] = HuggingFaceEndpointEmbeddings

    @classmethod
    def class_name(cls) -> str:
        """The class name LlamaIndex uses in serialisation and traces."""
        return "polyvox_huggingface_inference_api_embedding"
