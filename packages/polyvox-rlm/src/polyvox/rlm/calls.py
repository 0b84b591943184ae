"""One run's shared state (limits, accounting) and how every model call of it is made.

Every model call of a run, at every depth, goes through :func:`call_model`: as a child run
of the RLM's own LangChain run (callbacks propagated, so cost handlers and tracers see it),
with the run's metadata extended by ``rlm_depth`` and ``rlm_call``, and with a fresh
``run_id`` that is kept on the :class:`~polyvox.rlm.trajectory.SubCall` (the ledger's
``run_id`` of the same call). Its usage is counted once in the run's
:class:`~polyvox.rlm.accounting.Accountant`.

The token and cost limits are checked twice per call. Before it is sent, its prompt is
estimated (:func:`polyvox.costs.tracking.estimate.estimate_tokens`, about three characters a
token, so it errs high; priced from the catalog) and the estimate is *held* until the call
ends: a call whose estimate, added to the usage so far and to the estimates held by calls in
flight, passes a limit is not sent. After it ends, its real usage replaces the estimate.
Either way a limit passed *trips* the run: the next call (or the loop, after the current
code block) raises the limit's error. So a run passes a limit by at most what the calls
already in flight add beyond their prompt estimates (their output, mostly), and those are
at most ``subcall_concurrency`` per running RLM.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.config import patch_config

from polyvox.core.usage import make_usage
from polyvox.costs.tracking.estimate import estimate_tokens
from polyvox.rlm.accounting import Accountant, UsageTotals, model_identity, price_usage
from polyvox.rlm.errors import (
    CostLimitError,
    LiveSandboxLimitError,
    RLMLimitError,
    TimeLimitError,
    TokenLimitError,
)
from polyvox.rlm.trajectory import CallKind, SubCall

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from polyvox.costs.catalog import ModelCatalog

__all__ = ["PREVIEW_CHARS", "RunState", "call_model"]

PREVIEW_CHARS = 500
"""Characters of a prompt and a response kept on a :class:`SubCall` for the viewer."""

_IN_FLIGHT_NOTE = (
    "calls already in flight when a limit is reached still finish and count in full, so the "
    "total can pass the limit by their output"
)


class RunState:
    """What every depth of one run shares: its account, its limits and whether one tripped."""

    def __init__(
        self,
        *,
        max_time_s: float | None,
        max_tokens: int | None,
        max_cost_usd: Decimal | None,
        catalog: ModelCatalog | None = None,
        max_live_sandboxes: int | None = None,
    ) -> None:
        """Start the run's clock.

        Args:
            max_time_s: Wall-clock limit of the whole run.
            max_tokens: Token limit of the whole call tree.
            max_cost_usd: Cost limit of the whole call tree (priced calls only).
            catalog: Where prices come from.
            max_live_sandboxes: Most REPL processes of the run alive at once (``None``: no
                limit).
        """
        self.accountant = Accountant()
        """The run's usage."""
        self.catalog = catalog
        """Where prices come from (the default catalog when ``None``)."""
        self.max_time_s = max_time_s
        """Wall-clock limit."""
        self.max_tokens = max_tokens
        """Token limit."""
        self.max_cost_usd = max_cost_usd
        """Cost limit."""
        self.started = time.monotonic()
        """When the run started (monotonic clock)."""
        self.tripped: RLMLimitError | None = None
        """The first limit passed, if any."""
        self.max_live_sandboxes = max_live_sandboxes
        """Most REPL processes alive at once."""
        self.live_sandboxes = 0
        """REPL processes of the run alive now (the root's included)."""
        self.held_tokens = 0
        """Estimated prompt tokens of the calls in flight (see :meth:`admit`)."""
        self.held_cost_usd = Decimal(0)
        """Estimated prompt cost (USD) of the calls in flight."""

    def elapsed(self) -> float:
        """Seconds since the run started."""
        return time.monotonic() - self.started

    def remaining_time(self) -> float | None:
        """Seconds left before the time limit (``None`` without one)."""
        if self.max_time_s is None:
            return None
        return self.max_time_s - self.elapsed()

    def time_error(self) -> TimeLimitError:
        """The error for a run out of time."""
        return TimeLimitError(
            f"the run took more than max_time_s={self.max_time_s} seconds",
            limit=self.max_time_s,
            used=round(self.elapsed(), 3),
        )

    def check(self) -> None:
        """Raise the tripped limit's error, or a time error when time is up.

        Raises:
            RLMLimitError: A limit was passed.
        """
        if self.tripped is None:
            remaining = self.remaining_time()
            if remaining is not None and remaining <= 0:
                self.tripped = self.time_error()
        if self.tripped is not None:
            raise self.tripped

    def open_sandbox(self, depth: int) -> None:
        """Count a REPL about to start, or refuse it past :attr:`max_live_sandboxes`.

        Args:
            depth: The depth of the RLM the REPL is for.

        Raises:
            LiveSandboxLimitError: The run already has its most REPLs alive.
        """
        limit = self.max_live_sandboxes
        if limit is not None and self.live_sandboxes >= limit:
            raise LiveSandboxLimitError(
                f"no child RLM was started at depth {depth}: this run already has "
                f"{self.live_sandboxes} REPL sandboxes running (max_live_sandboxes={limit}); "
                "answer this part with llm_query, or wait until a running rlm_query returns"
            )
        self.live_sandboxes += 1

    def close_sandbox(self) -> None:
        """Count a REPL that stopped (or failed to start) after :meth:`open_sandbox`."""
        self.live_sandboxes -= 1

    def admit(self, model: BaseChatModel, messages: Sequence[BaseMessage]) -> tuple[int, Decimal]:
        """Hold a call's estimated prompt tokens and cost, or trip the limit it would pass.

        There is no ``await`` between the check and the hold, so concurrent calls of the
        run's event loop cannot all slip under the same remaining budget.

        Args:
            model: The model about to be called.
            messages: Its prompt.

        Returns:
            The estimate held, ``(tokens, cost_usd)``; give it to :meth:`count` (or
            :meth:`release`) when the call ends.

        Raises:
            RLMLimitError: The estimate would pass the token or cost limit (the run is
                tripped), or a limit was passed already.
        """
        self.check()
        if self.max_tokens is None and self.max_cost_usd is None:
            return 0, Decimal(0)
        tokens = estimate_tokens(messages)
        cost = Decimal(0)
        if self.max_cost_usd is not None:
            provider, name = model_identity(model)
            cost = price_usage(make_usage(tokens, 0), provider, name, self.catalog)[2] or cost
        totals = self.accountant.totals()
        if self.max_tokens is not None:
            projected = totals.total_tokens + self.held_tokens + tokens
            if projected > self.max_tokens:
                self.tripped = TokenLimitError(
                    f"the next call was not sent: its prompt (about {tokens} tokens, estimated "
                    f"high) would take the call tree to {projected} tokens, over max_tokens="
                    f"{self.max_tokens} ({totals.total_tokens} used, {self.held_tokens} held "
                    f"by calls in flight); {_IN_FLIGHT_NOTE}",
                    limit=self.max_tokens,
                    used=totals.total_tokens,
                )
        if self.tripped is None and self.max_cost_usd is not None:
            projected_cost = totals.cost_usd + self.held_cost_usd + cost
            if projected_cost > self.max_cost_usd:
                self.tripped = CostLimitError(
                    f"the next call was not sent: its prompt (about {cost} USD, estimated) would "
                    f"take the call tree to {projected_cost} USD, over max_cost_usd="
                    f"{self.max_cost_usd} ({totals.cost_usd} spent, {self.held_cost_usd} held "
                    f"by calls in flight); {_IN_FLIGHT_NOTE}",
                    limit=self.max_cost_usd,
                    used=totals.cost_usd,
                )
        if self.tripped is not None:
            raise self.tripped
        self.held_tokens += tokens
        self.held_cost_usd += cost
        return tokens, cost

    def release(self, held: tuple[int, Decimal]) -> None:
        """Give back an estimate held by :meth:`admit`.

        Args:
            held: What :meth:`admit` returned.
        """
        self.held_tokens -= held[0]
        self.held_cost_usd -= held[1]

    def count(self, call: SubCall, held: tuple[int, Decimal] = (0, Decimal(0))) -> None:
        """Count a finished call and trip the token or cost limit it passes.

        Args:
            call: The call.
            held: The estimate :meth:`admit` held for it, released now.
        """
        self.release(held)
        totals = self.accountant.add(call)
        if self.tripped is None:
            self.tripped = self._limit_passed(totals)

    def _limit_passed(self, totals: UsageTotals) -> RLMLimitError | None:
        if self.max_tokens is not None and totals.total_tokens > self.max_tokens:
            return TokenLimitError(
                f"the call tree used {totals.total_tokens} tokens, over max_tokens="
                f"{self.max_tokens}; {_IN_FLIGHT_NOTE}",
                limit=self.max_tokens,
                used=totals.total_tokens,
            )
        if self.max_cost_usd is not None and totals.cost_usd > self.max_cost_usd:
            return CostLimitError(
                f"the call tree cost {totals.cost_usd} USD, over max_cost_usd="
                f"{self.max_cost_usd}; {_IN_FLIGHT_NOTE}",
                limit=self.max_cost_usd,
                used=totals.cost_usd,
            )
        return None


