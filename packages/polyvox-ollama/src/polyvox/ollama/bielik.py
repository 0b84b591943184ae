"""Bielik, the Polish LLM by SpeakLeash, served by Ollama.

Bielik is published on Ollama under SpeakLeash's namespace; the tag is configurable and
defaults to ``SpeakLeash/bielik-11b-v2.3-instruct:Q4_K_M``. Every ``ChatOllama`` feature
applies; Polish language detection and Polish⇄English translation come from
:mod:`polyvox.language` (re-exported by ``polyvox.ollama``; the ``polish`` extra:
``pip install "polyvox-ollama[polish]"``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import model_validator

from polyvox.ollama.chat_models import ChatOllama
from polyvox.ollama.profiles import BIELIK_ALIASES, BIELIK_VARIANTS
from polyvox.ollama.server import OllamaHealth

__all__ = [
    "BIELIK_ALIASES",
    "BIELIK_DEFAULT_MODEL",
    "BIELIK_VARIANTS",
    "ChatBielik",
    "bielik_tag",
]

BIELIK_DEFAULT_MODEL = "SpeakLeash/bielik-11b-v2.3-instruct:Q4_K_M"
"""The tag ``ChatBielik`` uses unless told otherwise (11B v2.3, 4-bit: about 6.7 GB)."""

_NAMESPACE = "speakleash/"


def bielik_tag(variant: str) -> str:
    """The Ollama tag of a Bielik variant named by short name or tag.

    Args:
        variant: A short name of :data:`BIELIK_ALIASES` (``bielik-11b``, ``bielik-4.5b``),
            or a tag of :data:`BIELIK_VARIANTS`, with or without ``SpeakLeash/``; any case.

    Returns:
        The tag (``SpeakLeash/bielik-11b-v2.3-instruct:Q4_K_M``).

    Raises:
        ValueError: When ``variant`` is neither, listing the valid names.
    """
    wanted = variant.strip().lower()
    for alias, tag in BIELIK_ALIASES.items():
        if alias.lower() == wanted:
            return tag
    for tag in BIELIK_VARIANTS:
        if wanted in (tag.lower(), tag.lower().removeprefix(_NAMESPACE)):
            return tag
    msg = (
        f"unknown Bielik variant {variant!r}: use a short name "
        f"({', '.join(BIELIK_ALIASES)}) or a tag ({', '.join(BIELIK_VARIANTS)}); "
        "for any other tag, pass model=<tag>"
    )
    raise ValueError(msg)


class ChatBielik(ChatOllama):
    """Bielik (Polish), served by Ollama.

    Pick a variant by short name (``variant="bielik-4.5b"``, see :data:`BIELIK_ALIASES`)
    or by tag (``model=`` any tag; :data:`BIELIK_VARIANTS` lists the ones polyvox knows,
    with their context windows); pull it once with ``ollama pull <tag>``,
    ``polyvox ollama pull <tag>`` or :meth:`pull`.

    Example:
        .. code-block:: python

            from polyvox.ollama import ChatBielik

            bielik = ChatBielik()  # SpeakLeash/bielik-11b-v2.3-instruct:Q4_K_M
            print(bielik.health_check().message)
            bielik.invoke("Jaka jest stolica Polski?").content
            small = ChatBielik(variant="bielik-1.5b")  # ...bielik-1.5b-v3.0-instruct:Q8_0
    """

    catalog_languages: ClassVar[tuple[str, ...]] = ("pl", "en")
    """What the catalog says of every Bielik: Polish first, then English. Read (by the
    router) for a tag the catalog does not list, so any Bielik counts as Polish."""

    model: str = BIELIK_DEFAULT_MODEL
    """The Bielik tag on Ollama."""

    variant: str | None = None
    """The variant asked for by name (``bielik-11b``, ``bielik-4.5b``, a known tag); it
    sets :attr:`model`. ``None``: ``model`` says which."""

    @model_validator(mode="before")
    @classmethod
    def _variant_sets_the_model(cls, data: Any) -> Any:
        if not isinstance(data, dict) or data.get("variant") is None:
            return data
        tag = bielik_tag(str(data["variant"]))
        given = data.get("model", data.get("model_name"))
        if given is not None and given != tag:
            msg = f"variant {data['variant']!r} is {tag}, but model={given!r}: give one of them"
            raise ValueError(msg)
        data = {k: v for k, v in data.items() if k != "model_name"}
        return {**data, "model": tag}

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
