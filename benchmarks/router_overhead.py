"""The router on the call path: what ``Router.invoke``/``ainvoke`` add over the chosen model.

``router.overhead`` (sync ``invoke``) and ``router.overhead_async`` (``ainvoke``, one call
at a time on one event loop) time, in interleaved rounds against the emulator, three ways
of making the same non-streaming call:

* *chosen model, directly* (the baseline): ``polyvox.openai.ChatOpenAI("gpt-4o-mini")``;
* *Router*: ``polyvox.router.Router`` over three ``ChatOpenAI`` deployments
  (``gpt-4o-mini``, ``gpt-4.1-mini``, ``gpt-4o``) with its defaults (balanced strategy,
  in-memory circuit breakers, statistics, one retry). It picks ``gpt-4o-mini`` every time
  (the cheapest, and the only one with a measured latency once it has answered); the run
  checks that it did;
* *RunnableWithFallbacks*: LangChain's ``model.with_fallbacks([...])`` over the same three
  models, which on success calls only the first.

Each variant has its own model instances (own connection pools), so no variant reuses
another's warm connections. The target is the router's: it adds no more CPU time per call
than ``with_fallbacks`` does (``CPU over fallbacks`` ≤ 0, the difference of the two
variants' median CPU times per call; CPU time, unlike wall-clock time, does not include
waiting to be scheduled on a busy machine). The wall-clock difference is shown beside it.

The routing decision alone (20 deployments) is ``router.decision``
(``benchmarks/router_decision.py``); the fallback switch is ``router.fallback``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from benchmarks.harness import (
    LATENCY_COLUMNS,
    Column,
    Context,
    Row,
    Samples,
    Section,
    Summary,
    Target,
    interleave,
    interleave_async,
    latency_rows,
    latency_setup,
    probe,
    register,
)
from benchmarks.openai_clients import KEY

__all__ = [
    "DIRECT",
    "FALLBACKS",
    "MODELS",
    "ROUTER",
    "chat_model",
    "in_order",
    "router_model",
]

PROMPT = "What is the capital of France?"
MODELS = ("gpt-4o-mini", "gpt-4.1-mini", "gpt-4o")
"""The deployments of the router, the one it picks first."""

DIRECT = "chosen model, directly (baseline)"
ROUTER = "Router"
FALLBACKS = "RunnableWithFallbacks"
VARIANTS = (DIRECT, ROUTER, FALLBACKS)

COLUMNS = [
    *LATENCY_COLUMNS,
    Column("cpu_overhead_us", "CPU overhead µs", lambda v: f"{v:+,.0f}"),
    Column("over_fallbacks_us", "over fallbacks µs", lambda v: f"{v:+,.0f}"),
    Column("cpu_over_fallbacks_us", "CPU over fallbacks µs", lambda v: f"{v:+,.0f}"),
]
"""The latency columns, the difference of the CPU medians (steadier on a busy machine),
and the router's wall-clock and CPU medians minus ``with_fallbacks``'."""

TARGET = Target("cpu_over_fallbacks_us", "<=", 0, "≤ with_fallbacks")


def chat_model(base_url: str, model: str, **kwargs: Any) -> Any:
    """A ``polyvox.openai.ChatOpenAI`` on the emulator, no retries (its own client)."""
    from polyvox.openai import ChatOpenAI

    return ChatOpenAI(model=model, api_key=KEY, base_url=base_url, max_retries=0, **kwargs)


def in_order(candidates: Any, request: Any, stats: Any) -> list[Any]:
    """A user strategy that keeps the deployments in the order given (a fixed chain)."""
    return list(candidates)


def router_model(deployments: list[Any], **kwargs: Any) -> Any:
    """A ``polyvox.router.Router`` over ``deployments``."""
    from polyvox.router import Router

    return Router(deployments, **kwargs)


def _models(base_url: str) -> tuple[Any, Any, Any]:
    """The three variants' runnables, each with its own model instances."""
    direct = chat_model(base_url, MODELS[0])
    router = router_model([chat_model(base_url, m) for m in MODELS])
    first, *rest = (chat_model(base_url, m) for m in MODELS)
    return direct, router, first.with_fallbacks(rest)


def _calls(base_url: str) -> tuple[dict[str, Callable[[], str]], Any]:
    direct, router, fallbacks = _models(base_url)

    def call_direct() -> str:
        return str(direct.invoke(PROMPT).content)

    def call_router() -> str:
        return str(router.invoke(PROMPT).content)

    def call_fallbacks() -> str:
        return str(fallbacks.invoke(PROMPT).content)

    calls = {DIRECT: call_direct, ROUTER: call_router, FALLBACKS: call_fallbacks}
    return calls, router


def _acalls(base_url: str) -> tuple[dict[str, Callable[[], Awaitable[str]]], Any]:
    direct, router, fallbacks = _models(base_url)

    async def call_direct() -> str:
        return str((await direct.ainvoke(PROMPT)).content)

    async def call_router() -> str:
        return str((await router.ainvoke(PROMPT)).content)

    async def call_fallbacks() -> str:
        return str((await fallbacks.ainvoke(PROMPT)).content)

    calls = {DIRECT: call_direct, ROUTER: call_router, FALLBACKS: call_fallbacks}
    return calls, router


