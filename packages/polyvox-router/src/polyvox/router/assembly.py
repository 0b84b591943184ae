"""Building a router: models wrapped as deployments, names checked, facts computed once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from langchain_core.language_models import BaseChatModel, ModelProfile

from polyvox.core.chat_model import PolyvoxChatModel, field_keywords
from polyvox.core.keywords import ROUTING_KEYWORDS, STANDARD_CALL_KEYWORDS
from polyvox.costs.catalog import Capability
from polyvox.router.constraints import STRUCTURED_KEY, TOOL_OPTIONS_KEY
from polyvox.router.deployment import Deployment
from polyvox.router.facts import Facts, compute_facts
from polyvox.router.request import Sensitivity
from polyvox.router.strategies import get_strategy

if TYPE_CHECKING:
    from polyvox.costs.catalog import ModelCatalog

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


def check(
    deployments: Sequence[Deployment],
    catalog: ModelCatalog | None,
    *,
    routes: Mapping[str, Sequence[str] | None],
    max_retries: int,
    max_attempts: int | None,
    max_retry_wait_s: float,
) -> tuple[dict[str, Deployment], dict[str, Facts]]:
    """Check a router's settings and index its deployments.

    Args:
        deployments: The router's deployments.
        catalog: The catalog their facts are read with (the default one when ``None``).
        routes: Each setting that names deployments (``language_routes``' targets, the
            fallback lists) by its name, for the check and its message.
        max_retries: The router's ``max_retries``.
        max_attempts: The router's ``max_attempts``.
        max_retry_wait_s: The router's ``max_retry_wait_s``.

    Returns:
        Deployments by name, and their facts by name.

    Raises:
        ValueError: Duplicate names, a route or fallback naming an unknown deployment, or a
            negative limit; the message names the setting.
    """
    if not deployments:
        raise ValueError("Router needs at least one deployment")
    by_name: dict[str, Deployment] = {}
    for deployment in deployments:
        if deployment.name in by_name:
            msg = (
                f"two deployments are named {deployment.name!r}; name them apart with "
                "Deployment.of(model, name=...)"
            )
            raise ValueError(msg)
        by_name[deployment.name] = deployment
    for key, names in routes.items():
        unknown = [name for name in names or () if name not in by_name]
        if unknown:
            msg = f"{key} names unknown deployments {unknown}; known: {sorted(by_name)}"
            raise ValueError(msg)
    if max_retries < 0:
        raise ValueError(f"max_retries must be 0 or more, got {max_retries}")
    if max_attempts is not None and max_attempts < 1:
        raise ValueError(f"max_attempts must be 1 or more, got {max_attempts}")
    if max_retry_wait_s < 0:
        raise ValueError(f"max_retry_wait_s must be >= 0, got {max_retry_wait_s}")
    facts = {d.name: compute_facts(d, catalog) for d in deployments}
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
