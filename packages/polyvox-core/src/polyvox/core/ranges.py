"""The ranges providers document for sampling parameters, checked before anything is sent.

``ChatOpenAI(max_tokens=-5)`` used to reach the provider (OpenAI answers 400; an emulator
or a lenient server answered with nothing), and ``temperature=5`` passed silently to
servers that clamp it. Each provider has one small declarative table here,
:class:`ParameterRanges`, mapping a parameter to its :class:`Range`. A chat model checks
its own fields against its table at construction (a pydantic ``ValidationError``), and
every call's keyword arguments, ``bind`` arguments and extra request fields before the
request is built (a :class:`ParameterRangeError`, which is a ``ValueError``). Only the
parameters in a table are checked; anything else goes to the provider as it is.

The emulator in ``polyvox.testing`` answers out-of-range values with the provider's own
400 from the same tables, so a test against it catches what the real API would refuse.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ANTHROPIC_RANGES",
    "GEMINI_RANGES",
    "LLAMACPP_RANGES",
    "OLLAMA_RANGES",
    "OPENAI_COMPATIBLE_RANGES",
    "OPENAI_MODEL_PREFIXES",
    "OPENAI_RANGES",
    "OPENROUTER_RANGES",
    "VLLM_RANGES",
    "ParameterRangeError",
    "ParameterRanges",
    "Range",
    "is_openai_model",
]

OPENAI_MODEL_PREFIXES = ("gpt-", "o1", "o3", "o4", "chatgpt-")
"""How OpenAI's own chat model ids begin: wherever they are served (OpenAI, Azure, a
proxy), OpenAI's ranges apply to them."""


def is_openai_model(model: str) -> bool:
    """Whether ``model`` names one of OpenAI's own chat models (``gpt-4o``, ``o3-mini``).

    Args:
        model: The model id.

    Returns:
        The verdict.
    """
    return model.startswith(OPENAI_MODEL_PREFIXES)


def _number(value: float) -> str:
    """``2`` for 2.0, ``0.5`` for 0.5: bounds as a person writes them."""
    return str(int(value)) if float(value).is_integer() else repr(value)


@dataclass(frozen=True, slots=True)
class Range:
    """The values a numeric parameter admits.

    Attributes:
        low: The least value (``None``: no lower bound).
        high: The greatest value (``None``: no upper bound).
        integer: Whether only integers are admitted (an integral float such as ``2.0``
            counts as one).
        low_exclusive: Whether ``low`` itself is refused (``top_p > 0`` for vLLM).
        also: Values admitted outside ``[low, high]`` (``-1`` for "no limit").
        meaning: What the values in ``also`` mean, for the error message.
    """

    low: float | None = None
    high: float | None = None
    integer: bool = False
    low_exclusive: bool = False
    also: tuple[int, ...] = ()
    meaning: str = ""

    def admits_type(self, value: Any) -> bool:
        """Whether ``value`` has the right type (a number; an integer where one is needed).

        Args:
            value: The value given.

        Returns:
            ``False`` for strings, booleans, non-finite numbers and, for an integer
            parameter, fractions.
        """
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if isinstance(value, float):
            return math.isfinite(value) and (not self.integer or value.is_integer())
        return True

    def below(self, value: float) -> bool:
        """Whether ``value`` is under the lower bound (and not among :attr:`also`)."""
        if self.low is None or value in self.also:
            return False
        return value <= self.low if self.low_exclusive else value < self.low

    def above(self, value: float) -> bool:
        """Whether ``value`` is over the upper bound (and not among :attr:`also`)."""
        return self.high is not None and value > self.high and value not in self.also

    def admits(self, value: Any) -> bool:
        """Whether ``value`` is admitted (right type, within bounds or among :attr:`also`).

        Args:
            value: The value given.

        Returns:
            The verdict.
        """
        kind = type(value)
        if kind is float:  # the common cases first: this runs on every call's keywords
            if not math.isfinite(value) or (self.integer and not value.is_integer()):
                return False
        elif kind is not int and not self.admits_type(value):  # bool, str, an int subclass
            return False
        return not self.below(value) and not self.above(value)

    def describe(self) -> str:
        """The admitted values in words: ``"a number from 0 to 2"``, ``"an integer >= 1"``."""
        kind = "an integer" if self.integer else "a number"
        low = None if self.low is None else _number(self.low)
        high = None if self.high is None else _number(self.high)
        if low is not None and high is not None:
            text = f"{kind} from {low}{' (exclusive)' if self.low_exclusive else ''} to {high}"
        elif low is not None:
            text = f"{kind} {'>' if self.low_exclusive else '>='} {low}"
        elif high is not None:
            text = f"{kind} <= {high}"
        else:
            text = kind
        if self.also:
            extra = " or ".join(str(v) for v in self.also)
            text += f", or {extra}"
            if self.meaning:
                text += f" ({self.meaning})"
        return text


