"""An upper estimate of a call's cost before it runs, for budget checks.

Budgets must stop a call *before* it is sent, when only the prompt and the call's output
limit are known. The estimate errs high: about three characters per prompt token (most
tokenizers average nearer four) and the full output limit (or a default when the call has
none). An unpriced model estimates at 0, so budgets cannot stop it: price it in the catalog.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from langchain_core.messages import BaseMessage

from polyvox.core.usage import make_usage

if TYPE_CHECKING:
    from polyvox.costs.catalog import ModelCatalog

__all__ = ["DEFAULT_OUTPUT_TOKENS", "estimate_cost", "estimate_tokens"]

DEFAULT_OUTPUT_TOKENS = 1024
"""Output tokens assumed for a call that sets no limit."""

_OUTPUT_LIMIT_KEYS = ("max_tokens", "max_completion_tokens", "max_output_tokens", "num_predict")


def estimate_tokens(messages: Sequence[BaseMessage] | Sequence[str]) -> int:
    """A high estimate of the prompt's tokens (about three characters each).

    Args:
        messages: The prompt's messages, or a text LLM's prompts.

    Returns:
        The estimate.
    """
    chars = 0
    for item in messages:
        chars += len(item) if isinstance(item, str) else len(str(item.content)) + 8
    return chars // 3 + 1


def estimate_cost(
    catalog: ModelCatalog,
    provider: str,
    model: str,
    prompt_tokens: int,
    invocation_params: Mapping[str, Any] | None,
) -> tuple[Decimal, str]:
    """Estimate a call's cost from its prompt size and output limit.

    Args:
        catalog: Where the price comes from.
        provider: The provider id.
        model: The model.
        prompt_tokens: The prompt's estimated tokens.
        invocation_params: The call's parameters (its output limit is read from them).

    Returns:
        ``(estimate, currency)``; ``(0, "USD")`` for an unpriced model.
    """
    from polyvox.costs.computation import compute_cost

    price = catalog.price_for(provider, model)
    if price is None:
        return Decimal(0), "USD"
    params = invocation_params or {}
    limit = next((params[k] for k in _OUTPUT_LIMIT_KEYS if params.get(k)), None)
    options = params.get("options")
    if limit is None and isinstance(options, Mapping):
        limit = options.get("num_predict")
    output = int(limit) if limit else DEFAULT_OUTPUT_TOKENS
    breakdown = compute_cost(make_usage(prompt_tokens, output), price)
    return breakdown.total or Decimal(0), breakdown.currency or price.currency
