"""``GoogleGenerativeAI``: Gemini as a LangChain text-completion ``LLM``."""

from __future__ import annotations

from typing import ClassVar

from langchain_core.language_models import BaseChatModel

from polyvox.core.llm import ChatModelLLM
from polyvox.google.chat_models import ChatGoogleGenerativeAI

__all__ = ["GoogleGenerativeAI"]


class GoogleGenerativeAI(ChatModelLLM):
    """A LangChain ``LLM`` (text in, text out) over :class:`ChatGoogleGenerativeAI`.

    Named as langchain-google-genai's; it takes the chat model's parameters.

    Example:
        .. code-block:: python

            from polyvox.google import GoogleGenerativeAI

            GoogleGenerativeAI(model="gemini-2.5-flash").invoke("Complete: the sky is")
    """

    chat_model_class: ClassVar[type[BaseChatModel] | None] = ChatGoogleGenerativeAI
