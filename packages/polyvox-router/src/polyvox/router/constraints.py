"""Per-request constraints: reading them from a call, and the filters they drive.

:func:`read_call` turns one call (its messages, keyword arguments and run metadata) into a
:class:`~polyvox.router.request.RouteRequest` plus what the chosen deployment must receive
(:class:`CallSpec`). :func:`filter_candidates` drops every deployment the request may not
use, each with a :class:`Drop` saying why. Both run on every call, so neither builds a
pydantic model nor looks anything up in the catalog: the facts of each deployment are
computed once (:class:`~polyvox.router.facts.Facts`) when the router is built.

Constraint keys, read from invoke keyword arguments first, then from the run's
``config["metadata"]``: ``sensitivity``, ``tier``, ``capabilities`` (or
``required_capabilities``), ``max_cost`` (USD), ``language``, ``deployment`` (pin one by
name), ``max_latency_ms``, ``agent_id`` and ``workspace_id``. For ``sensitivity`` the
strictest of the keyword, the metadata and the router's default applies: a call can raise
it, never lower it. Capabilities are also inferred:
bound tools need ``tools``, image content needs ``vision``. Structured output needs what
the deployment would be asked with (``StructuredSpec.capability_for``): a polyvox model
``structured_output`` (``json_mode`` for JSON mode), any other model ``tools`` (it gets a
forced tool call), and ``tools`` for function calling. That need depends on the
deployment, so it is checked by the filter and is not part of ``RouteRequest.capabilities``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from polyvox.costs.catalog import Capability, Tier
from polyvox.costs.tracking.estimate import DEFAULT_OUTPUT_TOKENS
from polyvox.router.request import RouteRequest, Sensitivity

if TYPE_CHECKING:
    from polyvox.router.deployment import Deployment
    from polyvox.router.facts import Facts
    from polyvox.router.stats import RouterStats
    from polyvox.router.structured import StructuredSpec

__all__ = [
    "CONSTRAINT_KEYS",
    "IMAGE_TOKENS",
    "STRUCTURED_KEY",
    "TOOL_OPTIONS_KEY",
    "CallSpec",
    "Drop",
    "FilterResult",
    "filter_candidates",
    "prompt_tokens",
    "read_call",
]

CONSTRAINT_KEYS = (
    "sensitivity",
    "tier",
    "capabilities",
    "required_capabilities",
    "max_cost",
    "language",
    "deployment",
    "max_latency_ms",
    "agent_id",
    "workspace_id",
    "execution_id",
)
"""Keys the router reads as constraints (or attribution); they are never passed on to a
deployment. The same as :data:`polyvox.core.keywords.ROUTING_KEYWORDS`, in reading order."""

STRUCTURED_KEY = "router_structured_output"
"""The call keyword the router's ``with_structured_output`` binds (a ``StructuredSpec``)."""

TOOL_OPTIONS_KEY = "router_tool_options"
"""The call keyword the router's ``bind_tools`` binds its ``strict`` and
``parallel_tool_calls`` under (``((name, value), ...)``), for the deployment's ``bind_tools``."""

IMAGE_TOKENS = 1000
"""Tokens counted per image in the prompt (a high figure for one detailed image)."""

_IMAGE_BLOCKS = frozenset({"image", "image_url", "input_image"})
_CHARS_PER_TOKEN = 3  # the same high estimate as polyvox.costs.tracking.estimate


@dataclass(slots=True)
class CallSpec:
    """What the chosen deployment receives besides the messages."""

    kwargs: dict[str, Any]
    """Call keyword arguments passed through (``max_tokens``, ``temperature``, ...)."""

    stop: list[str] | None = None
    """Stop sequences."""

    tools: Sequence[Any] | None = None
    """Tools to bind on the deployment (its own ``bind_tools``), when any."""

    tool_choice: Any = None
    """The tool choice to bind with them."""

    structured: StructuredSpec | None = None
    """Structured output to bind, when the router's ``with_structured_output`` asked for it."""

    max_latency_ms: float | None = None
    """The request's own latency limit (``max_latency_ms``), when it gives one."""

    tool_options: tuple[tuple[str, Any], ...] = ()
    """Further ``bind_tools`` arguments (``strict``, ``parallel_tool_calls``) the router's
    ``bind_tools`` received; a deployment gets those its ``bind_tools`` names."""


