"""Provider ids, capabilities and tiers: the catalog's vocabulary."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["LOCAL_PROVIDERS", "Capability", "Tier", "canonical_provider"]

LOCAL_PROVIDERS = frozenset({"ollama", "llamacpp", "vllm"})
"""Providers whose models run on your own hardware."""

_PROVIDER_ALIASES = {
    "gemini": "google",
    "google_genai": "google",
    "google-genai": "google",
    "google_vertexai": "google",
    "vertexai": "google",
    "claude": "anthropic",
    "yandexgpt": "yandex",
    "yandex_gpt": "yandex",
    "yandexcloud": "yandex",
    "yandex_ai_studio": "yandex",
    "sber": "gigachat",
    "hf": "huggingface",
    "hugging_face": "huggingface",
    "huggingface_hub": "huggingface",
    "llama.cpp": "llamacpp",
    "llama_cpp": "llamacpp",
    "llama-cpp": "llamacpp",
}


def canonical_provider(name: str) -> str:
    """The catalog's id for a provider name (``gemini`` → ``google``, ``hf`` → ``huggingface``)."""
    key = name.strip().lower()
    return _PROVIDER_ALIASES.get(key, key)


class Capability(StrEnum):
    """What a model can do."""

    TOOLS = "tools"
    VISION = "vision"
    STRUCTURED_OUTPUT = "structured_output"
    JSON_MODE = "json_mode"
    STREAMING = "streaming"
    EMBEDDINGS = "embeddings"
    REASONING = "reasoning"

    @classmethod
    def parse(cls, value: str | Capability) -> Capability:
        """Read a capability, accepting common synonyms (``function_calling`` → ``tools``).

        Args:
            value: A capability or its name.

        Returns:
            The capability.

        Raises:
            ValueError: For a name that is neither a capability nor a synonym.
        """
        if isinstance(value, Capability):
            return value
        name = str(value).strip().lower().replace("-", "_").replace(" ", "_")
        name = _CAPABILITY_SYNONYMS.get(name, name)
        try:
            return cls(name)
        except ValueError:
            known = ", ".join(c.value for c in cls)
            msg = f"unknown capability {value!r} (known: {known})"
            raise ValueError(msg) from None


_CAPABILITY_SYNONYMS = {
    "function_calling": "tools",
    "tool_calling": "tools",
    "functions": "tools",
    "image": "vision",
    "images": "vision",
    "image_input": "vision",
    "multimodal": "vision",
    "structured": "structured_output",
    "json_schema": "structured_output",
    "json": "json_mode",
    "stream": "streaming",
    "embedding": "embeddings",
    "embed": "embeddings",
    "thinking": "reasoning",
}


class Tier(StrEnum):
    """A model's place on the speed/quality trade-off."""

    FAST = "fast"
    BALANCED = "balanced"
    POWERFUL = "powerful"
