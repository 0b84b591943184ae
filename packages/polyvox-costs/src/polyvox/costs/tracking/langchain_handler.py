"""``CostCallbackHandler``: every LangChain model call, priced, into the ledger.

Attach it like any callback (``config={"callbacks": [handler]}``, or on a model with
``callbacks=[handler]``); it records chat and text-LLM calls, invoke and stream, sync and
async, successes and failures, with the run's attribution. It runs inline (no thread hop)
and only enqueues a record. A polyvox ``LLM`` adapter's outer run is not recorded when its
inner chat call was, so nothing is counted twice.

A budget refusal reaches the caller as the call's exception. langchain-core's callback
manager also logs every exception a handler raises (``Error in CostCallbackHandler...``);
for a refusal that line only repeats the exception, so a filter on its logger drops it for
the exceptions this handler marked as refusals, and for nothing else.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, LLMResult

from polyvox.core.invocation import direct_handler
from polyvox.costs.tracking.attribution import Attribution, attribution_from
from polyvox.costs.tracking.recorder import CallRecorder

if TYPE_CHECKING:
    from polyvox.costs.catalog import ModelCatalog
    from polyvox.costs.ledger import BudgetGuard, Ledger, Reservation

__all__ = ["CostCallbackHandler"]

logger = logging.getLogger("polyvox.costs")

ROUTER_PROVIDER = "polyvox-router"
"""``ls_provider`` of ``polyvox.router.Router`` runs: they route, the run under them calls."""

_REFUSAL = "_polyvox_budget_refusal"
"""Set on an exception the handler raises to refuse a call."""


class _RefusalLogFilter(logging.Filter):
    """Drop langchain-core's "Error in ... callback" warning for a budget refusal.

    The warning is logged while the callback manager handles the exception, so the exception
    is the one ``sys.exc_info()`` sees. Only exceptions marked as refusals are dropped: the
    refusal itself reaches the caller, and a check that failed closed has already logged
    its cause on ``polyvox.costs``. Every other handler error is still logged.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep every record but a refusal's "Error in ... callback" line."""
        if not (isinstance(record.msg, str) and record.msg.startswith("Error in ")):
            return True
        exc = sys.exc_info()[1]
        return exc is None or not getattr(exc, _REFUSAL, False)


_REFUSAL_FILTER = _RefusalLogFilter()
_callbacks_logger = logging.getLogger("langchain_core.callbacks.manager")
if not any(isinstance(f, _RefusalLogFilter) for f in _callbacks_logger.filters):
    _callbacks_logger.addFilter(_REFUSAL_FILTER)


def _mark_refusal(exc: BaseException) -> None:
    with contextlib.suppress(AttributeError, TypeError):  # a class that takes no attributes
        setattr(exc, _REFUSAL, True)


class _Run:
    __slots__ = ("attribution", "model", "parent", "provider", "reservation", "started")

    def __init__(
        self, provider: str, model: str, attribution: Attribution, parent: UUID | None
    ) -> None:
        self.provider = provider
        self.model = model
        self.attribution = attribution
        self.parent = parent
        self.reservation: Reservation | None = None
        self.started = time.perf_counter()