@dataclass(frozen=True, slots=True)
class Drop:
    """Why a deployment was filtered out of a request."""

    kind: str
    """The filter: ``pinned``, ``sensitivity``, ``capability``, ``tier``, ``context``,
    ``cost``, ``budget``, ``latency`` or ``breaker``."""

    reason: str
    """A sentence for people (error messages and ``explain()``)."""


_BREAKER_OPEN = Drop("breaker", "circuit breaker open")


# Filters after ``context`` leave deployments that would fit the prompt: when one of those
# drops a deployment, the request is not a "large input" but a plain routing failure.
_AFTER_CONTEXT = frozenset({"cost", "budget", "latency", "breaker"})


@dataclass(slots=True)
class FilterResult:
    """The deployments a request may use, and why the others may not."""

    kept: list[Deployment]
    """Deployments that passed every filter, in the router's order."""

    dropped: dict[str, Drop]
    """Deployment name → why it was dropped."""

    @property
    def large_input(self) -> bool:
        """Whether nothing is left only because the prompt fits no eligible window."""
        if self.kept:
            return False
        kinds = {drop.kind for drop in self.dropped.values()}
        return "context" in kinds and not kinds & _AFTER_CONTEXT


def read_call(
    messages: Sequence[BaseMessage],
    kwargs: dict[str, Any],
    metadata: Mapping[str, Any] | None,
    *,
    stop: list[str] | None,
    default_sensitivity: Sensitivity,
    default_tier: Tier | None,
    default_max_tokens: int | None,
    detect: Callable[[str], str | None] | None,
) -> tuple[RouteRequest, CallSpec]:
    """Read one call's constraints and split off what the deployment receives.

    Args:
        messages: The prompt.
        kwargs: The call's keyword arguments (constraint keys are removed from it).
        metadata: The run's metadata (``config["metadata"]``).
        stop: The call's stop sequences.
        default_sensitivity: The router's sensitivity for requests that give none.
        default_tier: The router's tier for requests that give none.
        default_max_tokens: The router's ``max_tokens``, when set.
        detect: Language detection to run when the request names no language (``None``:
            none).

    Returns:
        The request and the call to make.

    Raises:
        ValueError: For a constraint with an invalid value (an unknown sensitivity, tier or
            capability, a negative cost).
    """
    given: dict[str, Any] = {}
    sensitivity = default_sensitivity
    if metadata:
        for key in CONSTRAINT_KEYS:
            value = metadata.get(key)
            if value is not None:
                given[key] = value
        if "sensitivity" in given:
            sensitivity = _stricter(sensitivity, given["sensitivity"])
    tools: Sequence[Any] | None = None
    tool_choice: Any = None
    structured: StructuredSpec | None = None
    tool_options: tuple[tuple[str, Any], ...] = ()
    needs: set[Capability] = set()
    if kwargs:  # most calls pass no keywords at all
        for key in CONSTRAINT_KEYS:
            if key in kwargs:
                value = kwargs.pop(key)
                if value is not None:
                    given[key] = value
                    if key == "sensitivity":
                        sensitivity = _stricter(sensitivity, value)
        tools = kwargs.pop("tools", None) or None
        tool_choice = kwargs.pop("tool_choice", None)
        tool_options = kwargs.pop(TOOL_OPTIONS_KEY, None) or ()
        structured = kwargs.pop(STRUCTURED_KEY, None)
        if tools:
            needs.add(Capability.TOOLS)
        response_format = kwargs.get("response_format")
        if isinstance(response_format, Mapping):
            kind = response_format.get("type")
            needs.add(
                Capability.JSON_MODE if kind == "json_object" else Capability.STRUCTURED_OUTPUT
            )
    if given:
        needs |= _capabilities(given.get("capabilities"), given.get("required_capabilities"))
    input_tokens, images = prompt_tokens(messages)
    if images:
        needs.add(Capability.VISION)
    if tools:
        input_tokens += sum(len(str(t)) for t in tools) // _CHARS_PER_TOKEN

    max_tokens = kwargs.get("max_tokens")
    if max_tokens is None and default_max_tokens is not None:
        max_tokens = kwargs["max_tokens"] = default_max_tokens
    language = given.get("language")
    if language is None and detect is not None:
        text = _last_human_text(messages)
        language = detect(text) if text else None

    request = RouteRequest(
        estimated_input_tokens=input_tokens,
        expected_output_tokens=int(max_tokens) if max_tokens else DEFAULT_OUTPUT_TOKENS,
        tier=_tier(given["tier"]) if "tier" in given else default_tier,
        sensitivity=sensitivity,
        capabilities=frozenset(needs),
        max_cost=_money(given["max_cost"], "max_cost") if "max_cost" in given else None,
        language=primary_language(language) if language else None,
        agent=str(given["agent_id"]) if "agent_id" in given else None,
        workspace=str(given["workspace_id"]) if "workspace_id" in given else None,
        deployment=str(given["deployment"]) if "deployment" in given else None,
    )
    latency = float(given["max_latency_ms"]) if "max_latency_ms" in given else None
    return request, CallSpec(kwargs, stop, tools, tool_choice, structured, latency, tool_options)


