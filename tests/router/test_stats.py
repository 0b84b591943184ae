"""RouterStats: counters, moving averages, percentiles, cost totals, agents, threads."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest

from polyvox.costs.computation import priced_total
from polyvox.router.stats import DeploymentStats, RouterStats
from polyvox.router.token_rates import TokenRates


def test_unseen_deployment_reads_as_zeros() -> None:
    stats = RouterStats()
    snap = stats.get("nobody")
    assert snap == DeploymentStats()
    assert (snap.calls, snap.successes, snap.failures) == (0, 0, 0)
    assert snap.total_cost_usd == Decimal(0)
    assert snap.success_rate is None
    assert snap.latency_ewma_s is None
    assert snap.error_rate is None
    assert stats.latency("nobody") is None
    assert stats.ttft("nobody") is None
    assert stats.success_rate("nobody") is None
    assert stats.mean_cost("nobody") is None
    assert stats.calls("nobody") == 0
    assert stats.total_calls() == 0
    assert stats.by_deployment() == {}


def test_counts_rates_tokens_and_last_error() -> None:
    stats = RouterStats()
    stats.record("a", ok=True, latency_s=0.5, input_tokens=10, output_tokens=4)
    stats.record("a", ok=False, latency_s=0.1, error="RateLimitError: slow down")
    stats.record("a", ok=True, latency_s=0.5, input_tokens=20, output_tokens=6)
    stats.record("b", ok=True, latency_s=1.0)
    snap = stats.get("a")
    assert (snap.calls, snap.successes, snap.failures) == (3, 2, 1)
    assert snap.success_rate == pytest.approx(2 / 3)
    assert snap.error_rate == pytest.approx(1 / 3)
    assert (snap.input_tokens, snap.output_tokens) == (30, 10)
    assert snap.last_error == "RateLimitError: slow down"
    assert stats.calls("a") == 3
    assert stats.success_rate("a") == pytest.approx(2 / 3)
    assert stats.total_calls() == 4
    assert list(stats.by_deployment()) == ["a", "b"]


def test_ewma_starts_at_first_sample_and_ignores_failures() -> None:
    stats = RouterStats(ewma_alpha=0.5)
    stats.record("a", ok=False, latency_s=9.0)
    assert stats.latency("a") is None  # a failure says nothing about serving time
    stats.record("a", ok=True, latency_s=1.0)
    assert stats.latency("a") == 1.0
    stats.record("a", ok=True, latency_s=3.0)
    assert stats.latency("a") == pytest.approx(2.0)
    stats.record("a", ok=False, latency_s=100.0)
    stats.record("a", ok=True, latency_s=2.0)
    assert stats.latency("a") == pytest.approx(2.0)
    assert stats.get("a").latency_ewma_s == pytest.approx(2.0)


def test_ttft_average_only_from_calls_that_report_it() -> None:
    stats = RouterStats(ewma_alpha=0.25)
    stats.record("a", ok=True, latency_s=1.0)
    assert stats.ttft("a") is None
    stats.record("a", ok=True, latency_s=1.0, ttft_s=0.2)
    stats.record("a", ok=True, latency_s=1.0, ttft_s=0.6)
    assert stats.ttft("a") == pytest.approx(0.2 + 0.25 * 0.4)
    assert stats.get("a").ttft_ewma_s == pytest.approx(0.3)


def test_percentiles_come_from_a_bounded_window_of_recent_successes() -> None:
    stats = RouterStats(window=100)
    for i in range(1, 101):
        stats.record("a", ok=True, latency_s=i / 100)
    snap = stats.get("a")
    assert snap.latency_p50_s == pytest.approx(0.505)
    assert snap.latency_p95_s == pytest.approx(0.9505)
    # 100 slow calls push the fast ones out of the window entirely.
    for _ in range(100):
        stats.record("a", ok=True, latency_s=5.0)
    snap = stats.get("a")
    assert snap.latency_p50_s == snap.latency_p95_s == 5.0
    assert snap.calls == 200


def test_cost_totals_are_exact_decimals_and_mean_cost_is_a_float() -> None:
    stats = RouterStats()
    for _ in range(3):
        stats.record("a", ok=True, latency_s=0.1, cost_usd=Decimal("0.1"))
    stats.record("a", ok=False, latency_s=0.1)  # no cost reported: not in the mean
    snap = stats.get("a")
    assert snap.total_cost_usd == Decimal("0.3")
    assert isinstance(snap.total_cost_usd, Decimal)
    assert stats.mean_cost("a") == pytest.approx(0.1)
    assert snap.to_dict()["total_cost_usd"] == "0.3"


RATES = TokenRates.of([Decimal(r) for r in ("3E-6", "3E-7", "3.75E-6", "1.5E-5", "1.5E-5", "6E-6")])
"""A Claude Sonnet's USD per input, cache-read, cache-write (5 minutes), output, reasoning
and 1-hour cache-write token."""


def test_calls_priced_by_their_tokens_total_exactly_what_each_call_costs() -> None:
    stats = RouterStats()
    calls = [(1000, 0, 0, 200, 0, 0), (5000, 4096, 0, 900, 300, 0), (7, 0, 7, 1, 1, 3)]
    for tokens in calls:
        stats.record("a", ok=True, latency_s=0.1, agent="planner", tokens=tokens, rates=RATES)
    stats.record("a", ok=True, latency_s=0.1, cost_usd=Decimal("0.5"))  # a tiered price
    exact = sum((priced_total(t, RATES.exact) for t in calls), Decimal("0.5"))
    assert stats.get("a").total_cost_usd == exact
    assert stats.by_agent()["planner"]["a"].total_cost_usd == exact - Decimal("0.5")
    assert stats.mean_cost("a") == pytest.approx(float(exact) / 4)


def test_new_rates_settle_the_tokens_priced_at_the_old_ones() -> None:
    stats = RouterStats()
    doubled = TokenRates.of([r * 2 for r in RATES.exact])
    stats.record("a", ok=True, latency_s=0.1, tokens=(1000, 0, 0, 100, 0, 0), rates=RATES)
    stats.record("a", ok=True, latency_s=0.1, tokens=(1000, 0, 0, 100, 0, 0), rates=doubled)
    once = priced_total((1000, 0, 0, 100, 0, 0), RATES.exact)
    assert stats.get("a").total_cost_usd == once * 3


def test_five_rates_price_one_hour_writes_as_cache_writes() -> None:
    five = TokenRates.of(RATES.exact[:5])
    assert five.exact[5] == RATES.exact[2]
    with pytest.raises(ValueError, match="expected 6"):
        TokenRates.of(RATES.exact[:4])


def test_contradicting_tokens_are_refused() -> None:
    stats = RouterStats()
    with pytest.raises(ValueError, match="cached tokens inside input"):
        stats.record("a", ok=True, latency_s=0.1, tokens=(10, 20, 0, 5, 0, 0), rates=RATES)
    assert stats.get("a") == DeploymentStats()


def test_by_agent_keeps_a_breakdown_alongside_the_totals() -> None:
    stats = RouterStats()
    stats.record("a", ok=True, latency_s=0.2, agent="planner", cost_usd=Decimal("0.01"))
    stats.record("a", ok=False, latency_s=0.2, agent="coder", error="boom")
    stats.record("b", ok=True, latency_s=0.3, agent="coder")
    stats.record("b", ok=True, latency_s=0.3)
    agents = stats.by_agent()
    assert set(agents) == {"planner", "coder"}
    assert set(agents["planner"]) == {"a"}
    assert agents["planner"]["a"].total_cost_usd == Decimal("0.01")
    assert agents["coder"]["a"].failures == 1
    assert agents["coder"]["a"].last_error == "boom"
    assert agents["coder"]["b"].calls == 1
    assert stats.get("b").calls == 2  # the deployment total counts calls of every agent


def test_only_the_most_recently_active_agents_are_kept() -> None:
    stats = RouterStats(max_agents=3)
    for agent in ("a1", "a2", "a3"):
        stats.record("d", ok=True, latency_s=0.1, agent=agent)
    stats.record("d", ok=True, latency_s=0.1, agent="a1")  # a1 is active again
    stats.record("d", ok=True, latency_s=0.1, agent="a4")  # one too many: a2 goes
    assert list(stats.by_agent()) == ["a3", "a1", "a4"]
    assert stats.by_agent()["a1"]["d"].calls == 2
    for n in range(10_000):  # a caller with one agent id per session
        stats.record("d", ok=True, latency_s=0.1, agent=f"session-{n}")
    assert list(stats.by_agent()) == ["session-9997", "session-9998", "session-9999"]
    assert stats.get("d").calls == 10_005  # the deployment totals lose nothing
    assert RouterStats().max_agents == 1000
    none = RouterStats(max_agents=0)
    none.record("d", ok=True, latency_s=0.1, agent="a1")
    assert none.by_agent() == {}
    assert none.calls("d") == 1
    with pytest.raises(ValueError, match="max_agents"):
        RouterStats(max_agents=-1)


def test_reset_forgets_everything() -> None:
    stats = RouterStats()
    stats.record("a", ok=True, latency_s=0.2, agent="x")
    stats.reset()
    assert stats.total_calls() == 0
    assert stats.by_deployment() == {}
    assert stats.by_agent() == {}
    assert stats.latency("a") is None


def test_snapshot_is_frozen_and_serialisable() -> None:
    stats = RouterStats()
    stats.record("a", ok=True, latency_s=0.25, ttft_s=0.05, input_tokens=3)
    snap = stats.get("a")
    with pytest.raises(AttributeError):
        snap.calls = 7  # type: ignore[misc]
    data = snap.to_dict()
    assert data["calls"] == 1
    assert data["latency_p50_s"] == 0.25
    assert data["ttft_ewma_s"] == 0.05
    stats.record("a", ok=True, latency_s=1.0)
    assert snap.calls == 1  # a snapshot does not follow later records


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ewma_alpha": 0.0}, "ewma_alpha"),
        ({"ewma_alpha": 1.5}, "ewma_alpha"),
        ({"window": 0}, "window"),
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RouterStats(**kwargs)  # type: ignore[arg-type]


def test_bad_records_are_refused() -> None:
    stats = RouterStats()
    with pytest.raises(ValueError, match="latency_s"):
        stats.record("a", ok=True, latency_s=-1.0)
    with pytest.raises(ValueError, match="token"):
        stats.record("a", ok=True, latency_s=1.0, output_tokens=-2)
    assert stats.total_calls() == 0


def test_concurrent_records_lose_nothing() -> None:
    stats = RouterStats(window=16)
    threads, per_thread = 8, 2000
    barrier = threading.Barrier(threads)

    def work(k: int) -> None:
        barrier.wait()
        for i in range(per_thread):
            stats.record(
                f"d{i % 3}",
                ok=(i + k) % 5 != 0,
                latency_s=0.001 * (i % 7),
                cost_usd=Decimal("0.0001"),
                input_tokens=1,
                agent=f"agent{k % 2}",
            )
            stats.latency("d0")  # lock-free readers run alongside the writers
            stats.success_rate("d1")

    pool = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    total = threads * per_thread
    snaps = stats.by_deployment()
    assert stats.total_calls() == total
    assert sum(s.calls for s in snaps.values()) == total
    assert sum(s.successes + s.failures for s in snaps.values()) == total
    assert sum(s.failures for s in snaps.values()) == total // 5
    assert sum(s.total_cost_usd for s in snaps.values()) == Decimal("0.0001") * total
    assert sum(s.input_tokens for s in snaps.values()) == total
    agents = stats.by_agent()
    assert sum(s.calls for cells in agents.values() for s in cells.values()) == total
