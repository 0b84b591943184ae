"""Turning one finished model call into a priced ledger record.

Shared by the LangChain callback handler and the LlamaIndex event handler: both hand over
what they saw (provider, model, usage, timing, outcome, attribution) and the recorder
prices it from the catalog and enqueues it on the ledger. Recording never raises into the
call path: an unknown model is recorded unpriced, a ledger outage is the ledger's to buffer.
"""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from langchain_core.messages.ai import UsageMetadata

from polyvox.core.tracking.attribution import Attribution

if TYPE_CHECKING:
    from polyvox.core.catalog import ModelCatalog
    from polyvox.core.ledger import CallRecord, Ledger

__all__ = ["CallRecorder", "ObservedCall", "default_ledger"]

logger = logging.getLogger("polyvox.costs")

_default_lock = threading.Lock()
_default: Ledger | None = None


def default_ledger() -> Ledger:
    """The process-wide ledger that handlers given none share.

    Returns:
        The ledger at ``POLYVOX_LEDGER_URL`` (else the default SQLite file), created on
        first use.
    """
    global _default
    with _default_lock:
        if _default is None:
            from polyvox.core.ledger import Ledger

            _default = Ledger()
        return _default


@dataclass(frozen=True)
class ObservedCall:
    """What a handler saw of one model call."""

    provider: str
    """The provider id (``response_metadata["model_provider"]`` or the run's ``ls_provider``)."""

    model: str
    """The model the provider reported (else the one requested)."""

    usage: UsageMetadata | None
    """The call's token usage, when reported."""

    latency_ms: float | None
    """Wall time from start to end."""

    attribution: Attribution
    """Who the call is for."""

    run_id: str | None = None
    """The LangChain run (or LlamaIndex span) id."""

    parent_run_id: str | None = None
    """The run that made the call."""

    cache_hit: bool = False
    """Whether a response cache answered (recorded at cost 0)."""

    outcome: Literal["ok", "error"] = "ok"
    """Whether the call succeeded."""

    error_type: str | None = None
    """The exception's class, for failures."""


class CallRecorder:
    """Prices observed calls and records them on a ledger."""

    def __init__(self, ledger: Ledger, catalog: ModelCatalog | None = None) -> None:
        """Create a recorder.

        Args:
            ledger: Where records go.
            catalog: Where prices come from (the default catalog when ``None``).
        """
        self.ledger = ledger
        self._catalog = catalog

    @property
    def catalog(self) -> ModelCatalog:
        """The catalog prices come from."""
        if self._catalog is None:
            from polyvox.core.catalog import default_catalog

            self._catalog = default_catalog()
        return self._catalog

    def price(self, call: ObservedCall) -> tuple[Decimal | None, str | None]:
        """The call's cost and currency (``None`` when the model has no known price).

        Args:
            call: The observed call.

        Returns:
            ``(cost, currency)``; cache hits cost 0.
        """
        from polyvox.core.costs import compute_cost

        price = self.catalog.price_for(call.provider, call.model)
        if price is None:
            return (Decimal(0), "USD") if call.cache_hit else (None, None)
        if call.cache_hit or call.usage is None:
            return Decimal(0), price.currency
        breakdown = compute_cost(call.usage, price)
        return breakdown.total, breakdown.currency

    def record(self, call: ObservedCall) -> CallRecord:
        """Price a call and enqueue its record (non-blocking).

        Args:
            call: The observed call.

        Returns:
            The record as enqueued.
        """
        from polyvox.core.ledger import CallRecord

        usage = call.usage or UsageMetadata(input_tokens=0, output_tokens=0, total_tokens=0)
        details_in = usage.get("input_token_details") or {}
        details_out = usage.get("output_token_details") or {}
        try:
            cost, currency = self.price(call)
        except Exception:  # pricing must never break a call
            logger.exception("could not price a call to %s/%s", call.provider, call.model)
            cost, currency = None, None
        record = CallRecord(
            id=uuid.uuid4().hex,
            time=datetime.now(UTC),
            run_id=call.run_id,
            parent_run_id=call.parent_run_id,
            provider=call.provider,
            model=call.model,
            workspace_id=call.attribution.workspace_id,
            agent_id=call.attribution.agent_id,
            execution_id=call.attribution.execution_id,
            attributes=dict(call.attribution.attributes),
            input_tokens=int(usage.get("input_tokens", 0)),
            cache_read_tokens=int(details_in.get("cache_read", 0)),
            cache_write_tokens=int(details_in.get("cache_creation", 0)),
            output_tokens=int(usage.get("output_tokens", 0)),
            reasoning_tokens=int(details_out.get("reasoning", 0)),
            cost=cost,
            currency=currency,
            latency_ms=call.latency_ms,
            cache_hit=call.cache_hit,
            outcome=call.outcome,
            error_type=call.error_type,
        )
        self.ledger.record(record)
        return record
