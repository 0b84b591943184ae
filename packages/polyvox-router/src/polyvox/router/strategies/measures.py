"""What strategies compare: expected cost and latency per candidate, and relative scores.

Cost and latency are scored *relative to the best candidate*: ``(best + floor) /
(value + floor)``, so the best scores 1.0 and one twice as slow (or dear) about 0.5. The
small floors (:data:`LATENCY_FLOOR_S`, :data:`COST_FLOOR_USD`) keep differences that do
not matter (a few milliseconds, a millionth of a dollar) from deciding.

Latency is the measured moving average from :class:`~polyvox.router.stats.RouterStats`
when there is one, else the catalog's typical time to first token plus the expected
output at its typical speed. Cost is the request's estimated input and output tokens at
the catalog price (local models cost 0).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

from polyvox.router.strategies.profile import profile_of

if TYPE_CHECKING:
    from polyvox.router.deployment import Deployment
    from polyvox.router.request import RouteRequest
    from polyvox.router.stats import RouterStats

__all__ = [
    "COST_FLOOR_USD",
    "LATENCY_FLOOR_S",
    "UNKNOWN_LATENCY_SCORE",
    "LatencyMetric",
    "costs",
    "costs_and_latencies",
    "latencies",
    "relative",
]

LATENCY_FLOOR_S = 0.01
"""Added to every latency before comparing, in seconds."""

COST_FLOOR_USD = 1e-6
"""Added to every cost before comparing, in USD."""

UNKNOWN_LATENCY_SCORE = 0.5
"""The balanced strategy's latency score for a deployment with no latency known."""

LatencyMetric = Literal["latency", "ttft"]
"""What the latency strategy compares: whole-call latency or time to first token."""


def relative(values: Sequence[float | None], floor: float, unknown: float) -> list[float]:
    """Score values where lower is better, relative to the lowest: ``(min + f) / (v + f)``.

    Args:
        values: The values (``None``: unknown).
        floor: Added to every value first.
        unknown: The score of an unknown value.

    Returns:
        Scores in (0, 1] for known values (1.0 for the lowest), ``unknown`` for the others.
    """
    known = [v for v in values if v is not None]
    if not known:
        return [unknown] * len(values)
    best = min(known) + floor
    return [unknown if v is None else best / (v + floor) for v in values]


def costs(candidates: Sequence[Deployment], request: RouteRequest) -> list[float | None]:
    """Each candidate's estimated cost for the request, in USD (``None``: unpriced).

    Args:
        candidates: The deployments.
        request: The request (its estimated input and expected output tokens).

    Returns:
        One estimate per candidate.
    """
    tokens_in, tokens_out = request.estimated_input_tokens, request.expected_output_tokens
    return [profile_of(d).cost_usd(tokens_in, tokens_out) for d in candidates]


def latencies(
    candidates: Sequence[Deployment],
    request: RouteRequest,
    stats: RouterStats,
    metric: LatencyMetric = "latency",
) -> list[float | None]:
    """Each candidate's expected latency in seconds: measured, else the catalog's.

    Args:
        candidates: The deployments.
        request: The request (its expected output tokens, for the catalog estimate).
        stats: The router's statistics.
        metric: ``latency`` (whole call) or ``ttft`` (time to first token).

    Returns:
        One value per candidate (``None``: neither measured nor in the catalog).
    """
    out: list[float | None] = []
    if metric == "ttft":
        for d in candidates:
            value = stats.ttft(d.name)
            out.append(profile_of(d).ttft_s if value is None else value)
        return out
    tokens = request.expected_output_tokens
    for d in candidates:
        value = stats.latency(d.name)
        out.append(profile_of(d).latency_s(tokens) if value is None else value)
    return out


def costs_and_latencies(
    candidates: Sequence[Deployment], request: RouteRequest, stats: RouterStats
) -> tuple[list[float | None], list[float | None]]:
    """:func:`costs` and :func:`latencies` (whole call) in one pass over the candidates.

    Args:
        candidates: The deployments.
        request: The request.
        stats: The router's statistics.

    Returns:
        The estimated costs and the expected latencies, one each per candidate.
    """
    tokens_in, tokens_out = request.estimated_input_tokens, request.expected_output_tokens
    cost: list[float | None] = []
    latency: list[float | None] = []
    measured = stats.latency
    for d in candidates:
        profile = profile_of(d)
        cost.append(profile.cost_usd(tokens_in, tokens_out))
        value = measured(d.name)
        latency.append(profile.latency_s(tokens_out) if value is None else value)
    return cost, latency
