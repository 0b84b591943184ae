"""Settings of one depth of a Recursive Language Model.

The root (depth 0) and each child RLM (depth 1, 2, ...) run the same loop; a
:class:`RLMSettings` per depth lets, say, the root take 20 iterations and children 5.
Model parameters such as temperature belong to the chat models themselves.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["RLMSettings"]


class RLMSettings(BaseModel):
    """How the RLM loop behaves at one depth."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_iterations: int = Field(default=20, ge=1)
    """Most root-model turns before the run stops with ``IterationLimitError``."""

    max_output_chars: int = Field(default=20_000, ge=200)
    """Most characters of REPL output shown to the root model per step (shared by the
    step's code blocks; the rest is cut and the model is told so)."""

    subcall_concurrency: int = Field(default=8, ge=1)
    """Most sub-calls (``llm_query_batched`` prompts, child RLMs) running at once."""

    instructions: str | None = None
    """Extra text appended to the system prompt (domain hints, output format)."""
