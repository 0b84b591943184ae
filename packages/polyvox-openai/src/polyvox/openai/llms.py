"""``OpenAILLM``: OpenAI-compatible chat models as a LangChain text-completion ``LLM``."""

from __future__ import annotations

from typing import ClassVar

from langchain_core.language_models import BaseChatModel

from polyvox.core.llm import ChatModelLLM
from polyvox.openai.chat_models import ChatOpenAI
from polyvox.openai.presets import ChatLlamaCpp

__all__ = ["LlamaCpp", "OpenAILLM"]


class OpenAILLM(ChatModelLLM):
    """A LangChain ``LLM`` (text in, text out) over :class:`ChatOpenAI`.

    Takes every ``ChatOpenAI`` parameter; wrap a preset by passing it positionally
    (``OpenAILLM(ChatOpenRouter(model=...))``).

    Example:
        .. code-block:: python

            from polyvox.openai import OpenAILLM

            llm = OpenAILLM(model="gpt-4o-mini", temperature=0)
            llm.invoke("Complete: the capital of Poland is")
    """

    chat_model_class: ClassVar[type[BaseChatModel] | None] = ChatOpenAI


class LlamaCpp(ChatModelLLM):
    """A LangChain ``LLM`` over :class:`~polyvox.openai.ChatLlamaCpp`: a GGUF or llama-server.

    Takes every ``ChatLlamaCpp`` parameter: ``model_path`` (with ``n_ctx``,
    ``n_gpu_layers``, ``n_threads``...) runs the file in this process, ``base_url`` talks
    to a running ``llama-server``. The prompt goes through the GGUF's chat template.

    Example:
        .. code-block:: python

            from polyvox.openai import LlamaCpp

            llm = LlamaCpp(model_path="models/qwen2.5-0.5b-instruct-q4_k_m.gguf", n_ctx=2048)
            llm.invoke("Complete: the capital of Poland is")
    """

    chat_model_class: ClassVar[type[BaseChatModel] | None] = ChatLlamaCpp
