"""Model profiles for the OpenAI models polyvox knows (context windows and capabilities).

Sources: OpenAI's model pages, as of 2026-11. The model catalog extends these; a model
missing here still works, it just has no profile.
"""

from __future__ import annotations

from langchain_core.language_models import ModelProfile

from polyvox.core.profiles import register_profiles

__all__ = ["OPENAI_PROFILES"]


def _chat(
    window: int, output: int, *, vision: bool = True, reasoning: bool = False
) -> ModelProfile:
    return ModelProfile(
        max_input_tokens=window,
        max_output_tokens=output,
        text_inputs=True,
        image_inputs=vision,
        image_url_inputs=vision,
        text_outputs=True,
        tool_calling=True,
        tool_choice=True,
        tool_call_streaming=True,
        structured_output=True,
        reasoning_output=reasoning,
        temperature=not reasoning,
    )


OPENAI_PROFILES: dict[str, ModelProfile] = {
    "gpt-4o": _chat(128_000, 16_384),
    "gpt-4o-mini": _chat(128_000, 16_384),
    "gpt-4.1": _chat(1_047_576, 32_768),
    "gpt-4.1-mini": _chat(1_047_576, 32_768),
    "gpt-4.1-nano": _chat(1_047_576, 32_768),
    "gpt-5": _chat(400_000, 128_000, reasoning=True),
    "gpt-5-mini": _chat(400_000, 128_000, reasoning=True),
    "gpt-5-nano": _chat(400_000, 128_000, reasoning=True),
    "o3": _chat(200_000, 100_000, reasoning=True),
    "o3-mini": _chat(200_000, 100_000, vision=False, reasoning=True),
    "o4-mini": _chat(200_000, 100_000, reasoning=True),
    "gpt-3.5-turbo": _chat(16_385, 4_096, vision=False),
}
"""Profiles by model id; dated snapshots (``gpt-4o-2024-08-06``) match by prefix."""

register_profiles("openai", OPENAI_PROFILES)