class ParameterRangeError(ValueError):
    """A parameter outside the range its provider documents; nothing was sent."""

    def __init__(self, *, parameter: str, value: Any, allowed: Range, provider: str) -> None:
        """Describe the refused value.

        Args:
            parameter: The parameter's name as given (``"temperature"``).
            value: The value given.
            allowed: The range the provider documents.
            provider: The provider's name, as written in its documentation (``"OpenAI"``).
        """
        self.parameter = parameter
        """The parameter's name as given."""
        self.value = value
        """The value given."""
        self.allowed = allowed
        """The range the provider documents."""
        self.provider = provider
        """The provider whose documented range refused the value."""
        super().__init__(
            f"{parameter}={value!r} is out of range: {provider} accepts {allowed.describe()} "
            f"for {parameter}"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle by keywords (the constructor takes no positional arguments)."""
        return (_rebuild, (self.parameter, self.value, self.allowed, self.provider))


def _rebuild(parameter: str, value: Any, allowed: Range, provider: str) -> ParameterRangeError:
    return ParameterRangeError(parameter=parameter, value=value, allowed=allowed, provider=provider)


@dataclass(frozen=True, slots=True)
class ParameterRanges:
    """One provider's table: parameter name to :class:`Range`.

    Attributes:
        provider: The provider's name for messages (``"OpenAI"``).
        ranges: The checked parameters and their ranges.
        source: Where the provider documents them.
    """

    provider: str
    ranges: Mapping[str, Range] = field(default_factory=dict)
    source: str = ""

    def check(self, values: Mapping[str, Any]) -> None:
        """Refuse the first value in ``values`` outside its range (``None`` is not checked).

        Only names in the table are looked at, so checking a call's few keyword arguments
        costs a dictionary lookup each.

        Args:
            values: Parameter names and values (call keywords, model fields, options).

        Raises:
            ParameterRangeError: For a value of the wrong type or out of range.
        """
        ranges = self.ranges
        for name, value in values.items():
            allowed = ranges.get(name)
            if allowed is not None and value is not None and not allowed.admits(value):
                raise ParameterRangeError(
                    parameter=name, value=value, allowed=allowed, provider=self.provider
                )

    def openai_error(self, values: Mapping[str, Any]) -> tuple[str, str, str] | None:
        """OpenAI's 400 for the first out-of-range value: ``(message, param, code)``.

        The wording and codes are OpenAI's (``"Invalid 'temperature': decimal above
        maximum value. Expected a value <= 2, but got 5 instead."``,
        ``decimal_above_max_value``); the emulator answers with them.

        Args:
            values: The request body.

        Returns:
            The error, or ``None`` when every value is admitted.
        """
        for name, value in values.items():
            allowed = self.ranges.get(name)
            if allowed is None or value is None or allowed.admits(value):
                continue
            kind = "integer" if allowed.integer else "decimal"
            if not allowed.admits_type(value):
                wanted = "an integer" if allowed.integer else "a decimal number"
                got = _json_kind(value)
                message = f"Invalid type for '{name}': expected {wanted}, but got {got} instead."
                return message, name, "invalid_type"
            given = json.dumps(value)
            if allowed.below(value):
                bound = _number(allowed.low or 0)
                message = (
                    f"Invalid '{name}': {kind} below minimum value. Expected a value >= "
                    f"{bound}, but got {given} instead."
                )
                return message, name, f"{kind}_below_min_value"
            bound = _number(allowed.high or 0)
            message = (
                f"Invalid '{name}': {kind} above maximum value. Expected a value <= "
                f"{bound}, but got {given} instead."
            )
            return message, name, f"{kind}_above_max_value"
        return None


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "a null value" if value is None else "a value"


_TOKENS = Range(low=1, integer=True)
_PENALTY = Range(low=-2, high=2)
_UNIT = Range(low=0, high=1)

OPENAI_RANGES = ParameterRanges(
    "OpenAI",
    {
        "temperature": Range(low=0, high=2),
        "top_p": _UNIT,
        "frequency_penalty": _PENALTY,
        "presence_penalty": _PENALTY,
        "max_tokens": _TOKENS,
        "max_completion_tokens": _TOKENS,
        "n": Range(low=1, high=128, integer=True),
        "top_logprobs": Range(low=0, high=20, integer=True),
        "seed": Range(integer=True),
    },
    source="https://platform.openai.com/docs/api-reference/chat/create",
)
"""OpenAI's chat-completions API (``api.openai.com``)."""

OPENROUTER_RANGES = ParameterRanges(
    "OpenRouter",
    {
        **OPENAI_RANGES.ranges,
        "top_k": Range(low=0, integer=True),
        "repetition_penalty": Range(low=0, high=2),
        "min_p": _UNIT,
        "top_a": _UNIT,
    },
    source="https://openrouter.ai/docs/api-reference/parameters",
)
"""OpenRouter's request parameters."""

