"""Admission under a burst: a deployment that is failing does not receive every concurrent call.

Breakers count failures only once they come back, so every call that passed the check
before would be sent. The router admits at most ``probation_max_in_flight`` calls at a time
to a deployment whose last call failed as an unhealthy one; calls over the limit try the
other candidates first and come back to it last: nothing is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

import pytest

from polyvox.router import Router
from polyvox.router.breaker import BreakerBoard, MemoryBreakerStore
from polyvox.router.breaker_types import BreakerConfig, Clock
from polyvox.router.errors import AllDeploymentsFailedError
from polyvox.testing import Emulator, Fault
from tests.router.conftest import OpenAIFactory

DEAD, HEALTHY, PRICEY = "gpt-4.1-nano", "gpt-4o-mini", "gpt-4.1"


def _keep(candidates: Sequence[Any], request: Any, stats: Any) -> list[Any]:
    return list(candidates)


def _sent(emulator: Emulator, model: str) -> int:
    return sum(1 for r in emulator.requests if (r.json or {}).get("model") == model)


class SlowStore(MemoryBreakerStore):
    """A store whose async check really waits, as a round trip to Redis does."""

    async def aallow(self, name: str, config: BreakerConfig, clock: Clock) -> bool:
        await asyncio.sleep(0.002)
        return self.allow(name, config, clock)


async def _failed_once(router: Router, emulator: Emulator) -> None:
    """One call finds the first deployment failing (a 500): it is on probation."""
    emulator.fail(Fault.server_error(500), model=router.deployments[0].model.model)
    with contextlib.suppress(AllDeploymentsFailedError):  # a single deployment: no fallback
        await router.ainvoke("the first call")
    assert router.stats.failing(router.deployments[0].name) == 1
    emulator.reset()


@pytest.mark.parametrize("store", ["memory", "awaiting"])
async def test_a_failing_deployment_gets_two_calls_at_a_time(
    emulator: Emulator, openai_model: OpenAIFactory, store: str
) -> None:
    board = BreakerBoard(store=SlowStore() if store == "awaiting" else MemoryBreakerStore())
    router = Router(
        [openai_model(DEAD), openai_model(HEALTHY)], strategy=_keep, max_retries=0, breakers=board
    )
    await _failed_once(router, emulator)
    emulator.fail(Fault.server_error(500), times=None, model=DEAD)
    answers = await asyncio.gather(*(router.ainvoke(f"q{i}") for i in range(60)))
    assert [a.response_metadata["model_name"] for a in answers] == [HEALTHY] * 60
    assert _sent(emulator, DEAD) <= 2, "two at a time; the rest went to the next candidate"
    outcomes = {a["outcome"] for x in answers for a in x.response_metadata["router"]["attempts"]}
    assert "held_back" in outcomes
    assert all(router.stats.in_flight(d.name) == 0 for d in router.deployments)


async def test_without_the_limit_every_call_that_passed_the_breaker_is_sent(
    emulator: Emulator, openai_model: OpenAIFactory
) -> None:
    router = Router(
        [openai_model(DEAD), openai_model(HEALTHY)],
        strategy=_keep,
        max_retries=0,
        probation_max_in_flight=None,
    )
    await _failed_once(router, emulator)
    emulator.fail(Fault.server_error(500), times=None, model=DEAD)
    await asyncio.gather(*(router.ainvoke(f"q{i}") for i in range(60)))
    assert _sent(emulator, DEAD) > 10


async def test_held_back_calls_come_back_to_the_deployment_instead_of_failing(
    emulator: Emulator, openai_model: OpenAIFactory
) -> None:
    """A primary on probation but answering again, a dead second: every call is answered."""
    router = Router([openai_model(HEALTHY), openai_model(DEAD)], strategy=_keep, max_retries=0)
    await _failed_once(router, emulator)
    emulator.fail(Fault(delay=0.1), times=None, model=HEALTHY)
    emulator.fail(Fault.server_error(500), times=None, model=DEAD)
    answers = await asyncio.gather(*(router.ainvoke(f"q{i}") for i in range(30)))
    assert [a.response_metadata["model_name"] for a in answers] == [HEALTHY] * 30


async def test_a_rejected_request_does_not_put_a_deployment_on_probation(
    emulator: Emulator, openai_model: OpenAIFactory
) -> None:
    router = Router([openai_model(HEALTHY), openai_model(PRICEY)], strategy=_keep)
    await router.ainvoke("warm up")
    emulator.fail(Fault(status=400), model=HEALTHY)  # the caller's mistake, not its health
    await router.ainvoke("a bad request")
    assert router.stats.failing(router.deployments[0].name) == 0
    emulator.reset()
    emulator.fail(Fault(delay=0.02), times=None)
    answers = await asyncio.gather(*(router.ainvoke(f"q{i}") for i in range(40)))
    assert {a.response_metadata["model_name"] for a in answers} == {HEALTHY}


async def test_the_last_candidate_is_always_tried(
    emulator: Emulator, openai_model: OpenAIFactory
) -> None:
    router = Router([openai_model(HEALTHY)], max_retries=0, probation_max_in_flight=1)
    await _failed_once(router, emulator)
    emulator.fail(Fault(delay=0.05), times=None)
    answers = await asyncio.gather(*(router.ainvoke(f"q{i}") for i in range(10)))
    assert [a.response_metadata["model_name"] for a in answers] == [HEALTHY] * 10