@direct_handler
class CostCallbackHandler(BaseCallbackHandler):
    """Records every model call a run makes, priced from the catalog, in a ledger."""

    run_inline = True
    """Called in the caller's thread or task: recording only enqueues, so no hop is needed."""

    raise_error = True
    """Lets a budget refusal (``BudgetExceededError``, or ``LedgerUnavailableError`` when the
    check cannot reach its ledger) stop the call; every failure of recording is logged and
    swallowed, so recording never breaks a call."""

    def __init__(
        self,
        ledger: Ledger | None = None,
        catalog: ModelCatalog | None = None,
        *,
        budgets: BudgetGuard | None = None,
        fail_open: bool = False,
    ) -> None:
        """Create a handler.

        Args:
            ledger: Where records go (the process-wide default ledger: SQLite, or
                ``POLYVOX_LEDGER_URL``).
            catalog: Where prices come from (the default catalog).
            budgets: Budgets checked before each call from an estimate of its cost; a call
                that would pass one raises ``BudgetExceededError`` and is not sent.
            fail_open: What a budget check that cannot be made does (the ledger's database
                is down, the estimate fails). ``False`` (the default): the guard fails
                closed, the call raises (``LedgerUnavailableError`` for the database) and is
                not sent. ``True``: the call goes ahead unguarded, and every such call logs
                a warning on the ``polyvox.costs`` logger.
        """
        self.budgets = budgets
        self.fail_open = fail_open
        """Whether a call goes ahead when its budget check cannot be made."""
        if ledger is None:
            from polyvox.costs.tracking.recorder import default_ledger

            ledger = default_ledger()
        self.recorder = CallRecorder(ledger, catalog)
        self._runs: dict[UUID, _Run] = {}
        self._recorded_parents: set[UUID] = set()
        self._chain_parents: dict[UUID, UUID] = {}
        self._lock = threading.Lock()

    @property
    def ledger(self) -> Ledger:
        """The ledger records go to."""
        return self.recorder.ledger

    # ---- starts ------------------------------------------------------------------------------

    def _start(
        self,
        run_id: UUID,
        parent_run_id: UUID | None,
        metadata: dict[str, Any] | None,
        tags: list[str] | None,
        invocation_params: dict[str, Any] | None,
        prompt: Sequence[BaseMessage] | Sequence[str],
    ) -> None:
        meta = metadata or {}
        params = invocation_params or {}
        provider = str(meta.get("ls_provider") or params.get("_type") or "unknown")
        model = str(meta.get("ls_model_name") or params.get("model") or "unknown")
        run = _Run(provider, model, attribution_from(meta, tags), parent_run_id)
        if self.budgets is not None and self._reserves(provider, parent_run_id):
            try:
                run.reservation = self._reserve(run, prompt, params)  # may raise: stops the call
            except BaseException as exc:
                # Refused before anything was sent: no call to record, and a router's (or an
                # adapter's) run above it must not be recorded as a failed call either.
                if parent_run_id is not None:
                    self._mark_outer_model_run(parent_run_id)
                _mark_refusal(exc)  # the caller gets it: LangChain need not log it again
                raise
        with self._lock:
            self._runs[run_id] = run

    def _reserves(self, provider: str, parent_run_id: UUID | None) -> bool:
        """Whether this run is the one that reserves budget for its call.

        A model run under another model run (an LLM adapter's inner call) was reserved with
        its parent. A router's run only routes: the deployment's run under it is the priced
        call, so that one reserves.
        """
        if provider == ROUTER_PROVIDER:
            return False
        parent = self._runs.get(parent_run_id) if parent_run_id is not None else None
        return parent is None or parent.provider == ROUTER_PROVIDER

    def _reserve(
        self, run: _Run, prompt: Sequence[BaseMessage] | Sequence[str], params: dict[str, Any]
    ) -> Reservation | None:
        from polyvox.costs.ledger import BudgetExceededError
        from polyvox.costs.tracking.estimate import estimate_cost, estimate_tokens

        assert self.budgets is not None
        try:
            estimate, currency = estimate_cost(
                self.recorder.catalog, run.provider, run.model, estimate_tokens(prompt), params
            )
            return self.budgets.reserve(run.attribution.as_mapping(), estimate, currency)
        except BudgetExceededError:
            raise
        except Exception:
            if not self.fail_open:
                logger.warning(
                    "budget check failed for %s/%s; the call is refused (the guard fails "
                    "closed; CostCallbackHandler(fail_open=True) lets it go ahead)",
                    run.provider,
                    run.model,
                    exc_info=True,
                )
                raise
            logger.warning(
                "budget check failed for %s/%s; the call goes ahead unguarded "
                "(CostCallbackHandler(fail_open=True))",
                run.provider,
                run.model,
                exc_info=True,
            )
            return None

    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[BaseMessage]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Note the start of a chat model call (and check its budgets)."""
        prompt = messages[0] if messages else []
        self._start(run_id, parent_run_id, metadata, tags, kwargs.get("invocation_params"), prompt)

    def on_llm_start(
        self,
        serialized: dict[str, Any],
        prompts: list[str],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Note the start of a text-LLM call (and check its budgets)."""
        self._start(run_id, parent_run_id, metadata, tags, kwargs.get("invocation_params"), prompts)

    # ---- ends ------------------------------------------------------------------------------

    def on_llm_end(
        self,
        response: LLMResult,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        """Record a finished call (chat or text, streamed or not)."""
        run = self._pop(run_id)
        if run is None:
            return  # not ours, or an adapter whose inner call is already recorded
        generations = response.generations
        generation = generations[0][0] if generations and generations[0] else None
        message = generation.message if isinstance(generation, ChatGeneration) else None
        meta = message.response_metadata if message is not None else {}
        usage = getattr(message, "usage_metadata", None)
        if usage is None and generation is not None:
            usage = (generation.generation_info or {}).get("usage_metadata")
        cache_hit = bool(meta.get("polyvox_cache_hit"))
        self._finish(
            run,
            run_id,
            str(meta.get("model_provider") or run.provider),
            str(meta.get("model_name") or run.model),
            usage,
            cache_hit=cache_hit,
            # a cached message repeats the original call's metadata, its cost included
            provider_cost=None if cache_hit else meta.get("provider_cost"),
            deferred=meta.get("deferred") is True,
        )

    def on_llm_error(
        self,
        error: BaseException,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        """Record a failed call (tokens 0, cost 0 unless the provider billed; outcome error)."""
        run = self._pop(run_id)
        if run is None:
            return
        self._finish(run, run_id, run.provider, run.model, None, error=error)

    def _pop(self, run_id: UUID) -> _Run | None:
        """Take the run's state; ``None`` when it is not ours or its inner call was recorded."""
        with self._lock:
            run = self._runs.pop(run_id, None)
            if self._recorded_parents and run_id in self._recorded_parents:
                self._recorded_parents.discard(run_id)
                return None
        return run

    def _mark_outer_model_run(self, parent: UUID) -> None:
        """Skip the nearest model run above this one: its call is this call (not counted twice).

        That is an LLM adapter's or a router's run, directly above, or with chain runs in
        between (a router handing a long prompt to the RLM, whose root and sub-calls are the
        priced calls).
        """
        with self._lock:
            ancestor: UUID | None = parent
            while ancestor is not None and ancestor not in self._runs:
                ancestor = self._chain_parents.get(ancestor)
            if ancestor is not None:
                self._recorded_parents.add(ancestor)

    # ---- chains: only their parent links, to find a model run above a nested call --------

    def on_chain_start(
        self,
        serialized: dict[str, Any] | None,
        inputs: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        """Note a chain run's parent, when it runs inside a model run's call."""
        if parent_run_id is not None and (
            parent_run_id in self._runs or parent_run_id in self._chain_parents
        ):
            with self._lock:
                self._chain_parents[run_id] = parent_run_id

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        """Forget a finished chain run."""
        if self._chain_parents:
            with self._lock:
                self._chain_parents.pop(run_id, None)

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        """Forget a failed chain run."""
        self.on_chain_end(None, run_id=run_id)

    def _finish(
        self,
        run: _Run,
        run_id: UUID,
        provider: str,
        model: str,
        usage: UsageMetadata | None,
        *,
        cache_hit: bool = False,
        error: BaseException | None = None,
        provider_cost: Any = None,
        deferred: bool = False,
    ) -> None:
        try:
            if run.parent is not None:
                self._mark_outer_model_run(run.parent)
            fields: dict[str, Any] = {
                "latency_ms": (time.perf_counter() - run.started) * 1000,
                "attribution": run.attribution,
                "run_id": str(run_id),
                "parent_run_id": None if run.parent is None else str(run.parent),
                "cache_hit": cache_hit,
                "outcome": "ok" if error is None else "error",
                "error_type": None if error is None else type(error).__name__,
                "record_id": run_id.hex,  # one record per run: a retried write keeps one row
                "provider_cost": provider_cost,
                "deferred": deferred,
            }
            if run.reservation is None:
                # priced and built on the ledger's writer thread, in the next batch
                self.recorder.record_call_later(provider, model, usage, **fields)
                return
            record = self.recorder.record_call(provider, model, usage, **fields)
            if error is None:
                run.reservation.commit(record.cost)
            else:
                run.reservation.release()
        except Exception:  # recording never breaks a call (raise_error is for budgets only)
            logger.exception("could not record a call to %s/%s", provider, model)
