"""Building a router: models wrapped as deployments, names checked, facts computed once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from langchain_core.language_models import BaseChatModel, ModelProfile

from polyvox.core.chat_model import PolyvoxChatModel, field_keywords
from polyvox.core.keywords import ROUTING_KEYWORDS, STANDARD_CALL_KEYWORDS
from polyvox.costs.catalog import Capability
from polyvox.router.constraints import STRUCTURED_KEY, TOOL_OPTIONS_KEY, Facts, compute_facts
from polyvox.router.deployment import Deployment
from polyvox.router.request import Sensitivity
from polyvox.router.strategies import get_strategy

if TYPE_CHECKING:
    from polyvox.router.router import Router

__all__ = ["call_keywords", "check", "normalize", "profile"]


def normalize(data: dict[str, Any]) -> dict[str, Any]:
    """Turn the constructor's arguments into field values (before pydantic sees them).

    Chat models become deployments (``Deployment.of``, their catalog entry looked up), a
    strategy name or function becomes a strategy, a sensitivity name a level.

    Args:
        data: The constructor's keyword arguments.

    Returns:
        A new mapping with the converted values.

    Raises:
        ValueError: No deployments were given.
        TypeError: A deployment is neither a chat model nor a ``Deployment``.
    """
    data = dict(data)
    items = data.get("deployments")
    if items is None:
        raise ValueError("Router needs deployments: chat models or Deployment objects")
    if isinstance(items, BaseChatModel | Deployment) or not isinstance(items, Sequence):
        items = [items]
    data["deployments"] = [_deployment(item, data.get("catalog")) for item in items]
    if data.get("strategy") is not None:
        data["strategy"] = get_strategy(data["strategy"])
    if data.get("default_sensitivity") is not None:
        data["default_sensitivity"] = Sensitivity.parse(data["default_sensitivity"])
    return data


def check(router: Router) -> tuple[dict[str, Deployment], dict[str, Facts]]:
    """Check a router's settings and index its deployments.

    Args:
        router: The router being built.

    Returns:
        Deployments by name, and their facts by name.

    Raises:
        ValueError: Duplicate names, a route or fallback naming an unknown deployment, or a
            negative limit; the message names the setting.
    """
    if not router.deployments:
        raise ValueError("Router needs at least one deployment")
    by_name: dict[str, Deployment] = {}
    for deployment in router.deployments:
        if deployment.name in by_name:
            msg = (
                f"two deployments are named {deployment.name!r}; name them apart with "
                "Deployment.of(model, name=...)"
            )
            raise ValueError(msg)
        by_name[deployment.name] = deployment
    for key, names in (
        ("language_routes", list(router.language_routes.values())),
        ("context_overflow_fallback", router.context_overflow_fallback or []),
        ("content_policy_fallback", router.content_policy_fallback or []),
    ):
        unknown = [name for name in names if name not in by_name]
        if unknown:
            msg = f"{key} names unknown deployments {unknown}; known: {sorted(by_name)}"
            raise ValueError(msg)
    if router.max_retries < 0:
        raise ValueError(f"max_retries must be 0 or more, got {router.max_retries}")
    if router.max_attempts is not None and router.max_attempts < 1:
        raise ValueError(f"max_attempts must be 1 or more, got {router.max_attempts}")
    if router.max_retry_wait_s < 0:
        raise ValueError(f"max_retry_wait_s must be >= 0, got {router.max_retry_wait_s}")
    facts = {d.name: compute_facts(d, router.catalog) for d in router.deployments}
    return by_name, facts


def profile(facts: Mapping[str, Facts]) -> ModelProfile | None:
    """The router's model profile: what at least one deployment offers.

    Args:
        facts: The deployments' facts.

    Returns:
        The largest window, and tools, structured output, images and reasoning when any
        deployment has them (``None`` before the router is indexed).
    """
    if not facts:
        return None
    caps = frozenset().union(*(f.capabilities for f in facts.values()))
    return ModelProfile(
        max_input_tokens=max(f.window for f in facts.values()),
        tool_calling=Capability.TOOLS in caps,
        structured_output=Capability.STRUCTURED_OUTPUT in caps,
        image_inputs=Capability.VISION in caps,
        reasoning_output=Capability.REASONING in caps,
    )


def _deployment(item: Any, catalog: Any) -> Deployment:
    if isinstance(item, Deployment):
        return item
    if isinstance(item, BaseChatModel):
        return Deployment.of(item, catalog=catalog)
    if isinstance(item, Mapping) and isinstance(item.get("model"), BaseChatModel):
        fields = dict(item)
        return Deployment.of(fields.pop("model"), catalog=catalog, **fields)
    msg = (
        "each deployment must be a chat model, a Deployment, or a mapping with a chat "
        f"'model'; got {type(item).__name__}"
    )
    raise TypeError(msg)


def call_keywords(deployments: Sequence[Deployment]) -> frozenset[str]:
    """Every call keyword the router understands: its own and any deployment's.

    Args:
        deployments: The router's deployments.

    Returns:
        The routing keywords, the keywords every chat model takes, the router's internal
        binding keys, and each deployment's parameters (a polyvox model's own list; for
        another chat model, its fields).
    """
    known: set[str] = {*ROUTING_KEYWORDS, *STANDARD_CALL_KEYWORDS, STRUCTURED_KEY, TOOL_OPTIONS_KEY}
    for deployment in deployments:
        model = deployment.model
        if isinstance(model, PolyvoxChatModel):
            known |= model.known_call_keywords()
        else:
            known |= field_keywords(type(model))
    return frozenset(known)