def _rows(samples: dict[str, Samples], failures: dict[str, str]) -> list[Row]:
    """The latency rows, with the CPU overheads and the router's difference to fallbacks."""
    rows = latency_rows(samples, DIRECT, {ROUTER: TARGET}, failures, VARIANTS)
    cpu = {name: Summary.of(s.cpu_us()).median for name, s in samples.items()}
    wall = {name: Summary.of(s.wall_us()).median for name, s in samples.items()}
    for row in rows:
        if row.label in cpu and row.label != DIRECT:
            row.values["cpu_overhead_us"] = cpu[row.label] - cpu[DIRECT]
        if row.label == ROUTER and ROUTER in cpu and FALLBACKS in cpu:
            row.values["over_fallbacks_us"] = wall[ROUTER] - wall[FALLBACKS]
            row.values["cpu_over_fallbacks_us"] = cpu[ROUTER] - cpu[FALLBACKS]
    return rows


def _chosen(router: Any) -> str:
    """Which deployments answered the router's calls: ``name N of M`` for each."""
    counts = {name: s.calls for name, s in router.stats.by_deployment().items() if s.calls}
    total = sum(counts.values())
    return ", ".join(f"{name} {n:,} of {total:,}" for name, n in counts.items())


@register(
    "router.overhead",
    "Router.invoke() vs the chosen model directly vs RunnableWithFallbacks",
    network=True,
    order=81,
)
def overhead(ctx: Context) -> Section:
    calls, router = _calls(ctx.openai_base_url())
    replies, failures = probe(calls, DIRECT)
    rounds, warmup = ctx.scale(2000, 300), ctx.scale(100, 30)
    working = {name: call for name, call in calls.items() if name not in failures}
    samples = interleave(working, rounds=rounds, warmup=warmup)
    return _section(ctx, "router.overhead", "invoke()", samples, failures, replies, router)


@register(
    "router.overhead_async",
    "Router.ainvoke() vs the chosen model directly vs RunnableWithFallbacks",
    network=True,
    order=81,
)
def overhead_async(ctx: Context) -> Section:
    calls, router = _acalls(ctx.openai_base_url())

    async def run() -> tuple[dict[str, str], dict[str, str], dict[str, Samples]]:
        replies: dict[str, str] = {}
        failures: dict[str, str] = {}
        for name, call in calls.items():
            try:
                replies[name] = await call()
            except Exception as exc:  # a variant that cannot run gets a FAIL row
                failures[name] = f"{type(exc).__name__}: {exc}"
        working = {name: call for name, call in calls.items() if name not in failures}
        samples = await interleave_async(working, rounds=rounds, warmup=warmup)
        return replies, failures, samples

    rounds, warmup = ctx.scale(2000, 300), ctx.scale(100, 30)
    replies, failures, samples = asyncio.run(run())
    return _section(ctx, "router.overhead_async", "ainvoke()", samples, failures, replies, router)


def _section(
    ctx: Context,
    name: str,
    method: str,
    samples: dict[str, Samples],
    failures: dict[str, str],
    replies: dict[str, str],
    router: Any,
) -> Section:
    rounds = len(next(iter(samples.values())).wall_ns)
    setup = latency_setup(
        ctx,
        what=f"1 user message, echo reply {replies.get(DIRECT)!r}",
        rounds=rounds,
        warmup=ctx.scale(100, 30),
        clients=len(samples),
        baseline="chosen model",
        clients_note=(
            f"{method} one call at a time; every variant has its own polyvox.openai.ChatOpenAI "
            f"instances ({', '.join(MODELS)}; max_retries=0, keep-alive), GC on"
        ),
    )
    return Section(
        name=name,
        title=f"Router.{method} over the model it picks, one call at a time",
        columns=COLUMNS,
        rows=_rows(samples, failures),
        setup=setup,
        notes=[
            "Router: Router([gpt-4o-mini, gpt-4.1-mini, gpt-4o]) with its defaults (balanced "
            "strategy, in-memory breakers, statistics, max_retries=1): per call it reads the "
            "constraints, filters and ranks the 3 deployments, asks the breaker, calls the "
            "model, records the outcome and adds response_metadata['router']",
            f"the router's choices over the run (probe and warm-up included): {_chosen(router)}",
            "RunnableWithFallbacks: gpt-4o-mini.with_fallbacks([gpt-4.1-mini, gpt-4o]); on "
            "success it calls only the first model (its overhead is LangChain's chain run "
            "around the call)",
            "CPU overhead = median CPU time of the variant - the baseline's; over fallbacks = "
            "the router's median minus RunnableWithFallbacks' (wall-clock, and CPU: the "
            "target's, since on a busy machine CPU time moves less than wall-clock time, "
            "which includes waiting to be scheduled)",
            "the routing decision alone, with 20 deployments: router.decision",
        ],
    )
