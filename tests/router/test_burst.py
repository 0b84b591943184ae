"""Admission under a burst: a dead deployment does not receive every concurrent call.

Breakers count failures only once they come back, so every call that passed the check
before would be sent. The router admits at most ``cold_start_max_in_flight`` calls at a
time to a deployment no call to which has been answered yet, and
``probation_max_in_flight`` to one whose last call failed, while another candidate remains.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from typing import Any

import pytest

from polyvox.router import Router
from polyvox.testing import Emulator, Fault
from tests.router.conftest import OpenAIFactory

DEAD, HEALTHY = "gpt-4.1-nano", "gpt-4o-mini"


def _keep(candidates: Sequence[Any], request: Any, stats: Any) -> list[Any]:
    return list(candidates)


def _dead(emulator: Emulator) -> int:
    return sum(1 for r in emulator.requests if (r.json or {}).get("model") == DEAD)


async def _burst(router: Router, size: int) -> list[Any]:
    async def one(i: int) -> Any:
        await asyncio.sleep(random.random() * 0.03)
        return await router.ainvoke(f"question {i}")

    return await asyncio.gather(*(one(i) for i in range(size)))


@pytest.mark.parametrize(
    ("settings", "most"),
    [
        ({}, 16 + 2),  # the defaults
        ({"cold_start_max_in_flight": 4, "probation_max_in_flight": 1}, 4 + 1),
    ],
)
async def test_a_burst_does_not_pile_onto_a_dead_deployment(
    emulator: Emulator, openai_model: OpenAIFactory, settings: dict[str, Any], most: int
) -> None:
    emulator.fail(Fault.server_error(500), times=None, model=DEAD)
    router = Router(
        [openai_model(DEAD), openai_model(HEALTHY)], strategy=_keep, max_retries=0, **settings
    )
    answers = await _burst(router, 120)
    assert all(a.response_metadata["model_name"] == HEALTHY for a in answers)
    assert _dead(emulator) <= most
    outcomes = {a["outcome"] for x in answers for a in x.response_metadata["router"]["attempts"]}
    assert "held_back" in outcomes


async def test_without_the_limits_every_call_that_passed_the_breaker_is_sent(
    emulator: Emulator, openai_model: OpenAIFactory
) -> None:
    emulator.fail(Fault.server_error(500), times=None, model=DEAD)
    router = Router(
        [openai_model(DEAD), openai_model(HEALTHY)],
        strategy=_keep,
        max_retries=0,
        probation_max_in_flight=None,
        cold_start_max_in_flight=None,
    )
    await _burst(router, 120)
    assert _dead(emulator) > 18


async def test_the_last_candidate_is_always_tried(
    emulator: Emulator, openai_model: OpenAIFactory
) -> None:
    emulator.fail(Fault(delay=0.05), times=None)
    router = Router([openai_model(HEALTHY)], cold_start_max_in_flight=1)
    answers = await asyncio.gather(*(router.ainvoke(f"q{i}") for i in range(10)))
    assert len(answers) == 10
    assert all(a.response_metadata["model_name"] == HEALTHY for a in answers)


async def test_a_proven_deployment_takes_the_whole_burst(
    emulator: Emulator, openai_model: OpenAIFactory
) -> None:
    router = Router([openai_model(HEALTHY), openai_model(DEAD)], strategy=_keep)
    await router.ainvoke("warm up")  # answered: no longer on probation
    emulator.fail(Fault(delay=0.02), times=None)
    answers = await asyncio.gather(*(router.ainvoke(f"q{i}") for i in range(40)))
    assert {a.response_metadata["model_name"] for a in answers} == {HEALTHY}
