"""The fallback switch: how long the router takes to move from a failed deployment to the next.

``router.fallback`` makes the first deployment fail fast (the emulator answers every
request for ``gpt-4.1-nano`` with a 500; the models have ``max_retries=0``, the router
``max_retries=0``, so no backoff is waited) and lets the second (``gpt-4o-mini``)
answer. Three variants run in interleaved rounds:

* *direct calls (floor)*: the failing model's ``invoke`` (its exception caught), then the
  second model's ``invoke``, by hand: what any fallback has to do at the least;
* *Router*: ``Router([failing, second])`` in that order (a strategy function that keeps
  the order, so the ranking cannot learn to skip the failing one), its circuit breaker
  threshold out of reach (an open breaker would skip the failing deployment without
  calling it: that is the breaker's job, not the switch being measured);
* *RunnableWithFallbacks*: ``failing.with_fallbacks([second])``.

Two intervals are timed inside every call:

* **switch** (the target's): from the failing model's exception leaving its ``invoke``
  to the second model's ``invoke`` being entered: the fallback machinery alone (the
  router classifies and records the failure, tells the breaker, picks the next
  deployment). The models are ``ChatOpenAI`` subclasses whose ``invoke`` only takes these
  two timestamps;
* **error to next request**: from the failing deployment's error response arriving (an
  httpx response hook) to the second deployment's request leaving (a request hook): the
  switch plus the SDK reading the error and polyvox mapping it, and the second model
  building its request. The floor row times the same two stretches in plain calls, so
  ``over floor`` is what the fallback adds to them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import cache
from typing import Any

from benchmarks.harness import (
    Column,
    Context,
    Row,
    Section,
    Summary,
    Target,
    diff_ci_halfwidth,
    interleave,
    percentile,
    probe,
    register,
)
from benchmarks.harness.emulator import control
from benchmarks.openai_clients import KEY
from benchmarks.router_overhead import in_order, router_model

PROMPT = "What is the capital of France?"
FAILING = "gpt-4.1-nano"
"""The first deployment: every request for this model gets a 500 during the benchmark
(no other benchmark uses it)."""
SECOND = "gpt-4o-mini"
"""The deployment the chain falls back to."""

FLOOR = "direct calls (floor)"
ROUTER = "Router"
FALLBACKS = "RunnableWithFallbacks"
VARIANTS = (FLOOR, ROUTER, FALLBACKS)

SWITCH_P99_TARGET_US = 1000

Event = tuple[str, int, int]
"""``(kind, perf_counter_ns, process_time_ns)``."""

# What one call through a two-deployment chain looks like: the first model is entered, its
# request leaves, its error response arrives, its invoke raises; then the second model.
EXPECTED = ["enter", "request", "response", "raise", "enter", "request", "response"]


class Timeline:
    """Timestamps taken during one call by the models and their httpx hooks."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def clear(self) -> None:
        self.events.clear()

    def mark(self, kind: str) -> None:
        self.events.append((kind, time.perf_counter_ns(), time.process_time_ns()))

    def on_request(self, request: Any) -> None:
        self.mark("request")

    def on_response(self, response: Any) -> None:
        self.mark("response")

    def intervals(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """``(switch, error to next request)``, each as ``(wall ns, CPU ns)``."""
        kinds = [kind for kind, _, _ in self.events]
        if kinds != EXPECTED:
            raise RuntimeError(f"expected the events {EXPECTED}, saw {kinds}")
        _, _, (_, resp_w, resp_c), (_, raise_w, raise_c), (_, enter_w, enter_c), req, _ = (
            self.events
        )
        _, req_w, req_c = req
        return (enter_w - raise_w, enter_c - raise_c), (req_w - resp_w, req_c - resp_c)


TIMELINE = Timeline()
"""The one timeline every model of this benchmark reports to (calls run one at a time)."""


@cache
def _timed_class() -> type[Any]:
    from polyvox.openai import ChatOpenAI

    class TimedChatOpenAI(ChatOpenAI):
        """``ChatOpenAI`` whose ``invoke`` notes when it is entered and when it raises."""

        def invoke(self, input: Any, config: Any = None, *, stop: Any = None, **kwargs: Any) -> Any:
            TIMELINE.mark("enter")
            try:
                return super().invoke(input, config, stop=stop, **kwargs)
            except Exception:
                TIMELINE.mark("raise")
                raise

    return TimedChatOpenAI


def _timed_model(base_url: str, model: str) -> Any:
    """A timed ``ChatOpenAI`` whose SDK client reports each request and response too."""
    import openai

    chat = _timed_class()(model=model, api_key=KEY, base_url=base_url, max_retries=0)
    http = openai.DefaultHttpxClient(
        event_hooks={"request": [TIMELINE.on_request], "response": [TIMELINE.on_response]}
    )
    # The model builds its SDK client on first use; give it one with the hooks instead
    # (same key, URL and retries as the model's own).
    chat._client = openai.OpenAI(api_key=KEY, base_url=base_url, max_retries=0, http_client=http)
    return chat


class Spans:
    """Each variant's intervals, one per call: name → ``[(wall ns, CPU ns), ...]``."""

    def __init__(self) -> None:
        self.switch: dict[str, list[tuple[int, int]]] = {name: [] for name in VARIANTS}
        self.wire: dict[str, list[tuple[int, int]]] = {name: [] for name in VARIANTS}

    def add(self, name: str) -> None:
        switch, wire = TIMELINE.intervals()
        self.switch[name].append(switch)
        self.wire[name].append(wire)

    def drop_first(self, n: int) -> None:
        for spans in (self.switch, self.wire):
            for values in spans.values():
                del values[:n]

    def clear(self) -> None:
        for spans in (self.switch, self.wire):
            for values in spans.values():
                values.clear()


def _calls(base_url: str, spans: Spans) -> tuple[dict[str, Callable[[], str]], Any]:
    from polyvox.router.breaker import BreakerBoard, BreakerConfig

    def pair() -> list[Any]:
        return [_timed_model(base_url, FAILING), _timed_model(base_url, SECOND)]

    failing, second = pair()
    router = router_model(
        pair(),
        strategy=in_order,
        max_retries=0,
        breakers=BreakerBoard(BreakerConfig(failure_threshold=1_000_000_000)),
    )
    first, then = pair()
    chain = first.with_fallbacks([then])

    def call_floor() -> str:
        TIMELINE.clear()
        try:
            failing.invoke(PROMPT)
        except Exception:
            pass
        else:
            raise RuntimeError(f"{FAILING} answered: the emulator's fault is not in place")
        content = str(second.invoke(PROMPT).content)
        spans.add(FLOOR)
        return content

    def through(name: str, runnable: Any) -> Callable[[], str]:
        def call() -> str:
            TIMELINE.clear()
            content = str(runnable.invoke(PROMPT).content)
            spans.add(name)
            return content

        return call

    calls = {
        FLOOR: call_floor,
        ROUTER: through(ROUTER, router),
        FALLBACKS: through(FALLBACKS, chain),
    }
    return calls, router


def _signed(value: float) -> str:
    return f"{value:+,.0f}"


COLUMNS = [
    Column("switch_median_us", "switch median µs", "{:,.1f}"),
    Column("switch_p90_us", "p90 µs", "{:,.1f}"),
    Column("switch_p99_us", "p99 µs", "{:,.1f}"),
    Column("switch_cpu_p99_us", "CPU p99 µs", "{:,.1f}"),
    Column("wire_median_us", "error→next request median µs"),
    Column("wire_p99_us", "p99 µs "),
    Column("wire_over_floor_us", "over floor µs", _signed),
    Column("wire_over_floor_ci_us", "± (95%)", "±{:,.0f}"),
    Column("call_median_us", "whole call median µs"),
]


def _us(values: list[tuple[int, int]], which: int) -> list[float]:
    return sorted(v[which] / 1e3 for v in values)


def _rows(
    spans: Spans, totals: dict[str, Any], target: Target, failures: dict[str, str]
) -> list[Row]:
    floor_wire = Summary.of(_us(spans.wire[FLOOR], 0))
    rows = []
    for name in VARIANTS:
        checked = target if name == ROUTER else None
        if name in failures:
            rows.append(Row(name, {}, checked, error=failures[name]))
            continue
        switch = _us(spans.switch[name], 0)
        switch_cpu = _us(spans.switch[name], 1)
        wire = Summary.of(_us(spans.wire[name], 0))
        is_floor = name == FLOOR
        values: dict[str, float | int | str | None] = {
            "n": len(switch),
            "switch_median_us": percentile(switch, 50),
            "switch_p90_us": percentile(switch, 90),
            "switch_p99_us": percentile(switch, 99),
            "switch_cpu_p99_us": percentile(switch_cpu, 99),
            "wire_median_us": wire.median,
            "wire_p99_us": percentile(_us(spans.wire[name], 0), 99),
            "wire_over_floor_us": None if is_floor else wire.median - floor_wire.median,
            "wire_over_floor_ci_us": None if is_floor else diff_ci_halfwidth(wire, floor_wire),
            "call_median_us": Summary.of(totals[name].wall_us()).median,
        }
        rows.append(Row(name, values, checked))
    return rows


@register(
    "router.fallback",
    "fallback switch time (no backoff): Router vs RunnableWithFallbacks",
    network=True,
    order=82,
)
def fallback(ctx: Context) -> Section:
    root = ctx.emulator_url()
    spans = Spans()
    calls, router = _calls(ctx.openai_base_url(), spans)
    control(root, "fail", {"fault": {"status": 500}, "times": None, "model": FAILING})
    try:
        replies, failures = probe(calls, FLOOR)
        attempts = None
        if ROUTER not in failures:
            meta = router.invoke(PROMPT).response_metadata["router"]
            attempts = [(a["deployment"], a["outcome"]) for a in meta["attempts"]]
        rounds, warmup = ctx.scale(2000, 300), ctx.scale(100, 30)
        working = {name: call for name, call in calls.items() if name not in failures}
        spans.clear()
        totals = interleave(working, rounds=rounds, warmup=warmup)
    finally:
        control(root, "reset", {})  # the fault off, the request log emptied
    spans.drop_first(warmup)  # interleave's warm-up rounds were timed here too
    target = Target("switch_p99_us", "<=", SWITCH_P99_TARGET_US, "p99 ≤ 1,000 µs")
    failing_name, second_name = (d.name for d in router.deployments)
    failed = router.stats.get(failing_name).failures
    answered = router.stats.get(second_name).successes
    breaker = router.breakers.state(failing_name).value
    return Section(
        name="router.fallback",
        title="fallback from a deployment that fails fast (500) to the next, no backoff",
        columns=COLUMNS,
        rows=_rows(spans, totals, target, failures),
        setup=[
            f"1 user message; {FAILING} answers every request with a 500 (emulator fault), "
            f"{SECOND} with the echo {replies[FLOOR]!r}",
            f"{rounds:,} rounds x {len(working)} variants after {warmup} warm-up rounds, "
            "round-robin in rotating order; sync invoke(), GC on",
            "every model: polyvox.openai.ChatOpenAI (invoke timed at entry and on raising), "
            "max_retries=0, its own keep-alive client; Router(max_retries=0, a strategy keeping "
            "the given order, breaker threshold out of reach); RunnableWithFallbacks: "
            "failing.with_fallbacks([second])",
            ctx.server_note,
            "switch = from the failing model's invoke raising to the second model's invoke "
            "being entered; error→next request = from the error response arriving (httpx hook) "
            "to the second request leaving (httpx hook); floor = both in plain calls by hand; "
            "CPU = this process's CPU time over the switch",
            "over floor = median(error→next request) - median(floor's), ± an approximate 95% "
            "interval; whole call = the complete operation, both HTTP exchanges included",
        ],
        notes=[
            f"the router's attempts in one call: {attempts}",
            f"router statistics after the run: {failing_name} {failed:,} failures (breaker "
            f"{breaker}, its threshold out of reach as set), {second_name} {answered:,} "
            "successes",
            "a wall-clock p99 includes any time the process was not scheduled (a busy machine); "
            "the CPU column does not",
            "with the default breaker (5 failures within 60 s) the router stops calling a "
            "deployment that keeps failing, and a call then pays no failed exchange at all",
        ],
    )
