"""Bielik, the Polish LLM by SpeakLeash, served by Ollama.

Bielik is published on Ollama under SpeakLeash's namespace; the tag is configurable and
defaults to ``SpeakLeash/bielik-11b-v2.3-instruct:Q4_K_M``. Every ``ChatOllama`` feature
applies; Polish language detection and Polish⇄English translation come from
:mod:`polyvox.language` (re-exported by ``polyvox.ollama``; the ``polish`` extra:
``pip install "polyvox-ollama[polish]"``).
"""

from __future__ import annotations

from polyvox.ollama.chat_models import ChatOllama
from polyvox.ollama.profiles import BIELIK_VARIANTS
from polyvox.ollama.server import OllamaHealth

__all__ = ["BIELIK_DEFAULT_MODEL", "BIELIK_VARIANTS", "ChatBielik"]

BIELIK_DEFAULT_MODEL = "SpeakLeash/bielik-11b-v2.3-instruct:Q4_K_M"
"""The tag ``ChatBielik`` uses unless told otherwise (11B v2.3, 4-bit: about 6.7 GB)."""


class ChatBielik(ChatOllama):
    """Bielik (Polish), served by Ollama.

    Pick a variant by tag (:data:`BIELIK_VARIANTS` lists the ones polyvox knows, with their
    context windows); pull it once with ``ollama pull <tag>``, ``polyvox ollama pull <tag>``
    or :meth:`pull`.

    Example:
        .. code-block:: python

            from polyvox.ollama import ChatBielik

            bielik = ChatBielik()  # SpeakLeash/bielik-11b-v2.3-instruct:Q4_K_M
            print(bielik.health_check().message)
            bielik.invoke("Jaka jest stolica Polski?").content
    """

    model: str = BIELIK_DEFAULT_MODEL
    """The Bielik tag on Ollama."""

    def health_check(self) -> OllamaHealth:
        """Tell whether Ollama is up and the Bielik tag is pulled, and what to run if not.

        Returns:
            What was found (never raises for a down server or a missing tag).
        """
        return _bielik(super().health_check())

    async def ahealth_check(self) -> OllamaHealth:
        """Async :meth:`health_check`."""
        return _bielik(await super().ahealth_check())


def _bielik(health: OllamaHealth) -> OllamaHealth:
    if health.ok:
        message = f"Bielik ({health.model}) is ready on Ollama at {health.host}."
    elif health.reachable:
        message = (
            f"Ollama at {health.host} is up, but the Bielik tag {health.model} is not pulled: "
            f"run `ollama pull {health.model}` (or `polyvox ollama pull {health.model}`)."
        )
    else:
        message = f"Bielik needs Ollama, which is not running. {health.message}"
    return OllamaHealth(
        health.reachable, health.model_available, health.host, health.model, message
    )
