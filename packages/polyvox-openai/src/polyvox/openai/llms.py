"""``OpenAILLM``: OpenAI-compatible chat models as a LangChain text-completion ``LLM``."""

from __future__ import annotations

from typing import ClassVar

from langchain_core.language_models import BaseChatModel

from polyvox.core.llm import ChatModelLLM
from polyvox.openai.chat_models import ChatOpenAI

__all__ = ["OpenAILLM"]


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