async def call_model(
    state: RunState,
    model: BaseChatModel,
    messages: Sequence[BaseMessage],
    *,
    kind: CallKind,
    depth: int,
    config: RunnableConfig,
    sink: list[SubCall] | None = None,
) -> tuple[str, SubCall]:
    """Call a model as a child run of the RLM's run, and count the call.

    Args:
        state: The run's shared state.
        model: The chat model.
        messages: The prompt.
        kind: What the call is for.
        depth: The call's depth (metadata ``rlm_depth``).
        config: The config of the RLM run at this depth (its callbacks are the run's children).
        sink: Where the call's record is appended (before an error is re-raised too).

    Returns:
        The reply's text and the call's record.

    Raises:
        RLMLimitError: A limit was already passed, the prompt's estimate would pass the token
            or cost limit (the call is not sent), or time ran out during the call.
        Exception: Whatever the model raised.
    """
    held = state.admit(model, messages)
    run_id = uuid.uuid4()
    metadata = {**(config.get("metadata") or {}), "rlm_depth": depth, "rlm_call": kind}
    call_config = patch_config(config, run_name=f"rlm_{kind}")
    call_config["metadata"] = metadata
    call_config["run_id"] = run_id
    prompt_chars = sum(len(m.text) for m in messages)
    preview = messages[-1].text[:PREVIEW_CHARS] if messages else ""
    started = time.perf_counter()
    try:
        async with asyncio.timeout(state.remaining_time()):
            reply = await model.ainvoke(list(messages), call_config)
    except BaseException as exc:
        provider, name = model_identity(model)
        cost, currency, cost_usd = price_usage(None, provider, name, state.catalog)
        failed = SubCall(
            kind=kind,
            depth=depth,
            model=name,
            provider=provider,
            prompt_chars=prompt_chars,
            cost=cost,
            currency=currency,
            cost_usd=cost_usd,
            latency_s=time.perf_counter() - started,
            prompt_preview=preview,
            error=f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__,
            run_id=str(run_id),
        )
        if sink is not None:
            sink.append(failed)
        state.count(failed, held)
        remaining = state.remaining_time()
        if (
            isinstance(exc, TimeoutError)
            and remaining is not None
            and remaining <= 0.05
            and state.tripped is None
        ):
            state.tripped = state.time_error()
            raise state.tripped from exc
        raise
    if not isinstance(reply, AIMessage):  # pragma: no cover - chat models return AIMessage
        state.release(held)
        raise TypeError(f"{type(model).__name__} returned {type(reply).__name__}, not AIMessage")
    text = reply.text
    provider, name = model_identity(model, reply)
    usage = reply.usage_metadata
    cost, currency, cost_usd = price_usage(usage, provider, name, state.catalog)
    call = SubCall(
        kind=kind,
        depth=depth,
        model=name,
        provider=provider,
        prompt_chars=prompt_chars,
        response_chars=len(text),
        input_tokens=int(usage["input_tokens"]) if usage else 0,
        output_tokens=int(usage["output_tokens"]) if usage else 0,
        cost=cost,
        currency=currency,
        cost_usd=cost_usd,
        latency_s=time.perf_counter() - started,
        prompt_preview=preview,
        response_preview=text[:PREVIEW_CHARS],
        run_id=str(run_id),
    )
    if sink is not None:
        sink.append(call)
    state.count(call, held)
    return text, call
