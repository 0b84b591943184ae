"""Cost tracking on the call path: what ``CostCallbackHandler`` adds to a model call.

``costs.handler`` times ``polyvox.openai.ChatOpenAI.invoke`` against the emulator in
interleaved rounds of four variants of the same call:

* *no callbacks* (tracking off, the baseline): ``model.invoke(x)``. Nothing observes the
  run, so polyvox takes its direct path and skips LangChain's run machinery
  (``polyvox.core.invocation``);
* *CostCallbackHandler* (tracking on): the same with
  ``config={"callbacks": [CostCallbackHandler(Ledger(<temporary SQLite file>))]}``. The
  handler is polyvox's own, so the call keeps the direct path and polyvox sends the
  handler its start and end events itself;
* *CostCallbackHandler, LangChain's path*: the same handler through an unregistered
  subclass, which any handler polyvox does not know gets: LangChain's callback manager,
  run and events, then the handler's work. This is what tracking cost before the direct
  path took the handler;
* *no-op handler*: a ``BaseCallbackHandler`` (``run_inline=True``) whose methods do
  nothing, on LangChain's path: the floor of every other handler.

The target (at most +60 µs) is tracking on vs tracking off. The handler's own work is the
full-path handler vs the no-op handler (both receive the same events there), and
``costs.handler_calls`` below.

``costs.handler_calls`` calls the handler's two methods directly, with the arguments
LangChain passed in a real call (captured once from the emulator), in a tight loop.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.harness import (
    Column,
    Context,
    Row,
    Samples,
    Section,
    Summary,
    Target,
    diff_ci_halfwidth,
    interleave,
    register,
)
from benchmarks.openai_clients import polyvox_model

PROMPT = "What is the capital of France?"

NO_CALLBACKS = "no callbacks (tracking off)"
HANDLER = "CostCallbackHandler (tracking on)"
HANDLER_FULL = "CostCallbackHandler, LangChain's path"
NOOP = "no-op handler, LangChain's path"
VARIANTS = (NO_CALLBACKS, HANDLER, HANDLER_FULL, NOOP)

TRACKING_TARGET_US = 60


def _signed(value: float) -> str:
    return f"{value:+,.1f}"


def noop_handler() -> Any:
    """A callback handler that receives every event of a model run and does nothing.

    It overrides ``on_chat_model_start`` (``BaseCallbackHandler``'s raises
    ``NotImplementedError``, which makes LangChain fall back to ``on_llm_start`` with the
    messages formatted as text: work that a real chat handler does not cause).
    """
    from langchain_core.callbacks import BaseCallbackHandler

    class NoopHandler(BaseCallbackHandler):
        run_inline = True

        def on_chat_model_start(self, *args: Any, **kwargs: Any) -> None:
            return None

        def on_llm_end(self, *args: Any, **kwargs: Any) -> None:
            return None

    return NoopHandler()


def full_path_handler(ledger: Any) -> Any:
    """A ``CostCallbackHandler`` that takes LangChain's path, as an unknown handler does.

    The direct path takes only the exact classes registered with
    ``polyvox.core.invocation.direct_handler``; a subclass is not one of them.
    """
    from polyvox.costs.tracking import CostCallbackHandler

    class FullPathCostHandler(CostCallbackHandler):
        pass

    return FullPathCostHandler(ledger)


class _NullLedger:
    """Takes records and drops them: the handler's own work, without the ledger's.

    A deferred record (``record_later``) is built here, on the caller's thread, so this
    variant still counts the pricing and the record that a real ledger makes on its writer
    thread: the whole of the handler's work, wherever it runs.
    """

    def record(self, record: object) -> None:
        return None

    def record_later(self, build: Callable[[], object]) -> None:
        build()


# costs.handler: end to end ----------------------------------------------------------------


HANDLER_COLUMNS = [
    Column("median_us", "median µs"),
    Column("p90_us", "p90 µs"),
    Column("cpu_us", "CPU µs"),
    Column("vs_base_us", "vs tracking off µs", _signed),
    Column("vs_base_ci_us", "± (95%)", "±{:,.1f}"),
    Column("vs_noop_us", "vs no-op handler µs", _signed),
    Column("vs_noop_ci_us", "± (95%) ", "±{:,.1f}"),
]


def handler_rows(samples: dict[str, Samples], target: Target) -> list[Row]:
    """One row per variant: its latency and its overhead over both references."""
    wall = {name: Summary.of(s.wall_us()) for name, s in samples.items()}
    base, noop = wall[NO_CALLBACKS], wall[NOOP]
    rows = []
    for name in VARIANTS:
        w = wall[name]
        values: dict[str, float | int | str | None] = {
            "n": w.n,
            "median_us": w.median,
            "p90_us": w.p90,
            "cpu_us": Summary.of(samples[name].cpu_us()).median,
            "vs_base_us": None if name == NO_CALLBACKS else w.median - base.median,
            "vs_base_ci_us": None if name == NO_CALLBACKS else diff_ci_halfwidth(w, base),
            "vs_noop_us": None if name != HANDLER_FULL else w.median - noop.median,
            "vs_noop_ci_us": None if name != HANDLER_FULL else diff_ci_halfwidth(w, noop),
        }
        rows.append(Row(name, values, target if name == HANDLER else None))
    return rows


@register(
    "costs.handler",
    "CostCallbackHandler: overhead per invoke() over no callbacks (and on LangChain's path)",
    network=True,
    order=70,
)
def handler(ctx: Context) -> Section:
    from polyvox.costs.ledger import Ledger
    from polyvox.costs.tracking import CostCallbackHandler

    base_url = ctx.openai_base_url()
    model = polyvox_model(base_url)
    noop = noop_handler()
    with tempfile.TemporaryDirectory(prefix="polyvox-bench-") as tmp:
        ledger = Ledger(f"sqlite:///{Path(tmp) / 'ledger.sqlite3'}", spill_path=Path(tmp) / "spill")
        try:
            cost_config: dict[str, Any] = {"callbacks": [CostCallbackHandler(ledger)]}
            full_config: dict[str, Any] = {"callbacks": [full_path_handler(ledger)]}
            noop_config: dict[str, Any] = {"callbacks": [noop]}

            def call_plain() -> str:
                return str(model.invoke(PROMPT).content)

            def call_handler() -> str:
                return str(model.invoke(PROMPT, config=cost_config).content)

            def call_full() -> str:
                return str(model.invoke(PROMPT, config=full_config).content)

            def call_noop() -> str:
                return str(model.invoke(PROMPT, config=noop_config).content)

            calls: dict[str, Callable[[], str]] = {
                NO_CALLBACKS: call_plain,
                HANDLER: call_handler,
                HANDLER_FULL: call_full,
                NOOP: call_noop,
            }
            replies = {name: call() for name, call in calls.items()}  # untimed probe
            if len(set(replies.values())) != 1:
                raise RuntimeError(f"the variants got different replies: {replies}")
            reply = replies[NO_CALLBACKS]
            rounds, warmup = ctx.scale(2000, 300), ctx.scale(100, 30)
            samples = interleave(calls, rounds=rounds, warmup=warmup)
            expected = 2 * (1 + warmup + rounds)
            flushed = ledger.flush(timeout=60)
            stats = ledger.stats()
            recorded = stats.calls
            cost = stats.cost
            currency = stats.currency
        finally:
            ledger.close()
    target = Target(
        "vs_base_us", "<=", TRACKING_TARGET_US, f"≤ +{TRACKING_TARGET_US} µs vs tracking off"
    )
    check = "" if (flushed and recorded == expected) else " — MISMATCH"
    return Section(
        name="costs.handler",
        title="CostCallbackHandler on polyvox.openai.ChatOpenAI.invoke(), one call at a time",
        columns=HANDLER_COLUMNS,
        rows=handler_rows(samples, target),
        setup=[
            f"1 user message to gpt-4o-mini, echo reply {reply!r}; one polyvox model, "
            "max_retries=0, GC on",
            f"{rounds:,} rounds x {len(VARIANTS)} variants after {warmup} warm-up rounds, "
            "round-robin in rotating order",
            "variants: invoke(x) | invoke(x, config={'callbacks': [CostCallbackHandler(Ledger("
            "temporary SQLite file))]}) | the same handler as an unregistered subclass "
            "(LangChain's path) | a no-op handler (LangChain's path)",
            ctx.server_note,
            "vs X = median(variant) - median(X), ± an approximate 95% interval; CPU = this "
            "process's CPU time per call (median), the ledger's writer thread included",
        ],
        notes=[
            "the target is what switching tracking on costs: CostCallbackHandler vs no "
            "callbacks. polyvox knows its own handler, so the call keeps the direct path "
            "(polyvox.core.invocation) and polyvox sends the handler its events",
            "LangChain's path (information): any other handler turns on LangChain's run "
            "machinery; the handler there vs the no-op handler is the handler's own work, "
            "the no-op handler vs no callbacks the machinery",
            f"ledger check: {recorded:,} records written for {expected:,} handler calls "
            f"(flush {'ok' if flushed else 'timed out'}), total {cost} {currency}{check}",
        ],
    )


# costs.handler_calls: the handler's methods alone --------------------------------------------


def capture_events(base_url: str) -> tuple[tuple[Any, ...], dict[str, Any], Any, dict[str, Any]]:
    """One real call's ``on_chat_model_start`` and ``on_llm_end`` arguments.

    Returns:
        ``(start args, start kwargs, LLMResult, end kwargs)``, run ids removed.
    """
    from langchain_core.callbacks import BaseCallbackHandler

    seen: dict[str, Any] = {}

    class Capture(BaseCallbackHandler):
        run_inline = True

        def on_chat_model_start(self, *args: Any, **kwargs: Any) -> None:
            seen["start"] = (args, kwargs)

        def on_llm_end(self, response: Any, **kwargs: Any) -> None:
            seen["end"] = (response, kwargs)

    polyvox_model(base_url).invoke(PROMPT, config={"callbacks": [Capture()]})
    start_args, start_kwargs = seen["start"]
    response, end_kwargs = seen["end"]
    start_kwargs = {k: v for k, v in start_kwargs.items() if k != "run_id"}
    end_kwargs = {k: v for k, v in end_kwargs.items() if k != "run_id"}
    return start_args, start_kwargs, response, end_kwargs


METHOD_COLUMNS = [
    Column("median_us", "median µs/call", "{:,.1f}"),
    Column("p90_us", "p90 µs/call", "{:,.1f}"),
    Column("cpu_us", "CPU µs/call", "{:,.1f}"),
    Column("over_floor_us", "over no-op µs", _signed),
]

NOOP_METHODS = "no-op handler"
NULL_LEDGER = "CostCallbackHandler, null ledger"
SQLITE_LEDGER = "CostCallbackHandler, SQLite ledger"


@register(
    "costs.handler_calls",
    "CostCallbackHandler's on_chat_model_start + on_llm_end called directly, µs per call",
    network=True,
    order=71,
)
def handler_calls(ctx: Context) -> Section:
    from polyvox.costs.ledger import Ledger
    from polyvox.costs.tracking import CostCallbackHandler

    start_args, start_kwargs, response, end_kwargs = capture_events(ctx.openai_base_url())
    per_sample = 200
    new_id = uuid.uuid4

    def pairs(handler: Any) -> Callable[[], None]:
        start, end = handler.on_chat_model_start, handler.on_llm_end

        def run() -> None:
            for _ in range(per_sample):
                run_id = new_id()
                start(*start_args, run_id=run_id, **start_kwargs)
                end(response, run_id=run_id, **end_kwargs)

        return run

    with tempfile.TemporaryDirectory(prefix="polyvox-bench-") as tmp:
        ledger = Ledger(f"sqlite:///{Path(tmp) / 'ledger.sqlite3'}", spill_path=Path(tmp) / "spill")
        try:
            null_handler = CostCallbackHandler(_NullLedger())  # type: ignore[arg-type]
            sqlite_handler = CostCallbackHandler(ledger)
            calls = {
                NOOP_METHODS: pairs(noop_handler()),
                NULL_LEDGER: pairs(null_handler),
                SQLITE_LEDGER: pairs(sqlite_handler),
            }
            rounds, warmup = ctx.scale(300, 60), ctx.scale(10, 3)
            samples = interleave(calls, rounds=rounds, warmup=warmup)
            flushed = ledger.flush(timeout=120)
            recorded = ledger.stats().calls
            expected = (warmup + rounds) * per_sample
            priced = next(iter(ledger.records(limit=1)), None) if recorded else None
        finally:
            ledger.close()

    summaries = {
        name: (
            Summary.of([us / per_sample for us in s.wall_us()]),
            Summary.of([us / per_sample for us in s.cpu_us()]),
        )
        for name, s in samples.items()
    }
    floor = summaries[NOOP_METHODS][0].median
    rows = []
    for name, (wall, cpu) in summaries.items():
        rows.append(
            Row(
                name,
                {
                    "n": wall.n,
                    "median_us": wall.median,
                    "p90_us": wall.p90,
                    "cpu_us": cpu.median,
                    "over_floor_us": None if name == NOOP_METHODS else wall.median - floor,
                },
            )
        )
    messages = start_args[1] if len(start_args) > 1 else []
    cost = f"{priced.cost} {priced.currency}" if priced is not None else "none"
    return Section(
        name="costs.handler_calls",
        title="CostCallbackHandler's methods alone: on_chat_model_start + on_llm_end per call",
        columns=METHOD_COLUMNS,
        rows=rows,
        setup=[
            "the arguments LangChain passed in one real invoke() against the emulator "
            f"({sum(len(m) for m in messages)} message, metadata keys "
            f"{sorted(start_kwargs.get('metadata') or {})}; an LLMResult holding the "
            "AIMessage with usage), a fresh run id per call",
            f"{rounds} samples x {per_sample} calls per variant after {warmup} warm-up "
            "samples, interleaved in rotating order; µs per call = sample / "
            f"{per_sample}",
            "one call = uuid4() + on_chat_model_start(...) + on_llm_end(...); "
            "CPU includes the ledger's writer thread",
        ],
        notes=[
            "no-op handler: the two method calls and the run id (the floor)",
            "a tight loop keeps the code and data in the CPU caches: inside real invoke() "
            "calls the same two methods take about twice as long (docs/performance.md, "
            "Cost tracking), so costs.handler is the figure a call pays",
            "null ledger: all of the handler's work (attribution, catalog price, CallRecord), "
            "done in the caller's thread; SQLite ledger: what the call path pays (attribution "
            "and an enqueue: the price and the record are made on the writer thread, in "
            "batches) plus, amortised, that thread's work competing for the GIL",
            f"ledger check: {recorded:,} records written for {expected:,} calls "
            f"(flush {'ok' if flushed else 'timed out'}); each priced {cost}",
        ],
    )
