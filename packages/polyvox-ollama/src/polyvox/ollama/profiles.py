"""Profiles of models commonly served by Ollama, Bielik's variants among them.

Sources: the models' Ollama library pages and model cards, as of 2026-11. ``/api/show``
is asked first for the context window; these are the fallback and feed the model catalog.
"""

from __future__ import annotations

from langchain_core.language_models import ModelProfile

from polyvox.core.profiles import register_profiles

__all__ = ["BIELIK_VARIANTS", "OLLAMA_PROFILES"]


def _local(
    window: int, *, tools: bool = True, vision: bool = False, thinking: bool = False
) -> ModelProfile:
    return ModelProfile(
        max_input_tokens=window,
        text_inputs=True,
        image_inputs=vision,
        text_outputs=True,
        tool_calling=tools,
        tool_choice=False,
        tool_call_streaming=tools,
        structured_output=True,
        reasoning_output=thinking,
        open_weights=True,
    )


BIELIK_VARIANTS: dict[str, ModelProfile] = {
    "SpeakLeash/bielik-11b-v2.3-instruct:Q4_K_M": _local(32_768, tools=False),
    "SpeakLeash/bielik-11b-v2.3-instruct:Q8_0": _local(32_768, tools=False),
    "SpeakLeash/bielik-11b-v2.2-instruct:Q4_K_M": _local(32_768, tools=False),
    "SpeakLeash/bielik-11b-v3.0-instruct:Q4_K_M": _local(32_768),
    "SpeakLeash/bielik-4.5b-v3.0-instruct:Q8_0": _local(32_768),
    "SpeakLeash/bielik-1.5b-v3.0-instruct:Q8_0": _local(32_768),
}
"""Bielik tags on Ollama (SpeakLeash's namespace) and their profiles; any other tag works too."""

OLLAMA_PROFILES: dict[str, ModelProfile] = {
    "llama3.2": _local(131_072),
    "llama3.1": _local(131_072),
    "qwen3": _local(40_960, thinking=True),
    "qwen2.5": _local(32_768),
    "mistral": _local(32_768),
    "gemma3": _local(131_072, tools=False, vision=True),
    "phi4": _local(16_384, tools=False),
    "deepseek-r1": _local(131_072, tools=False, thinking=True),
    "gpt-oss": _local(131_072, thinking=True),
    **BIELIK_VARIANTS,
}
"""Profiles by Ollama model name; tags (``llama3.2:3b``) match their family by prefix."""

register_profiles("ollama", OLLAMA_PROFILES)