_STRICTNESS = {level: rank for rank, level in enumerate(Sensitivity)}


def primary_language(value: Any) -> str:
    """A language tag's primary subtag, lower-cased: ``pl-PL``, ``pl_PL`` and ``PL`` are ``pl``.

    Args:
        value: A language given by a caller or a detector.

    Returns:
        The primary subtag, as the catalog's ``languages`` and ``language_routes`` use.
    """
    return re.split(r"[-_]", str(value).strip().lower(), maxsplit=1)[0]


def _stricter(current: Sensitivity, value: Any) -> Sensitivity:
    """The stricter of two levels: a call can raise a request's sensitivity, never lower it."""
    level = Sensitivity.parse(value)
    return level if _STRICTNESS[level] > _STRICTNESS[current] else current


def prompt_tokens(messages: Iterable[BaseMessage]) -> tuple[int, int]:
    """A high estimate of a prompt's tokens, and how many images it holds.

    Text counts at about three characters a token (as
    :func:`polyvox.costs.tracking.estimate.estimate_tokens`); each image counts
    :data:`IMAGE_TOKENS` instead of the length of its base64 data.

    Args:
        messages: The prompt.

    Returns:
        ``(tokens, images)``.
    """
    chars = 0
    images = 0
    for message in messages:
        chars += 8
        content = message.content
        if isinstance(content, str):
            chars += len(content)
        else:
            for block in content:
                if isinstance(block, str):
                    chars += len(block)
                elif block.get("type") in _IMAGE_BLOCKS:
                    images += 1
                elif isinstance(text := block.get("text"), str):
                    chars += len(text)
                else:
                    chars += len(str(block))
        if isinstance(message, AIMessage) and message.tool_calls:
            chars += len(str(message.tool_calls))
    return chars // _CHARS_PER_TOKEN + 1 + images * IMAGE_TOKENS, images


def _last_human_text(messages: Sequence[BaseMessage]) -> str:
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            return message.text
    return ""


def _capabilities(*values: Any) -> set[Capability]:
    found: set[Capability] = set()
    for value in values:
        if value is None:
            continue
        items = [value] if isinstance(value, str | Capability) else list(value)
        found.update(Capability.parse(item) for item in items)
    return found


def _tier(value: Any) -> Tier:
    if isinstance(value, Tier):
        return value
    try:
        return Tier(str(value).strip().lower())
    except ValueError:
        tiers = ", ".join(t.value for t in Tier)
        raise ValueError(f"unknown tier {value!r}; use one of: {tiers}") from None


def _money(value: Any, name: str) -> Decimal:
    amount = value if isinstance(value, Decimal) else Decimal(str(value))
    if amount < 0:
        msg = f"{name} must not be negative, got {value!r}"
        raise ValueError(msg)
    return amount


