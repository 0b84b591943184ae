from __future__ import annotations

from typing import Any

import pytest

from polyvox.core.metadata import is_blocked, response_metadata
from polyvox.core.openai_format import provider_cost_from_openai, usage_from_openai
from polyvox.core.usage import make_usage


def test_make_usage_minimal() -> None:
    assert make_usage(10, 5) == {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15}


def test_make_usage_details_only_when_reported() -> None:
    usage = make_usage(100, 40, 140, cache_read=80, cache_creation=0, reasoning=30)
    assert usage["input_token_details"] == {"cache_read": 80, "cache_creation": 0}
    assert usage["output_token_details"] == {"reasoning": 30}
    assert "input_token_details" not in make_usage(1, 1)


def test_make_usage_keeps_provider_total() -> None:
    assert make_usage(10, 5, 99)["total_tokens"] == 99
    assert make_usage(None, None)["total_tokens"] == 0


def test_blocked() -> None:
    assert is_blocked("content_filter")
    assert is_blocked("SAFETY")
    assert is_blocked("stop", refusal="I can't help with that.")
    assert not is_blocked("stop")
    assert not is_blocked(None)


def test_response_metadata() -> None:
    meta = response_metadata(
        model_name="m", model_provider="p", finish_reason="content_filter", id="x", fp=None
    )
    assert meta == {
        "model_name": "m",
        "model_provider": "p",
        "finish_reason": "content_filter",
        "blocked": True,
        "id": "x",
    }
    assert response_metadata(
        model_name="m", model_provider="p", finish_reason="stop", blocked=True
    )["blocked"]


def test_usage_tolerates_null_details_and_keeps_a_zero_cache_write() -> None:
    usage = usage_from_openai(
        {
            "prompt_tokens": 5,
            "completion_tokens": None,
            "prompt_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "completion_tokens_details": None,
        }
    )
    assert usage == {
        "input_tokens": 5,
        "output_tokens": 0,
        "total_tokens": 5,
        "input_token_details": {"cache_read": 0, "cache_creation": 0},
    }


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        (None, None),
        ({"prompt_tokens": 1}, None),
        ({"cost": None}, None),
        ({"cost": True}, None),
        ({"cost": "n/a"}, None),
        ({"cost": float("nan")}, None),
        ({"cost": 9.78e-05}, {"amount": "0.0000978", "currency": "USD"}),
        ({"cost": 0, "cost_details": None}, {"amount": "0", "currency": "USD"}),
        (
            {"cost": 0, "is_byok": True, "cost_details": {"upstream_inference_cost": None}},
            {
                "amount": "0",
                "currency": "USD",
                "is_byok": True,
                "details": {"upstream_inference_cost": None},
            },
        ),
    ],
)
def test_provider_cost(usage: dict[str, Any] | None, expected: dict[str, Any] | None) -> None:
    assert provider_cost_from_openai(usage) == expected
