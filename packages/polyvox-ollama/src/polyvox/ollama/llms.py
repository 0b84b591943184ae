"""``OllamaLLM``: a model served by Ollama as a LangChain text-completion ``LLM``."""

from __future__ import annotations

from typing import ClassVar

from langchain_core.language_models import BaseChatModel

from polyvox.core.llm import ChatModelLLM
from polyvox.ollama.chat_models import ChatOllama

__all__ = ["OllamaLLM"]


class OllamaLLM(ChatModelLLM):
    """A LangChain ``LLM`` (text in, text out) over :class:`ChatOllama`; takes its parameters.

    Example:
        .. code-block:: python

            from polyvox.ollama import OllamaLLM

            OllamaLLM(model="llama3.2").invoke("Complete: the capital of Poland is")
    """

    chat_model_class: ClassVar[type[BaseChatModel] | None] = ChatOllama
