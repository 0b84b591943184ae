"""Who a call is for: attribution read from a run's metadata and tags.

``chain.invoke(x, config={"metadata": {"workspace_id": "w1", "agent_id": "a7"}})`` is all
it takes: LangChain hands inheritable metadata to every nested model call. The three
well-known keys become ledger columns; every other string-valued user key is kept as an
attribute, as are ``key:value`` tags. LangChain's and LangGraph's own keys are left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ATTRIBUTION_KEYS", "Attribution", "attribution_from"]

ATTRIBUTION_KEYS = ("workspace_id", "agent_id", "execution_id")
"""Metadata keys stored as their own ledger columns (and used by budgets)."""

_INTERNAL_PREFIXES = ("ls_", "langgraph_", "checkpoint_", "lc_", "__")
_INTERNAL_KEYS = frozenset({"thread_id", "run_name", "versions"})
_INTERNAL_TAG_KEYS = frozenset({"seq", "map", "graph", "langsmith"})  # LangChain's own tags


@dataclass(frozen=True)
class Attribution:
    """The attribution of one call."""

    workspace_id: str | None = None
    """The workspace (tenant, team) the call is for."""

    agent_id: str | None = None
    """The agent that made the call."""

    execution_id: str | None = None
    """One execution (a request, a job, a conversation turn)."""

    attributes: Mapping[str, str] = field(default_factory=dict)
    """Any other user keys from the metadata, and ``key:value`` tags."""

    def as_mapping(self) -> dict[str, str]:
        """All keys that are set, the three columns included (for budget checks)."""
        found = {k: v for k in ATTRIBUTION_KEYS if (v := getattr(self, k)) is not None}
        return {**self.attributes, **found}


def attribution_from(
    metadata: Mapping[str, Any] | None, tags: Iterable[str] | None = None
) -> Attribution:
    """Read a call's attribution from its run metadata and tags.

    Args:
        metadata: The run's (inherited) metadata.
        tags: The run's tags; ``workspace:w1``-style tags count as ``workspace_id=w1``...

    Returns:
        The attribution.
    """
    columns: dict[str, str] = {}
    attributes: dict[str, str] = {}
    for tag in tags or ():
        key, sep, value = str(tag).partition(":")
        if not sep or not value or key in _INTERNAL_TAG_KEYS:
            continue
        name = f"{key}_id" if f"{key}_id" in ATTRIBUTION_KEYS else key
        (columns if name in ATTRIBUTION_KEYS else attributes)[name] = value
    for key, value in (metadata or {}).items():
        if key in ATTRIBUTION_KEYS and value is not None:
            columns[key] = str(value)
        elif (
            isinstance(value, str | int | float | bool)
            and not key.startswith(_INTERNAL_PREFIXES)
            and key not in _INTERNAL_KEYS
        ):
            attributes[key] = str(value)
    return Attribution(
        columns.get("workspace_id"),
        columns.get("agent_id"),
        columns.get("execution_id"),
        attributes,
    )
