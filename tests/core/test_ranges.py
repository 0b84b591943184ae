"""The range tables: what each admits, how a refusal reads, OpenAI's own 400 wording."""

from __future__ import annotations

import math
import pickle

import pytest

from polyvox.core import ParameterRangeError
from polyvox.core.ranges import (
    LLAMACPP_RANGES,
    OLLAMA_RANGES,
    OPENAI_COMPATIBLE_RANGES,
    OPENAI_RANGES,
    OPENROUTER_RANGES,
    VLLM_RANGES,
    ParameterRanges,
    Range,
)


@pytest.mark.parametrize(
    ("allowed", "value", "admitted"),
    [
        (Range(low=0, high=2), 0, True),
        (Range(low=0, high=2), 2, True),
        (Range(low=0, high=2), 2.0001, False),
        (Range(low=0, high=2), -0.1, False),
        (Range(low=0, high=2), "1", False),
        (Range(low=0, high=2), True, False),
        (Range(low=0, high=2), math.nan, False),
        (Range(low=0, high=2), math.inf, False),
        (Range(low=1, integer=True), 1, True),
        (Range(low=1, integer=True), 2.0, True),
        (Range(low=1, integer=True), 1.5, False),
        (Range(low=1, integer=True), 0, False),
        (Range(low=0, high=1, low_exclusive=True), 0, False),
        (Range(low=0, high=1, low_exclusive=True), 1, True),
        (Range(low=1, integer=True, also=(-1, -2)), -1, True),
        (Range(low=1, integer=True, also=(-1, -2)), -2, True),
        (Range(low=1, integer=True, also=(-1, -2)), -3, False),
        (Range(low=1, integer=True, also=(-1, -2)), 0, False),
        (Range(integer=True), -(2**40), True),
    ],
)
def test_range_admits(allowed: Range, value: object, admitted: bool) -> None:
    assert allowed.admits(value) is admitted


def test_describe_reads_like_the_documentation() -> None:
    assert Range(low=0, high=2).describe() == "a number from 0 to 2"
    assert Range(low=1, integer=True).describe() == "an integer >= 1"
    assert Range(low=0, low_exclusive=True).describe() == "a number > 0"
    assert Range(low=0, high=0.5).describe() == "a number from 0 to 0.5"
    assert OLLAMA_RANGES.ranges["num_predict"].describe() == (
        "an integer >= 1, or -1 or -2 (-1: no limit, -2: until the context is full)"
    )


def test_the_error_names_parameter_value_range_and_provider() -> None:
    with pytest.raises(ParameterRangeError) as caught:
        OPENAI_RANGES.check({"model": "gpt-4o", "temperature": 5})
    error = caught.value
    assert isinstance(error, ValueError)
    assert (error.parameter, error.value, error.provider) == ("temperature", 5, "OpenAI")
    assert error.allowed == Range(low=0, high=2)
    assert str(error) == (
        "temperature=5 is out of range: OpenAI accepts a number from 0 to 2 for temperature"
    )
    again = pickle.loads(pickle.dumps(error))
    assert (type(again), str(again), again.parameter) == (
        ParameterRangeError,
        str(error),
        "temperature",
    )


def test_check_looks_only_at_the_table_and_skips_none() -> None:
    OPENAI_RANGES.check({"temperature": None, "whatever": -5, "max_tokens": 1})
    ParameterRanges("Nobody").check({"temperature": 99})


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (
            {"max_tokens": -5},
            (
                "Invalid 'max_tokens': integer below minimum value. Expected a value >= 1, "
                "but got -5 instead.",
                "max_tokens",
                "integer_below_min_value",
            ),
        ),
        (
            {"temperature": 5},
            (
                "Invalid 'temperature': decimal above maximum value. Expected a value <= 2, "
                "but got 5 instead.",
                "temperature",
                "decimal_above_max_value",
            ),
        ),
        (
            {"frequency_penalty": -2.5},
            (
                "Invalid 'frequency_penalty': decimal below minimum value. Expected a value "
                ">= -2, but got -2.5 instead.",
                "frequency_penalty",
                "decimal_below_min_value",
            ),
        ),
        (
            {"n": 129},
            (
                "Invalid 'n': integer above maximum value. Expected a value <= 128, but got "
                "129 instead.",
                "n",
                "integer_above_max_value",
            ),
        ),
        (
            {"max_completion_tokens": 1.5},
            (
                "Invalid type for 'max_completion_tokens': expected an integer, but got a "
                "decimal number instead.",
                "max_completion_tokens",
                "invalid_type",
            ),
        ),
        (
            {"top_p": "high"},
            (
                "Invalid type for 'top_p': expected a decimal number, but got a string instead.",
                "top_p",
                "invalid_type",
            ),
        ),
        ({"temperature": 2, "top_p": 1, "max_tokens": 1, "seed": -1}, None),
    ],
)
def test_openai_error_words_it_as_openai_does(
    values: dict[str, object], expected: tuple[str, str, str] | None
) -> None:
    assert OPENAI_RANGES.openai_error(values) == expected


def test_the_tables_differ_where_the_providers_do() -> None:
    assert not OPENAI_RANGES.ranges["temperature"].admits(3)
    assert VLLM_RANGES.ranges["temperature"].admits(3)  # vLLM has no upper bound
    assert OPENAI_COMPATIBLE_RANGES.ranges["temperature"].admits(3)
    assert not VLLM_RANGES.ranges["top_p"].admits(0)  # (0, 1]
    assert OPENAI_RANGES.ranges["top_p"].admits(0)
    assert LLAMACPP_RANGES.ranges["max_tokens"].admits(-1)  # no limit
    assert not OPENAI_RANGES.ranges["max_tokens"].admits(-1)
    assert not OPENROUTER_RANGES.ranges["top_k"].admits(-1)
    assert OLLAMA_RANGES.ranges["num_predict"].admits(-2)
    assert not OLLAMA_RANGES.ranges["num_ctx"].admits(0)
    assert not OLLAMA_RANGES.ranges["mirostat"].admits(3)
    assert all(table.provider for table in (OPENAI_RANGES, OLLAMA_RANGES, VLLM_RANGES))
