"""The routing decision: how long each strategy takes to rank 20 deployments.

``router.decision`` times ``strategy.rank(candidates, request, stats)`` alone — no model
call, no network — for every built-in strategy and a user function, over 20 deployments
of real polyvox models (OpenAI, OpenRouter, Ollama and Bielik: priced, unpriced and local
ones, some with measured latency in :class:`~polyvox.router.stats.RouterStats`, some
known only from the catalog). The strategies are timed in interleaved rounds (one call
each per round, the order rotating), after a warm-up that fills the per-deployment
profile cache, as a running router would have it. The issue's target is p99 at most
100 µs for the whole decision without language detection; ranking is most of it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from benchmarks.harness import Column, Context, Row, Section, Target, interleave, register
from benchmarks.harness.stats import percentile

TARGET_US = 100.0
OPENAI = (
    "gpt-4o-mini",
    "gpt-4o",
    "gpt-4.1",
    "gpt-4.1-mini",
    "gpt-4.1-nano",
    "o3-mini",
    "o4-mini",
    "gpt-3.5-turbo",
)
OPENROUTER = ("google/gemini-2.5-pro", "google/gemini-2.5-flash", "anthropic/claude-sonnet-4.5")
OLLAMA = ("llama3.1:8b", "llama3.2", "qwen2.5:7b", "mistral", "gemma2")
CUSTOM = ("acme-finetune-1", "acme-finetune-2", "acme-finetune-3")
STRATEGIES = (
    "balanced",
    "cost",
    "latency",
    "quality",
    "local_first",
    "capability_match",
    "ucb",
)
USER = "user function"
EXPLAIN = "balanced score_table"


def deployments() -> list[Any]:
    """20 deployments of real polyvox models (no network: built, never called)."""
    from polyvox.ollama import ChatBielik, ChatOllama
    from polyvox.openai import ChatOpenAI, ChatOpenRouter
    from polyvox.router.deployment import Deployment

    out = [Deployment.of(ChatOpenAI(model=m, api_key="k")) for m in OPENAI]
    out += [Deployment.of(ChatOpenRouter(model=m, api_key="k")) for m in OPENROUTER]
    out += [Deployment.of(ChatOllama(model=m)) for m in OLLAMA]
    out.append(Deployment.of(ChatBielik(), name="bielik", weight=2.0))
    out += [
        Deployment.of(ChatOpenAI(model=m, api_key="k"), priority=1, tags=frozenset({"eu"}))
        for m in CUSTOM
    ]
    assert len(out) == 20, len(out)
    return out


def recorded_stats(candidates: list[Any]) -> Any:
    """Statistics with 40 calls each for 12 of the deployments (a router in service)."""
    from polyvox.router.stats import RouterStats

    stats = RouterStats()
    for i, d in enumerate(candidates[::2][:6] + candidates[1::2][:6]):
        for k in range(40):
            stats.record(
                d.name,
                ok=k % 9 != 0,
                latency_s=0.3 + 0.07 * i + 0.01 * (k % 5),
                ttft_s=0.1 + 0.02 * i,
                cost_usd=Decimal("0.0004") * (i + 1),
                input_tokens=1500,
                output_tokens=400,
            )
    return stats


def _user_strategy(candidates: Sequence[Any], request: Any, stats: Any) -> list[Any]:
    """A typical user function: EU-tagged deployments first, then by priority."""
    return sorted(candidates, key=lambda d: ("eu" not in d.tags, d.priority))


def _calls(candidates: list[Any], request: Any, stats: Any) -> dict[str, Callable[[], object]]:
    from polyvox.router.strategies import BalancedStrategy, get_strategy

    def ranking(strategy: Any) -> Callable[[], object]:
        return lambda: strategy.rank(candidates, request, stats)

    calls = {name: ranking(get_strategy(name)) for name in STRATEGIES}
    user = get_strategy(_user_strategy)
    calls[USER] = lambda: user.rank(candidates, request, stats)
    explain = BalancedStrategy()
    calls[EXPLAIN] = lambda: explain.score_table(candidates, request, stats)
    return calls


@register("router.decision", "routing decision: rank 20 deployments, per strategy", order=80)
def decision(ctx: Context) -> Section:
    from polyvox.costs.catalog import Capability
    from polyvox.router.request import RouteRequest

    candidates = deployments()
    stats = recorded_stats(candidates)
    request = RouteRequest(
        estimated_input_tokens=1500,
        expected_output_tokens=512,
        capabilities=frozenset({Capability.TOOLS}),
    )
    calls = _calls(candidates, request, stats)
    rounds, warmup = ctx.scale(20_000, 2_000), ctx.scale(500, 100)
    samples = interleave(calls, rounds=rounds, warmup=warmup)
    target = Target("p99_us", "<=", TARGET_US, f"p99 ≤ {TARGET_US:.0f} µs")
    rows = []
    for name, got in samples.items():
        wall = sorted(got.wall_us())
        values: dict[str, float | int | str | None] = {
            "median_us": percentile(wall, 50),
            "p90_us": percentile(wall, 90),
            "p99_us": percentile(wall, 99),
            "cpu_us": percentile(sorted(got.cpu_us()), 50),
        }
        rows.append(Row(name, values, None if name == EXPLAIN else target))
    local = sum(d.local for d in candidates)
    unpriced = sum(d.entry.price is None for d in candidates)
    return Section(
        name="router.decision",
        title="strategy.rank() over 20 deployments (no model call)",
        columns=[
            Column("median_us", "median µs", "{:,.1f}"),
            Column("p90_us", "p90 µs", "{:,.1f}"),
            Column("p99_us", "p99 µs", "{:,.1f}"),
            Column("cpu_us", "CPU µs", "{:,.1f}"),
        ],
        rows=rows,
        setup=[
            f"20 deployments: {len(OPENAI)} OpenAI, {len(OPENROUTER)} OpenRouter, "
            f"{len(OLLAMA)} Ollama + Bielik ({local} local), {len(CUSTOM)} uncatalogued "
            f"({unpriced} unpriced in all); 12 with 40 recorded calls each in RouterStats",
            "request: 1,500 input tokens estimated, 512 output expected, tools required",
            f"{rounds:,} interleaved rounds after {warmup:,} warm-up rounds (profiles cached); "
            "one rank() per sample, GC on",
        ],
        notes=[
            "the target is the issue's p99 for the whole routing decision without language "
            "detection; the router adds its filters and a breaker check to this",
            f"{USER}: CallableStrategy over sorted(...) with the permutation check",
            f"{EXPLAIN}: what Router.explain() asks of the strategy (no target; not on the "
            "call path)",
            "CPU µs is the median process CPU time per call (timer resolution shows)",
        ],
    )
