"""The UCB bandit against the emulator: it moves traffic off a slower, error-prone deployment.

Two deployments of the same model (two model names, one catalog entry, one price) on the
emulator; every call to the "bad" one is delayed by 30 ms and two in three of them
fail with a 500. Each call is ranked by :class:`UCBStrategy`, sent straight to the chosen
model, and its outcome (latency, cost, tokens, error) recorded in :class:`RouterStats`,
which is all the bandit learns from. The first test leaves the router out (the strategy
alone); the others drive a :class:`Router`, its retries, fallbacks and recording included.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

from langchain_core.exceptions import ModelAPIError

from polyvox.costs.computation import compute_cost
from polyvox.openai import ChatOpenAI
from polyvox.router.breaker import BreakerBoard, BreakerConfig
from polyvox.router.deployment import Deployment
from polyvox.router.request import RouteRequest
from polyvox.router.router import Router
from polyvox.router.stats import RouterStats
from polyvox.router.strategies import UCBStrategy
from polyvox.testing import Emulator, Fault

GOOD_MODEL = "gpt-4o-mini"
BAD_MODEL = "gpt-4o-mini-2024-07-18"  # a dated snapshot: the same catalog entry and price
CALLS = 80
LAST = 40
ROUTER_CALLS = 120
"""Calls in the through-the-router test. There the bandit also sees the fallbacks' latency, and
on a loaded machine 80 calls left 0.75-0.78 of the last 40 on the better deployment in two of
ten runs; with 120 every run since has reached 0.8."""
MIN_GOOD_SHARE = 0.8
"""The claim: of the last 40 of 80 calls, at least 80 % go to the better deployment."""

DELAY_S = 0.03


def _deployment(emulator: Emulator, model: str, name: str) -> Deployment:
    chat = ChatOpenAI(
        model=model, api_key="sk-test", base_url=emulator.openai_base_url, max_retries=0
    )
    return Deployment.of(chat, name=name)


def _call(deployment: Deployment, stats: RouterStats, prompt: str) -> None:
    started = time.perf_counter()
    try:
        reply = deployment.model.invoke(prompt)
    except ModelAPIError as exc:
        stats.record(
            deployment.name,
            ok=False,
            latency_s=time.perf_counter() - started,
            error=f"{type(exc).__name__}: {exc}",
        )
        return
    latency = time.perf_counter() - started
    usage = reply.usage_metadata
    assert usage is not None
    cost = compute_cost(usage, deployment.entry.price).total
    stats.record(
        deployment.name,
        ok=True,
        latency_s=latency,
        cost_usd=cost,
        input_tokens=usage["input_tokens"],
        output_tokens=usage["output_tokens"],
    )


def test_ucb_moves_most_traffic_to_the_better_deployment(emulator: Emulator) -> None:
    good = _deployment(emulator, GOOD_MODEL, "good")
    bad = _deployment(emulator, BAD_MODEL, "bad")
    assert good.entry.price == bad.entry.price  # cost is no clue
    for deployment in (good, bad):
        # Untimed warm-up: lazy SDK imports and the first connection are not the
        # provider's latency, and would otherwise weigh on whichever deployment goes first.
        deployment.model.invoke("warm up")
    # Scripted per call of the bad model, in order: always 30 ms late, two in three a 500.
    for i in range(CALLS):
        fault = Fault(delay=DELAY_S, status=500 if i % 3 else None)
        emulator.fail(fault, times=1, model=BAD_MODEL)

    strategy = UCBStrategy(seed=5)  # defaults: exploration 1.4, min_trials 3
    stats = RouterStats()
    request = RouteRequest(estimated_input_tokens=20, expected_output_tokens=64)
    picks: list[str] = []
    for i in range(CALLS):
        chosen = strategy.rank([bad, good], request, stats)[0]
        picks.append(chosen.name)
        _call(chosen, stats, f"question number {i}: how are rivers formed?")

    counts = Counter(picks[-LAST:])
    share = counts["good"] / LAST
    assert share >= MIN_GOOD_SHARE, (picks, strategy.explain([bad, good], request, stats))
    # Each was tried min_trials times before the bandit exploited anything.
    assert Counter(picks[:6]) == {"good": 3, "bad": 3}
    # What it learned came from what was recorded: the bad one failed and was slower.
    bad_stats, good_stats = stats.get("bad"), stats.get("good")
    assert bad_stats.calls == picks.count("bad")
    assert bad_stats.failures == bad_stats.calls - (bad_stats.calls + 2) // 3
    assert bad_stats.last_error is not None
    assert "500" in bad_stats.last_error or "Internal" in bad_stats.last_error
    assert good_stats.failures == 0
    assert good_stats.total_cost_usd > 0
    assert bad_stats.latency_p50_s is not None
    assert bad_stats.latency_p50_s >= DELAY_S  # every answer of the bad one came late
    assert good_stats.latency_ewma_s is not None
    # And every pick reached the emulator under the chosen model's name.
    sent = Counter(r.json["model"] for r in emulator.requests if r.json)
    assert sent == {GOOD_MODEL: picks.count("good") + 1, BAD_MODEL: picks.count("bad") + 1}


def test_ucb_through_the_router_moves_most_traffic(emulator: Emulator) -> None:
    """The same claim with the router in the loop: a failure of the bad deployment falls
    back to the good one, and both outcomes are what the router recorded."""
    good = _deployment(emulator, GOOD_MODEL, "good")
    bad = _deployment(emulator, BAD_MODEL, "bad")
    # Breakers that never open: the bandit, not the breaker, must move the traffic.
    breakers = BreakerBoard(BreakerConfig(failure_threshold=10_000))
    router = Router([bad, good], strategy=UCBStrategy(seed=5), max_retries=0, breakers=breakers)
    for deployment in (good, bad):
        deployment.model.invoke("warm up")  # untimed: lazy imports and the first connection
    for i in range(ROUTER_CALLS):
        emulator.fail(Fault(delay=DELAY_S, status=500 if i % 3 else None), times=1, model=BAD_MODEL)

    firsts: list[str] = []
    for i in range(ROUTER_CALLS):
        answer = router.invoke(f"question number {i}: how are rivers formed?", max_tokens=64)
        attempts = answer.response_metadata["router"]["attempts"]
        firsts.append(attempts[0]["deployment"])
        assert answer.response_metadata["router"]["deployment"] == attempts[-1]["deployment"]
        if attempts[0]["outcome"] != "ok":  # the bad one failed: the good one answered
            assert attempts[0]["deployment"] == "bad", attempts
            assert (attempts[-1]["deployment"], attempts[-1]["outcome"]) == ("good", "ok")

    share = Counter(firsts[-LAST:])["good"] / LAST
    assert share >= MIN_GOOD_SHARE, firsts
    bad_stats, good_stats = router.stats.get("bad"), router.stats.get("good")
    assert bad_stats.calls == firsts.count("bad")
    assert good_stats.calls == ROUTER_CALLS - bad_stats.successes  # first choice or fallback
    assert bad_stats.failures > 0
    assert good_stats.failures == 0


async def test_concurrent_requests_on_a_fresh_ucb_router_spread(emulator: Emulator) -> None:
    """Calls under way count as pulls: 30 concurrent requests do not all take one arm."""
    names = ["gpt-4o-mini", "gpt-4.1-mini", "gpt-4.1"]
    router = Router(
        [_deployment(emulator, model, model) for model in names], strategy=UCBStrategy(seed=1)
    )
    emulator.fail(Fault(delay=0.02), times=None)  # every call stays in flight a while
    answers = await asyncio.gather(*(router.ainvoke(f"question {i}") for i in range(30)))
    chosen = Counter(a.response_metadata["router"]["deployment"] for a in answers)
    assert set(chosen) == set(names), chosen
    assert min(chosen.values()) >= 8, chosen
    assert all(router.stats.in_flight(name) == 0 for name in names)
    assert sum(router.stats.calls(name) for name in names) == 30