VLLM_RANGES = ParameterRanges(
    "vLLM",
    {
        "temperature": Range(low=0),
        "top_p": Range(low=0, high=1, low_exclusive=True),
        "top_k": Range(low=-1, integer=True),
        "min_p": _UNIT,
        "frequency_penalty": _PENALTY,
        "presence_penalty": _PENALTY,
        "repetition_penalty": Range(low=0, low_exclusive=True),
        "max_tokens": _TOKENS,
        "max_completion_tokens": _TOKENS,
        "min_tokens": Range(low=0, integer=True),
        "n": Range(low=1, integer=True),
        "top_logprobs": Range(low=0, integer=True),
        "seed": Range(integer=True),
    },
    source="https://docs.vllm.ai/en/latest/api/vllm/sampling_params.html",
)
"""vLLM's sampling parameters (``SamplingParams``)."""

_LLAMACPP_TOKENS = Range(low=1, integer=True, also=(-1,), meaning="-1: no limit")

LLAMACPP_RANGES = ParameterRanges(
    "llama.cpp's server",
    {
        "max_tokens": _LLAMACPP_TOKENS,
        "max_completion_tokens": _LLAMACPP_TOKENS,
        "n_predict": _LLAMACPP_TOKENS,
        "top_p": _UNIT,
        "min_p": _UNIT,
        "typical_p": _UNIT,
        "n_probs": Range(low=0, integer=True),
        "seed": Range(integer=True),
    },
    source="https://github.com/ggml-org/llama.cpp/blob/master/tools/server/README.md",
)
"""llama.cpp's ``llama-server`` (lenient: most values are clamped, not refused)."""

OPENAI_COMPATIBLE_RANGES = ParameterRanges(
    "an OpenAI-compatible server",
    {
        "temperature": Range(low=0),
        "top_p": _UNIT,
        "max_tokens": _TOKENS,
        "max_completion_tokens": _TOKENS,
        "n": Range(low=1, integer=True),
        "top_logprobs": Range(low=0, integer=True),
        "seed": Range(integer=True),
    },
)
"""What every OpenAI-compatible server polyvox knows refuses or cannot mean (Together,
Cloud.ru, and ``ChatOpenAI`` pointed at a server other than OpenAI's)."""

GEMINI_RANGES = ParameterRanges(
    "Gemini",
    {
        "temperature": Range(low=0, high=2),
        "top_p": _UNIT,
        "top_k": Range(low=1, integer=True),
        "max_tokens": _TOKENS,
        "max_output_tokens": _TOKENS,
        "presence_penalty": _PENALTY,
        "frequency_penalty": _PENALTY,
        "candidate_count": Range(low=1, high=8, integer=True),
        "seed": Range(integer=True),
        "thinking_budget": Range(low=0, integer=True, also=(-1,), meaning="-1: dynamic"),
    },
    source="https://ai.google.dev/api/generate-content#generationconfig",
)
"""The Gemini API's ``generationConfig`` (Developer API and Vertex AI alike)."""

_NUM_PREDICT = Range(
    low=1, integer=True, also=(-1, -2), meaning="-1: no limit, -2: until the context is full"
)

OLLAMA_RANGES = ParameterRanges(
    "Ollama",
    {
        "max_tokens": _NUM_PREDICT,
        "num_predict": _NUM_PREDICT,
        "num_ctx": Range(low=1, integer=True),
        "temperature": Range(low=0),
        "top_p": _UNIT,
        "min_p": _UNIT,
        "typical_p": _UNIT,
        "top_k": Range(low=0, integer=True),
        "repeat_penalty": Range(low=0),
        "repeat_last_n": Range(low=-1, integer=True),
        "num_keep": Range(low=-1, integer=True),
        "num_batch": Range(low=1, integer=True),
        "num_gpu": Range(low=-1, integer=True),
        "num_thread": Range(low=0, integer=True),
        "mirostat": Range(low=0, high=2, integer=True),
        "mirostat_tau": Range(low=0),
        "mirostat_eta": Range(low=0),
        "seed": Range(integer=True),
        "top_logprobs": Range(low=0, high=20, integer=True),
    },
    source="https://docs.ollama.com/modelfile#valid-parameters-and-values",
)
"""Ollama's options (and ``top_logprobs``, which the server itself limits to 0..20).

Ollama refuses only wrong types and ``top_logprobs`` outside 0..20; out-of-range sampling
values are passed to the runner, which clamps or misreads them (a negative temperature
samples greedily, ``num_predict=0`` answers nothing), so they are refused here."""

ANTHROPIC_RANGES = ParameterRanges(
    "Anthropic",
    {
        "temperature": _UNIT,
        "top_p": _UNIT,
        "top_k": Range(low=0, integer=True),
        "max_tokens": _TOKENS,
    },
    source="https://docs.anthropic.com/en/api/messages",
)
"""Anthropic's Messages API (``api.anthropic.com``): ``temperature`` from 0 to 1, not 2."""
