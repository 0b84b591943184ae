"""Routing strategies over deployments of real polyvox models (no network: ranking only)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from decimal import Decimal

import pytest

from polyvox.core.usage import make_usage
from polyvox.costs.catalog import (
    Capability,
    ModelCatalog,
    ModelEntry,
    ModelPrice,
    default_catalog,
    set_default_catalog,
)
from polyvox.costs.computation import CurrencyRates, compute_cost
from polyvox.ollama import ChatBielik, ChatOllama
from polyvox.openai import ChatOpenAI, ChatOpenRouter
from polyvox.router.deployment import Deployment
from polyvox.router.request import RouteRequest
from polyvox.router.stats import RouterStats
from polyvox.router.strategies import (
    STRATEGIES,
    BalancedStrategy,
    CallableStrategy,
    CapabilityMatchStrategy,
    CostOptimizedStrategy,
    LatencyOptimizedStrategy,
    LocalFirstStrategy,
    QualityOptimizedStrategy,
    RoutingStrategy,
    UCBStrategy,
    clear_profiles,
    estimate_cost_usd,
    estimate_latency_s,
    get_strategy,
    profile_of,
    score_table,
)

REQUEST = RouteRequest(estimated_input_tokens=1000, expected_output_tokens=200)


def openai(model: str, **fields: object) -> Deployment:
    return Deployment.of(ChatOpenAI(model=model, api_key="k"), **fields)  # type: ignore[arg-type]


@pytest.fixture
def mini() -> Deployment:
    return openai("gpt-4o-mini")


@pytest.fixture
def gpt4o() -> Deployment:
    return openai("gpt-4o")


@pytest.fixture
def bielik() -> Deployment:
    return Deployment.of(ChatBielik(), name="bielik")


@pytest.fixture
def llama() -> Deployment:
    return Deployment.of(ChatOllama(model="llama3.1:8b"))


@pytest.fixture
def unpriced() -> Deployment:
    return openai("my-finetune")  # the catalog does not know it: unpriced, no latency


@pytest.fixture
def fleet(
    mini: Deployment, gpt4o: Deployment, bielik: Deployment, llama: Deployment, unpriced: Deployment
) -> list[Deployment]:
    return [gpt4o, unpriced, mini, llama, bielik]


def names(ranked: Sequence[Deployment]) -> list[str]:
    return [d.name for d in ranked]


# -- every strategy ---------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_every_strategy_returns_a_permutation(name: str, fleet: list[Deployment]) -> None:
    strategy = get_strategy(name)
    stats = RouterStats()
    stats.record(fleet[2].name, ok=True, latency_s=0.3)
    for candidates in (fleet, fleet[:1], fleet[::-1], [fleet[0], openai("gpt-4o", name="twin")]):
        for _ in range(3):
            ranked = strategy.rank(candidates, REQUEST, stats)
            assert len(ranked) == len(candidates)
            assert {id(d) for d in ranked} == {id(d) for d in candidates}
        table = score_table(strategy, candidates, REQUEST, stats)
        assert {id(d) for d, _ in table} == {id(d) for d in candidates}


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_every_strategy_is_deterministic(name: str, fleet: list[Deployment]) -> None:
    def run() -> list[list[str]]:
        strategy = get_strategy(name, **({"seed": 7} if name in ("ucb", "bandit") else {}))
        stats = RouterStats()
        out = []
        for i in range(12):
            ranked = strategy.rank(fleet, REQUEST, stats)
            out.append(names(ranked))
            stats.record(ranked[0].name, ok=i % 3 != 0, latency_s=0.1 + 0.01 * i)
        return out

    assert run() == run()


# -- cost --------------------------------------------------------------------------------


def test_cost_puts_local_first_and_unpriced_last(
    fleet: list[Deployment], mini: Deployment, gpt4o: Deployment, unpriced: Deployment
) -> None:
    ranked = CostOptimizedStrategy().rank(fleet, REQUEST, RouterStats())
    assert {d.name for d in ranked[:2]} == {"bielik", "ollama/llama3.1:8b"}
    assert ranked[2:] == [mini, gpt4o, unpriced]
    explained = CostOptimizedStrategy().explain(fleet, REQUEST, RouterStats())
    assert explained["bielik"]["cost_usd"] == 0.0
    assert explained[unpriced.name] == {"score": 0.0, "cost_usd": None, "priced": False}


def test_cost_estimate_matches_the_exact_price_of_the_request(gpt4o: Deployment) -> None:
    assert gpt4o.entry.price is not None
    exact = compute_cost(make_usage(1000, 200), gpt4o.entry.price).total
    assert exact == Decimal("0.0045")
    assert estimate_cost_usd(gpt4o, REQUEST) == pytest.approx(float(exact))


def test_cost_depends_on_the_requests_tokens() -> None:
    # gemini-2.5-pro is cheaper than gpt-4.1 per token, until a prompt over 200K tokens
    # moves the whole call to its long-context prices.
    gemini = Deployment.of(ChatOpenRouter(model="google/gemini-2.5-pro", api_key="k"))
    gpt41 = openai("gpt-4.1")
    strategy = CostOptimizedStrategy()
    short = RouteRequest(estimated_input_tokens=1000, expected_output_tokens=100)
    long = RouteRequest(estimated_input_tokens=300_000, expected_output_tokens=100)
    assert strategy.rank([gpt41, gemini], short, RouterStats()) == [gemini, gpt41]
    assert strategy.rank([gemini, gpt41], long, RouterStats()) == [gpt41, gemini]
    assert gemini.entry.price is not None
    exact = compute_cost(make_usage(300_000, 100), gemini.entry.price).total
    assert estimate_cost_usd(gemini, long) == pytest.approx(float(exact or 0))


def test_cost_in_another_currency_needs_an_exchange_rate() -> None:
    price = ModelPrice(currency="RUB", input=Decimal("0.5"), output=Decimal("0.5"), per_tokens=1000)
    entry = ModelEntry(
        provider="gigachat", model="GigaChat-2-Pro", context_window=128_000, price=price
    )
    previous = default_catalog()
    try:
        set_default_catalog(ModelCatalog(rates=CurrencyRates({"RUB": "0.01"})))
        rub = Deployment(name="giga", model=ChatOpenAI(model="x", api_key="k"), entry=entry)
        # 1200 tokens x 0.5 RUB / 1K x 0.01 USD/RUB
        assert estimate_cost_usd(rub, REQUEST) == pytest.approx(0.006)
        set_default_catalog(ModelCatalog(rates=CurrencyRates({})))
        clear_profiles()  # profiles read the rates once
        no_rate = Deployment(name="giga2", model=ChatOpenAI(model="x", api_key="k"), entry=entry)
        assert estimate_cost_usd(no_rate, REQUEST) is None  # not comparable: unpriced
    finally:
        set_default_catalog(previous)
        clear_profiles()


def test_profiles_are_cached_per_entry_and_follow_a_new_entry(mini: Deployment) -> None:
    first = profile_of(mini)
    assert profile_of(mini) is first
    assert profile_of(openai("gpt-4o-mini", name="twin")) is first  # the same catalog entry
    assert first.input_usd == pytest.approx(0.15e-6)
    assert first.output_usd == pytest.approx(0.6e-6)
    mini.entry = ModelEntry(provider="openai", model="gpt-4o-mini", context_window=1000)
    assert profile_of(mini) is not first
    assert estimate_cost_usd(mini, REQUEST) is None


# -- latency -----------------------------------------------------------------------------


def test_latency_falls_back_to_the_catalog_for_this_requests_output(
    mini: Deployment, gpt4o: Deployment, unpriced: Deployment
) -> None:
    # gpt-4o-mini: 450 ms to the first token, 80 tokens/s; gpt-4o: 500 ms, 90 tokens/s.
    strategy = LatencyOptimizedStrategy()
    short = RouteRequest(expected_output_tokens=10)
    long = RouteRequest(expected_output_tokens=2000)
    assert strategy.rank([unpriced, gpt4o, mini], short, RouterStats()) == [mini, gpt4o, unpriced]
    assert strategy.rank([unpriced, mini, gpt4o], long, RouterStats()) == [gpt4o, mini, unpriced]
    assert estimate_latency_s(mini, short) == pytest.approx(0.45 + 10 / 80)


def test_latency_prefers_what_was_measured(
    mini: Deployment, gpt4o: Deployment, bielik: Deployment
) -> None:
    stats = RouterStats()
    stats.record(bielik.name, ok=True, latency_s=0.2)  # no catalog latency, but measured
    stats.record(mini.name, ok=True, latency_s=0.3)  # the catalog's estimate: 2.95 s
    ranked = LatencyOptimizedStrategy().rank([gpt4o, mini, bielik], REQUEST, stats)
    assert ranked == [bielik, mini, gpt4o]  # gpt-4o from the catalog: 0.5 s + 200 / 90 s
    explained = LatencyOptimizedStrategy().explain([mini, gpt4o, bielik], REQUEST, stats)
    assert explained[bielik.name]["measured"] is True
    assert explained[gpt4o.name]["measured"] is False
    assert explained[bielik.name]["score"] == 1.0


def test_latency_by_time_to_first_token(mini: Deployment, gpt4o: Deployment) -> None:
    stats = RouterStats()
    stats.record(mini.name, ok=True, latency_s=0.5, ttft_s=0.4)
    stats.record(gpt4o.name, ok=True, latency_s=0.4, ttft_s=0.3)
    stats.record(mini.name, ok=True, latency_s=0.5, ttft_s=0.4)
    ttft = LatencyOptimizedStrategy(metric="ttft")
    assert ttft.rank([mini, gpt4o], REQUEST, stats) == [gpt4o, mini]
    stats.record(gpt4o.name, ok=True, latency_s=9.0)  # slow overall, still the first token
    assert LatencyOptimizedStrategy().rank([gpt4o, mini], REQUEST, stats) == [mini, gpt4o]
    assert ttft.rank([mini, gpt4o], REQUEST, stats) == [gpt4o, mini]
    with pytest.raises(ValueError, match="metric"):
        LatencyOptimizedStrategy(metric="p99")  # type: ignore[arg-type]


# -- quality, local first, capability -----------------------------------------------------


def test_quality_by_score_then_tier(fleet: list[Deployment], gpt4o: Deployment) -> None:
    ranked = QualityOptimizedStrategy().rank(fleet, REQUEST, RouterStats())
    assert ranked[0] is gpt4o  # balanced tier, 0.7, listed first among the 0.7s
    assert ranked[-1].name == "openai/gpt-4o-mini"  # fast tier: 0.5
    best = openai("gpt-4o-mini", name="tuned", quality=0.95)
    assert QualityOptimizedStrategy().rank([*fleet, best], REQUEST, RouterStats())[0] is best
    strong = openai("gpt-4.1")  # powerful tier
    same = openai("gpt-4o", name="rated", quality=0.9)  # same score, weaker tier
    assert QualityOptimizedStrategy().rank([same, strong], REQUEST, RouterStats()) == [strong, same]


def test_local_first_then_balanced(fleet: list[Deployment]) -> None:
    ranked = LocalFirstStrategy().rank(fleet, REQUEST, RouterStats())
    assert [d.local for d in ranked] == [True, True, False, False, False]
    cloud = [d for d in fleet if not d.local]
    inner = BalancedStrategy().score_table(cloud, REQUEST, RouterStats())
    assert names(ranked[2:]) == [d.name for d, _ in inner]
    cost_first = LocalFirstStrategy(then=CostOptimizedStrategy())
    explained = cost_first.explain(fleet, REQUEST, RouterStats())
    assert explained["bielik"]["local"] is True
    assert "cost_usd" in explained["bielik"]


def test_capability_match_prefers_the_tightest_fit(
    mini: Deployment, gpt4o: Deployment, llama: Deployment, bielik: Deployment
) -> None:
    strategy = CapabilityMatchStrategy()
    tools = RouteRequest(1000, 200, capabilities=frozenset({Capability.TOOLS}))
    # llama3.1 has tools but no vision: fewer unneeded extras than the GPTs; bielik lacks tools.
    ranked = strategy.rank([gpt4o, bielik, mini, llama], tools, RouterStats())
    assert ranked == [llama, mini, gpt4o, bielik]  # the GPTs tie on fit: cheaper first
    explained = strategy.explain([gpt4o, bielik], tools, RouterStats())
    assert explained["bielik"]["missing"] == "tools"
    assert explained[gpt4o.name]["extras"] == "json_mode,structured_output,vision"
    vision = RouteRequest(1000, 200, capabilities=frozenset({Capability.VISION, Capability.TOOLS}))
    assert strategy.rank([llama, mini, gpt4o], vision, RouterStats())[0] is mini


def test_capability_match_prefers_the_smallest_sufficient_window(
    bielik: Deployment, llama: Deployment
) -> None:
    strategy = CapabilityMatchStrategy()
    structured = frozenset({Capability.STRUCTURED_OUTPUT})
    # Equal fit after dropping tools from llama's extras: compare the windows.
    plain = Deployment(
        name="llama-no-tools",
        model=llama.model,
        entry=ModelEntry(
            provider="ollama",
            model="llama3.1",
            context_window=131_072,
            local=True,
            capabilities=bielik.capabilities,
        ),
    )
    small = RouteRequest(estimated_input_tokens=1000, capabilities=structured)
    assert strategy.rank([plain, bielik], small, RouterStats()) == [bielik, plain]
    big = RouteRequest(estimated_input_tokens=40_000, capabilities=structured)
    assert strategy.rank([bielik, plain], big, RouterStats()) == [plain, bielik]
    assert strategy.scores([bielik], big, RouterStats()) == [0.0]


# -- balanced -------------------------------------------------------------------------------


def test_balanced_weights_steer_the_blend(fleet: list[Deployment]) -> None:
    stats = RouterStats()
    only_cost = BalancedStrategy(cost_weight=1, latency_weight=0, quality_weight=0)
    by_cost = CostOptimizedStrategy().score_table(fleet, REQUEST, stats)
    assert [d for d, _ in only_cost.score_table(fleet, REQUEST, stats)][2:] == [
        d for d, _ in by_cost
    ][2:]
    only_quality = BalancedStrategy(cost_weight=0, latency_weight=0, quality_weight=1)
    assert only_quality.rank(fleet, REQUEST, stats)[0].quality_score == 0.7
    table = BalancedStrategy().explain(fleet, REQUEST, stats)
    for figures in table.values():
        score = figures["score"]
        assert isinstance(score, float)
        assert 0.0 <= score <= 1.0
    assert table["bielik"]["latency_score"] == 0.5  # unknown latency: neutral
    assert table["openai/my-finetune"]["cost_score"] == 0.0  # unpriced: never free
    with pytest.raises(ValueError, match="weights"):
        BalancedStrategy(0, 0, 0)


def test_balanced_spreads_ties_by_weight() -> None:
    copies = [openai("gpt-4o", name=f"east-{w}", weight=w) for w in (3, 1, 0)]
    strategy = BalancedStrategy()
    firsts = Counter(strategy.rank(copies, REQUEST, RouterStats())[0].name for _ in range(400))
    assert firsts == {"east-3": 300, "east-1": 100}  # smooth weighted round-robin: exact
    order = [strategy.rank(copies, REQUEST, RouterStats())[0].name for _ in range(4)]
    assert order == ["east-3", "east-3", "east-1", "east-3"]  # interleaved, not in bursts


def test_priority_breaks_ties_before_weight() -> None:
    low = openai("gpt-4o", name="backup", priority=1, weight=10)
    high = [openai("gpt-4o", name=f"main-{i}", priority=0) for i in range(2)]
    strategy = CostOptimizedStrategy()
    firsts = [strategy.rank([low, *high], REQUEST, RouterStats()) for _ in range(4)]
    assert [r[0].name for r in firsts] == ["main-0", "main-1", "main-0", "main-1"]
    assert all(r[-1] is low for r in firsts)


def test_score_table_changes_no_state(mini: Deployment) -> None:
    copies = [openai("gpt-4o-mini", name=f"m{i}") for i in range(3)]
    strategy = BalancedStrategy()
    for _ in range(5):
        table = score_table(strategy, copies, REQUEST, RouterStats())
        assert names([d for d, _ in table]) == ["m0", "m1", "m2"]
    assert strategy.rank(copies, REQUEST, RouterStats())[0].name == "m0"
    assert strategy.rank(copies, REQUEST, RouterStats())[0].name == "m1"


# -- user strategies and names -------------------------------------------------------------


def test_callable_strategy_and_permutation_checks(fleet: list[Deployment]) -> None:
    def reverse(
        candidates: Sequence[Deployment], request: RouteRequest, stats: RouterStats
    ) -> list[Deployment]:
        return list(reversed(candidates))

    strategy = get_strategy(reverse)
    assert isinstance(strategy, CallableStrategy)
    assert isinstance(strategy, RoutingStrategy)
    assert strategy.name == "reverse"
    assert strategy.rank(fleet, REQUEST, RouterStats()) == fleet[::-1]
    table = score_table(strategy, fleet, REQUEST, RouterStats())
    assert [s for _, s in table] == [1.0, 0.8, 0.6, 0.4, 0.2]

    extra = openai("gpt-4.1")
    bad = {
        "dropped": lambda c, r, s: list(c)[1:],
        "added": lambda c, r, s: [*c, extra],
        "repeated": lambda c, r, s: [*c, c[0]],
    }
    for problem, fn in bad.items():
        with pytest.raises(ValueError, match=problem):
            CallableStrategy(fn, name="bad").rank(fleet, REQUEST, RouterStats())
    with pytest.raises(TypeError):
        CallableStrategy(42)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("spec", "kind"),
    [
        ("balanced", BalancedStrategy),
        ("Cost-Optimised", CostOptimizedStrategy),
        ("latency_optimized", LatencyOptimizedStrategy),
        ("QUALITY", QualityOptimizedStrategy),
        ("local first", LocalFirstStrategy),
        ("capability", CapabilityMatchStrategy),
        ("bandit", UCBStrategy),
    ],
)
def test_get_strategy_by_name(spec: str, kind: type) -> None:
    first, second = get_strategy(spec), get_strategy(spec)
    assert isinstance(first, kind)
    assert first is not second  # each router gets its own (strategies keep state)


def test_get_strategy_options_and_errors() -> None:
    ucb = get_strategy("ucb", exploration=0.5, min_trials=1)
    assert isinstance(ucb, UCBStrategy)
    assert (ucb.exploration, ucb.min_trials) == (0.5, 1)
    assert get_strategy(ucb) is ucb
    with pytest.raises(ValueError, match=r"unknown routing strategy 'fastest'.*balanced.*ucb"):
        get_strategy("fastest")
    with pytest.raises(ValueError, match="by name"):
        get_strategy(ucb, exploration=1.0)
    with pytest.raises(TypeError):
        get_strategy("cost", exploration=1.0)
    with pytest.raises(TypeError, match="routing strategy"):
        get_strategy(3.5)  # type: ignore[arg-type]


# -- UCB (ranking alone; the emulator test is in test_bandit.py) ---------------------------


@pytest.fixture
def arms() -> list[Deployment]:
    return [openai("gpt-4o-mini", name=f"arm{i}") for i in range(3)]


def test_ucb_tries_each_arm_min_trials_times_round_robin(arms: list[Deployment]) -> None:
    strategy, stats = UCBStrategy(min_trials=2), RouterStats()
    picks = []
    for _ in range(6):
        first = strategy.rank(arms, REQUEST, stats)[0]
        picks.append(first.name)
        stats.record(first.name, ok=True, latency_s=0.1)
    assert picks == ["arm0", "arm1", "arm2"] * 2


def test_ucb_exploits_the_best_reward_and_explores_the_neglected(arms: list[Deployment]) -> None:
    stats = RouterStats()
    for _ in range(20):
        stats.record("arm0", ok=True, latency_s=0.1)
        stats.record("arm1", ok=False, latency_s=0.1)
    for i in range(3):
        stats.record("arm2", ok=i > 0, latency_s=0.1)
    greedy = UCBStrategy(exploration=0.0)
    assert names(greedy.rank(arms, REQUEST, stats)) == ["arm0", "arm2", "arm1"]
    explorer = UCBStrategy(exploration=1.4)
    assert explorer.rank(arms, REQUEST, stats)[0].name == "arm2"  # few trials: a big bonus
    table = explorer.explain(arms, REQUEST, stats)
    assert table["arm1"]["success_rate"] == 0.0
    assert table["arm0"]["reward"] == pytest.approx(1.0)
    # arm1 never succeeded: no success, catalog latency (0.45 s + 200 / 80 s), full cost score.
    assert table["arm1"]["reward"] == pytest.approx(0.3 * 0.11 / 2.96 + 0.2)
    bonus = table["arm2"]["bonus"]
    assert isinstance(bonus, float)
    assert bonus > table["arm0"]["bonus"]  # type: ignore[operator]


def test_ucb_rewards_come_from_recorded_latency_and_cost(arms: list[Deployment]) -> None:
    stats = RouterStats()
    for _ in range(5):
        stats.record("arm0", ok=True, latency_s=0.1, cost_usd=Decimal("0.001"))
        stats.record("arm1", ok=True, latency_s=0.4, cost_usd=Decimal("0.001"))
        stats.record("arm2", ok=True, latency_s=0.1, cost_usd=Decimal("0.004"))
    rewards = UCBStrategy(success_weight=0, latency_weight=1, cost_weight=1).rewards(
        arms, REQUEST, stats
    )
    assert rewards[0] == pytest.approx(1.0)
    assert rewards[1] < 1.0
    assert rewards[2] < 1.0
    assert UCBStrategy(exploration=0).rank(arms, REQUEST, stats)[0].name == "arm0"


def test_ucb_seed_fixes_the_order_of_untried_arms(arms: list[Deployment]) -> None:
    def first_round(seed: int | None) -> list[str]:
        strategy, stats, out = UCBStrategy(min_trials=1, seed=seed), RouterStats(), []
        for _ in range(3):
            first = strategy.rank(arms, REQUEST, stats)[0].name
            out.append(first)
            stats.record(first, ok=True, latency_s=0.1)
        return out

    assert first_round(None) == ["arm0", "arm1", "arm2"]
    orders = {tuple(first_round(seed)) for seed in range(12)}
    assert all(sorted(o) == ["arm0", "arm1", "arm2"] for o in orders)
    assert len(orders) > 1  # seeds give different (but each reproducible) orders
    assert first_round(5) == first_round(5)


def test_ucb_rejects_bad_settings() -> None:
    with pytest.raises(ValueError, match="exploration"):
        UCBStrategy(exploration=-1)
    with pytest.raises(ValueError, match="min_trials"):
        UCBStrategy(min_trials=-1)
    with pytest.raises(ValueError, match="weights"):
        UCBStrategy(success_weight=0, latency_weight=0, cost_weight=0)


def test_a_balanced_subclass_scoring_its_own_way_is_ranked_by_its_scores(
    fleet: list[Deployment],
) -> None:
    from polyvox.router.strategies.builtin import BalancedStrategy

    class PreferLast(BalancedStrategy):
        def scores(
            self, candidates: Sequence[Deployment], request: RouteRequest, stats: RouterStats
        ) -> list[float]:
            return [float(i) for i in range(len(candidates))]

    ranked = PreferLast().rank(fleet, RouteRequest(), RouterStats())
    assert ranked[0] is fleet[-1]
