"""A burst onto a dead deployment: how many of 200 concurrent requests reach it.

``router.burst`` puts a dead deployment first (the emulator answers every request for
``gpt-4.1-nano`` with a 500, a strategy function keeps the order) and a healthy one second,
with breakers at their default threshold (5), and sends 200 requests at once: from 200
threads (``invoke``) and from 200 asyncio tasks (``ainvoke``), on a fresh router and on one
whose first deployment has just failed once. It counts the requests the emulator saw for
the dead deployment with the router's admission limit off (``probation_max_in_flight=None``:
every call that passed the breaker is sent, as before the limit existed) and at its default
(2 calls in flight once it failed). Every request must still be answered.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from benchmarks.harness import Column, Context, Row, Section, register
from benchmarks.harness.emulator import control, request_log

DEAD = "gpt-4.1-nano"
HEALTHY = "gpt-4o-mini"
BURST = 200
SETTINGS: dict[str, dict[str, Any]] = {
    "limit off (before)": {"probation_max_in_flight": None},
    "default (after)": {},
}


def _dead_requests(root: str) -> int:
    return sum(1 for r in request_log(root) if (r.get("json") or {}).get("model") == DEAD)


def _router(base_url: str, settings: dict[str, Any]) -> Any:
    from polyvox.openai import ChatOpenAI
    from polyvox.router import Router

    def model(name: str) -> ChatOpenAI:
        return ChatOpenAI(model=name, api_key="k", base_url=base_url, max_retries=0, timeout=30)

    def keep_order(candidates: Any, request: Any, stats: Any) -> list[Any]:
        return list(candidates)

    return Router([model(DEAD), model(HEALTHY)], strategy=keep_order, max_retries=0, **settings)


def _fail_once(router: Any) -> None:
    """One call meets the dead deployment first (its 500 puts it on probation)."""
    router.invoke("the first call")


def _threads(router: Any) -> int:
    with ThreadPoolExecutor(BURST) as pool:
        answers = list(pool.map(lambda i: router.invoke(f"question {i}"), range(BURST)))
    return sum(1 for a in answers if a.content)


def _tasks(router: Any) -> int:
    async def burst() -> list[Any]:
        return await asyncio.gather(*(router.ainvoke(f"question {i}") for i in range(BURST)))

    return sum(1 for a in asyncio.run(burst()) if a.content)


@register(
    "router.burst",
    "requests reaching a dead deployment under 200-way concurrency",
    network=True,
    order=83,
)
def burst(ctx: Context) -> Section:
    root, base_url = ctx.emulator_url(), ctx.openai_base_url()
    rounds = ctx.scale(3, 1)
    rows = []
    for label, settings in SETTINGS.items():
        values: dict[str, float | int | str | None] = {}
        for how, run, warm in (
            ("threads", _threads, False),
            ("tasks", _tasks, False),
            ("warm_threads", _threads, True),
            ("warm_tasks", _tasks, True),
        ):
            reached, answered = [], []
            for _ in range(rounds):
                control(root, "reset", {})
                control(root, "fail", {"fault": {"status": 500}, "times": None, "model": DEAD})
                router = _router(base_url, settings)
                if warm:
                    _fail_once(router)
                before = _dead_requests(root)
                answered.append(run(router))
                reached.append(_dead_requests(root) - before)
            values[f"{how}_dead"] = max(reached)
            values[f"{how}_answered"] = min(answered)
        rows.append(Row(label, values))
    control(root, "reset", {})
    return Section(
        name="router.burst",
        title=f"{BURST} concurrent requests, a dead deployment ranked first",
        columns=[
            Column("threads_dead", "fresh, threads: to dead", "{:,}"),
            Column("tasks_dead", "fresh, asyncio: to dead", "{:,}"),
            Column("warm_threads_dead", "after a failure, threads", "{:,}"),
            Column("warm_tasks_dead", "after a failure, asyncio", "{:,}"),
            Column("tasks_answered", "answered (min)", "{:,}"),
        ],
        rows=rows,
        setup=[
            f"Router([{DEAD} (500 on every request), {HEALTHY}]), order kept, max_retries=0, "
            "breaker threshold 5 (the default); a fresh router each round",
            f"{rounds} round(s) per cell (the most that reached the dead deployment is shown): "
            f"{BURST} threads calling invoke, or {BURST} asyncio tasks calling ainvoke at once; "
            "'after a failure': one call met the dead deployment just before the burst",
        ],
        notes=[
            "without the limit, every call that passed the breaker before the failures came "
            "back was sent to the dead deployment",
            "a fresh router knows nothing of the deployment until its first failure comes "
            "back: an asyncio burst sends every call before that, limit or not",
        ],
    )
