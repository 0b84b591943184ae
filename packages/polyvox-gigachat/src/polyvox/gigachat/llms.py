"""``GigaChatLLM``: GigaChat as a LangChain text-completion ``LLM``."""

from __future__ import annotations

from typing import ClassVar

from langchain_core.language_models import BaseChatModel

from polyvox.core.llm import ChatModelLLM
from polyvox.gigachat.chat_models import GigaChat

__all__ = ["GigaChatLLM"]


class GigaChatLLM(ChatModelLLM):
    """A LangChain ``LLM`` (text in, text out) over :class:`GigaChat`.

    Takes every ``GigaChat`` parameter (langchain-gigachat has no ``LLM``; the old
    ``langchain_community.llms.GigaChat`` called the same chat API).

    Example:
        .. code-block:: python

            from polyvox.gigachat import GigaChatLLM

            llm = GigaChatLLM(model="GigaChat-2", temperature=0.1)
            llm.invoke("Продолжи: столица России —")
    """

    chat_model_class: ClassVar[type[BaseChatModel] | None] = GigaChat
