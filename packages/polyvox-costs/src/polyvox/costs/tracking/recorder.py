"""Turning one finished model call into a priced ledger record.

Shared by the LangChain callback handler and the LlamaIndex event handler: both hand over
what they saw (provider, model, usage, timing, outcome, attribution) and the recorder
prices it from the catalog and enqueues it on the ledger. The cost the provider itself
reported (``response_metadata["provider_cost"]``, OpenRouter's ``usage.cost``) is recorded
beside the catalog's, and prices a call the catalog cannot. Recording never raises into the
call path: an unknown model is recorded unpriced, a ledger outage is the ledger's to buffer.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import TYPE_CHECKING, Any, Literal

from langchain_core.messages.ai import UsageMetadata

from polyvox.costs.computation import (
    UsageCounts,
    per_token_rates,
    priced_total,
    tokens_usage,
    usage_tokens,
)
from polyvox.costs.tracking.attribution import Attribution

if TYPE_CHECKING:
    from polyvox.costs.catalog import ModelCatalog, ModelPrice
    from polyvox.costs.ledger import CallRecord, Ledger

__all__ = ["CallRecorder", "ObservedCall", "ProviderCost", "default_ledger", "provider_cost_of"]

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
            from polyvox.costs.ledger import Ledger

            _default = Ledger()
        return _default


ProviderCost = tuple[str, str | None, str]
"""A provider-reported cost as captured: ``(amount, upstream amount or None, currency)``, the
amounts as the decimal strings the message carried."""


def provider_cost_of(reported: Any) -> ProviderCost | None:
    """Capture what a record needs of ``response_metadata["provider_cost"]``.

    Args:
        reported: The message's ``provider_cost`` (``{"amount": "0.000924", "currency":
            "USD", "upstream_amount": ...}``), or ``None``.

    Returns:
        ``(amount, upstream_amount, currency)`` as strings (the currency defaults to USD),
        or ``None`` when there is no amount.
    """
    if not isinstance(reported, Mapping):
        return None
    amount = reported.get("amount")
    if amount is None:
        return None
    upstream = reported.get("upstream_amount")
    currency = reported.get("currency") or "USD"
    return str(amount), None if upstream is None else str(upstream), str(currency)


def _provider_amount(captured: ProviderCost) -> tuple[Decimal | None, str | None]:
    """The exact total of a captured provider cost: its amount plus a BYOK upstream amount."""
    amount, upstream, currency = captured
    try:
        total = Decimal(amount) + Decimal(upstream or 0)
    except (InvalidOperation, ValueError):
        total = None
    if total is None or not total.is_finite():
        logger.warning("ignoring an unreadable provider cost %r", captured)
        return None, None
    return total, currency


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

    provider_cost: Mapping[str, Any] | None = None
    """What the provider reported the call cost (``response_metadata["provider_cost"]``)."""

    deferred: bool = False
    """Whether the call ran in the provider's deferred (batch) mode, billed at the price's
    :attr:`~polyvox.costs.catalog.ModelPrice.deferred_multiplier`
    (``response_metadata["deferred"]``)."""


class CallRecorder:
    """Prices observed calls and records them on a ledger."""

    def __init__(self, ledger: Ledger, catalog: ModelCatalog | None = None) -> None:
        """Create a recorder.

        Args:
            ledger: Where records go.
            catalog: Where prices come from (the default catalog when ``None``).
        """
        from polyvox.costs.ledger import CallRecord

        self.ledger = ledger
        self._catalog = catalog
        self._record_cls = CallRecord
        self._rates: dict[tuple[str, str], _Rates] = {}

    @property
    def catalog(self) -> ModelCatalog:
        """The catalog prices come from."""
        if self._catalog is None:
            from polyvox.costs.catalog import default_catalog

            self._catalog = default_catalog()
        return self._catalog

    def price(self, call: ObservedCall) -> tuple[Decimal | None, str | None]:
        """The call's cost and currency (``None`` when the model has no known price).

        Args:
            call: The observed call.

        Returns:
            ``(cost, currency)``; cache hits cost 0.
        """
        tokens = usage_tokens(call.usage)
        return self._price(
            call.provider, call.model, tokens, call.usage is not None, call.cache_hit,
            call.deferred,
        )  # fmt: skip

    def _price(
        self,
        provider: str,
        model: str,
        tokens: UsageCounts,
        has_usage: bool,
        cache_hit: bool,
        deferred: bool = False,
    ) -> tuple[Decimal | None, str | None]:
        catalog = self.catalog
        # Each (provider, model)'s price and per-token rates, resolved once per catalog
        # revision: a registered or overridden entry applies to the next call.
        cached = self._rates.get((provider, model))
        if cached is None or cached[0] != catalog.revision:
            price = catalog.price_for(provider, model)
            cached = (catalog.revision, price, None if price is None else per_token_rates(price))
            self._rates[(provider, model)] = cached
        _, price, rates = cached
        if price is None:
            return (Decimal(0), "USD") if cache_hit else (None, None)
        if cache_hit or not has_usage:
            return Decimal(0), price.currency
        if deferred and price.deferred_multiplier is not None:
            price, rates = price.deferred(), None
        if rates is None:  # tiered, or a divisor that is not a power of ten
            from polyvox.costs.computation import compute_cost

            breakdown = compute_cost(tokens_usage(tokens), price)
            return breakdown.total, breakdown.currency
        return priced_total(tokens, rates), price.currency

    def record(self, call: ObservedCall) -> CallRecord:
        """Price a call and enqueue its record (non-blocking).

        Args:
            call: The observed call.

        Returns:
            The record as enqueued.
        """
        return self.record_call(
            call.provider,
            call.model,
            call.usage,
            latency_ms=call.latency_ms,
            attribution=call.attribution,
            run_id=call.run_id,
            parent_run_id=call.parent_run_id,
            cache_hit=call.cache_hit,
            outcome=call.outcome,
            error_type=call.error_type,
            provider_cost=call.provider_cost,
            deferred=call.deferred,
        )

    def record_call(
        self,
        provider: str,
        model: str,
        usage: UsageMetadata | None,
        *,
        latency_ms: float | None,
        attribution: Attribution,
        run_id: str | None = None,
        parent_run_id: str | None = None,
        cache_hit: bool = False,
        outcome: Literal["ok", "error"] = "ok",
        error_type: str | None = None,
        record_id: str | None = None,
        provider_cost: Mapping[str, Any] | None = None,
        deferred: bool = False,
    ) -> CallRecord:
        """:meth:`record` without building an :class:`ObservedCall` first.

        Args:
            provider: The provider id.
            model: The model the provider reported.
            usage: The call's token usage, when reported.
            latency_ms: Wall time from start to end.
            attribution: Who the call is for.
            run_id: The LangChain run (or LlamaIndex span) id.
            parent_run_id: The run that made the call.
            cache_hit: Whether a response cache answered (recorded at cost 0).
            outcome: Whether the call succeeded.
            error_type: The exception's class, for failures.
            record_id: The record's unique id (a fresh uuid4 when ``None``).
            provider_cost: What the provider reported the call cost
                (``response_metadata["provider_cost"]``), recorded beside the catalog's
                price and used as the cost when the catalog has none. Leave it out for a
                cache hit (a cached message repeats the original call's).
            deferred: The call ran in the provider's deferred (batch) mode: priced with the
                price's ``deferred_multiplier`` where it has one.

        Returns:
            The record as enqueued.
        """
        record = self._build(
            provider,
            model,
            usage_tokens(usage),
            usage is not None,
            latency_ms,
            attribution,
            run_id,
            parent_run_id,
            cache_hit,
            outcome,
            error_type,
            record_id or uuid.uuid4().hex,
            datetime.now(UTC),
            provider_cost_of(provider_cost),
            deferred,
        )
        self.ledger.record(record)
        return record

    def record_call_later(
        self,
        provider: str,
        model: str,
        usage: UsageMetadata | None,
        *,
        latency_ms: float | None,
        attribution: Attribution,
        run_id: str | None = None,
        parent_run_id: str | None = None,
        cache_hit: bool = False,
        outcome: Literal["ok", "error"] = "ok",
        error_type: str | None = None,
        record_id: str | None = None,
        provider_cost: Mapping[str, Any] | None = None,
        deferred: bool = False,
    ) -> None:
        """:meth:`record_call`, with the pricing and the record made on the writer thread.

        The call's facts (token counts, time, latency) are captured now; the ledger prices
        them in its next batch (:meth:`Ledger.record_later`). For callers that do not need
        the record back: the call path then pays for an enqueue, not for pricing.

        Args:
            provider: The provider id.
            model: The model the provider reported.
            usage: The call's token usage, when reported.
            latency_ms: Wall time from start to end.
            attribution: Who the call is for.
            run_id: The LangChain run (or LlamaIndex span) id.
            parent_run_id: The run that made the call.
            cache_hit: Whether a response cache answered (recorded at cost 0).
            outcome: Whether the call succeeded.
            error_type: The exception's class, for failures.
            record_id: The record's unique id (a fresh uuid4 when ``None``).
            provider_cost: What the provider reported the call cost
                (``response_metadata["provider_cost"]``), recorded beside the catalog's
                price and used as the cost when the catalog has none. Leave it out for a
                cache hit (a cached message repeats the original call's).
            deferred: The call ran in the provider's deferred (batch) mode: priced with the
                price's ``deferred_multiplier`` where it has one.
        """
        self.ledger.record_later(
            partial(
                self._build,
                provider,
                model,
                usage_tokens(usage),
                usage is not None,
                latency_ms,
                attribution,
                run_id,
                parent_run_id,
                cache_hit,
                outcome,
                error_type,
                record_id or uuid.uuid4().hex,
                datetime.now(UTC),
                provider_cost_of(provider_cost),
                deferred,
            )
        )

    def _build(
        self,
        provider: str,
        model: str,
        tokens: UsageCounts,
        has_usage: bool,
        latency_ms: float | None,
        attribution: Attribution,
        run_id: str | None,
        parent_run_id: str | None,
        cache_hit: bool,
        outcome: Literal["ok", "error"],
        error_type: str | None,
        record_id: str,
        time: datetime,
        reported: ProviderCost | None = None,
        deferred: bool = False,
    ) -> CallRecord:
        try:
            cost, currency = self._price(provider, model, tokens, has_usage, cache_hit, deferred)
        except Exception:  # pricing must never break a call
            logger.exception("could not price a call to %s/%s", provider, model)
            cost, currency = None, None
        provider_cost = provider_currency = None
        if reported is not None and not cache_hit:
            provider_cost, provider_currency = _provider_amount(reported)
            if cost is None:  # the catalog cannot price it: the provider's word is the cost
                cost, currency = provider_cost, provider_currency
        return self._record_cls(
            id=record_id,
            time=time,
            run_id=run_id,
            parent_run_id=parent_run_id,
            provider=provider,
            model=model,
            workspace_id=attribution.workspace_id,
            agent_id=attribution.agent_id,
            execution_id=attribution.execution_id,
            attributes=attribution.attributes,
            input_tokens=tokens[0],
            cache_read_tokens=tokens[1],
            cache_write_tokens=tokens[2],
            output_tokens=tokens[3],
            reasoning_tokens=tokens[4],
            cost=cost,
            currency=currency,
            provider_cost=provider_cost,
            provider_currency=provider_currency,
            latency_ms=latency_ms,
            cache_hit=cache_hit,
            outcome=outcome,
            error_type=error_type,
        )


_Rates = tuple[int, "ModelPrice | None", "tuple[Decimal, ...] | None"]