def filter_candidates(
    deployments: Sequence[Deployment],
    facts: Mapping[str, Facts],
    request: RouteRequest,
    *,
    stats: RouterStats,
    available: Callable[[str], bool],
    max_latency_ms: float | None,
    structured: StructuredSpec | None = None,
) -> FilterResult:
    """Drop every deployment the request may not use.

    The filters run in this order, and a deployment is dropped by the first that refuses
    it: the pinned deployment, data sensitivity (local-only levels drop every cloud
    deployment), capabilities, tier, context window, maximum cost, remaining budget,
    latency, and an open circuit breaker.

    Args:
        deployments: Every deployment of the router.
        facts: Their facts, by name.
        request: The request.
        stats: Measured latencies (for the latency filter).
        available: Whether a deployment's breaker lets calls through (no probe taken).
        max_latency_ms: The latency limit (the request's or the router's), if any.
        structured: Structured output the call asks for; each deployment needs the
            capability it would be asked with (``StructuredSpec.capability_for``).

    Returns:
        What is kept and what was dropped.
    """
    kept: list[Deployment] = []
    dropped: dict[str, Drop] = {}
    pinned = request.deployment
    local_only = request.sensitivity.local_only
    needs = request.capabilities
    tier = request.tier
    need_context = request.min_context
    limit = float(request.max_cost) if request.max_cost is not None else None
    budget = float(request.remaining_budget) if request.remaining_budget is not None else None
    latency_limit = max_latency_ms / 1000.0 if max_latency_ms is not None else None
    if (
        pinned is None
        and not local_only
        and not needs
        and structured is None
        and tier is None
        and limit is None
        and budget is None
        and latency_limit is None
    ):  # a request with no constraints (most are): only the window and the breaker
        for deployment in deployments:
            name = deployment.name
            if need_context > facts[name].window:
                dropped[name] = _too_small(request, facts[name])
            elif not available(name):
                dropped[name] = _BREAKER_OPEN
            else:
                kept.append(deployment)
        return FilterResult(kept, dropped)
    for deployment in deployments:
        name = deployment.name
        fact = facts[name]
        if pinned is not None and name != pinned:
            dropped[name] = Drop("pinned", f"the request pins deployment {pinned!r}")
            continue
        if local_only and not fact.local:
            dropped[name] = Drop(
                "sensitivity",
                f"{request.sensitivity.value} data may only go to local deployments; "
                "this one is a cloud API",
            )
            continue
        if needs and not needs <= fact.capabilities:
            missing = ", ".join(sorted(c.value for c in needs - fact.capabilities))
            dropped[name] = Drop("capability", f"lacks {missing}")
            continue
        if structured is not None:
            need = structured.capability_for(deployment.model)
            if need not in fact.capabilities:
                dropped[name] = Drop(
                    "capability", f"lacks {need.value} (for {structured.method} output)"
                )
                continue
        if tier is not None and fact.tier is not tier:
            dropped[name] = Drop("tier", f"tier {fact.tier.value}, the request asks {tier.value}")
            continue
        if need_context > fact.window:
            dropped[name] = _too_small(request, fact)
            continue
        if limit is not None or budget is not None:
            cost = fact.estimated_cost(
                request.estimated_input_tokens, request.expected_output_tokens
            )
            if cost is None:
                kind = "cost" if limit is not None else "budget"
                dropped[name] = Drop(kind, "unpriced, so it cannot be held to a cost limit")
                continue
            if limit is not None and cost > limit:
                dropped[name] = Drop("cost", f"estimated ${cost:.6f} > max_cost ${limit:.6f}")
                continue
            if budget is not None and cost > budget:
                dropped[name] = Drop(
                    "budget", f"estimated ${cost:.6f} > remaining budget ${budget:.6f}"
                )
                continue
        if latency_limit is not None:
            measured = stats.latency(name)
            latency = measured if measured is not None else fact.typical_latency_s
            if latency is not None and latency > latency_limit:
                source = "measured" if measured is not None else "typical"
                dropped[name] = Drop(
                    "latency",
                    f"{source} latency {latency * 1000:.0f} ms > {max_latency_ms:.0f} ms",
                )
                continue
        if not available(name):
            dropped[name] = _BREAKER_OPEN
            continue
        kept.append(deployment)
    return FilterResult(kept, dropped)


def _too_small(request: RouteRequest, fact: Facts) -> Drop:
    return Drop(
        "context",
        f"window {fact.window} tokens < about {request.min_context} needed "
        f"({request.estimated_input_tokens} prompt + {request.expected_output_tokens} output)",
    )
