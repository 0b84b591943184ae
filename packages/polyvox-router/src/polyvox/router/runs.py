"""The router's run, handed to the deployment's call as its parent.

The deployment's model is called as a child run of the router's run, so callbacks (cost
tracking, tracing) see the real provider and model, nested under the router. ``_generate``
receives the router's run manager; ``_stream`` does not: langchain-core calls it without
one both from ``stream()`` and from ``invoke()``'s streaming branch. So the router hands
the run over through a context variable (``polyvox.core.langchain_internals``, with the
other langchain-core internals), set in the same synchronous step that starts the stream
and read once by ``_stream``:

- ``invoke()`` streaming (a streaming callback handler is attached, e.g. LangGraph's
  ``stream_mode="messages"``): ``_should_stream`` receives the run manager; the router
  remembers it when it answers yes;
- ``stream()`` / ``astream()``: the router gives the run an id in advance and remembers it
  with the config, and the child's callback manager is built from them exactly as
  langchain-core builds the router's own.

Context variables are per thread and per asyncio task, so concurrent calls never see each
other's run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextvars import Token
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

from langchain_core.callbacks import (
    AsyncCallbackManager,
    AsyncCallbackManagerForLLMRun,
    CallbackManager,
    CallbackManagerForLLMRun,
)

from polyvox.core.langchain_internals import (
    child_callback_manager,
    hand_over_run,
    reset_handed_run,
    take_handed_run,
)
from polyvox.costs.tracking.attribution import ATTRIBUTION_KEYS

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel
    from langchain_core.runnables import RunnableConfig

__all__ = ["NOSTREAM_TAG", "PendingRun", "caller_config", "child_config", "remember", "take"]

NOSTREAM_TAG = "nostream"
"""Tag on the deployment's child run: LangGraph's message streaming then takes each token
from the router's run only, not twice."""

RunManager = CallbackManagerForLLMRun | AsyncCallbackManagerForLLMRun


@dataclass(frozen=True, slots=True)
class PendingRun:
    """A router run started by ``stream()``/``astream()``: its id and config."""

    run_id: UUID
    """The id given to the router's run."""

    config: RunnableConfig
    """The config the stream was called with."""

    asynchronous: bool
    """Whether the stream is async (the child gets an async callback manager)."""


def remember(parent: RunManager | PendingRun) -> Token[object | None]:
    """Remember the router's run for the ``_stream`` about to start.

    Args:
        parent: The run manager or the pending run.

    Returns:
        A token for :func:`reset`.
    """
    return hand_over_run(parent)


def reset(token: Token[object | None]) -> None:
    """Forget what :func:`remember` stored (restoring what was there before)."""
    reset_handed_run(token)


def take() -> RunManager | PendingRun | None:
    """Read the remembered run once (it is cleared, so no later stream picks it up)."""
    parent = take_handed_run()
    if isinstance(parent, PendingRun | CallbackManagerForLLMRun | AsyncCallbackManagerForLLMRun):
        return parent
    return None


def child_config(
    model: BaseChatModel,
    parent: RunManager | PendingRun | None,
    ls_params: Callable[[], Mapping[str, Any]],
    kwargs: dict[str, Any],
) -> tuple[RunnableConfig | None, dict[str, Any] | None]:
    """The deployment call's config (a child callback manager) and the run's metadata.

    Args:
        model: The router (its callbacks, tags and metadata).
        parent: The router's run manager, a pending run, or ``None`` (no callbacks).
        ls_params: The router's LangSmith parameters for this call (read only for a
            pending run, whose callback manager is built here).
        kwargs: The call's keyword arguments (attribution keywords are passed on).

    Returns:
        ``(config, metadata)``: the config to call the deployment with (``None`` when
        there is no run) and the run's metadata (request constraints may be there).
    """
    attribution = _attribution(kwargs)
    if parent is None:
        return None, None
    if isinstance(parent, PendingRun):
        config = parent.config
        metadata = dict(config.get("metadata") or {})
        manager_class = AsyncCallbackManager if parent.asynchronous else CallbackManager
        manager = manager_class.configure(
            config.get("callbacks"),
            model.callbacks,
            model.verbose,
            config.get("tags"),
            model.tags,
            {**metadata, **ls_params()},
            model.metadata,
        )
        inheritable = (
            manager.inheritable_handlers,
            manager.inheritable_tags,
            manager.inheritable_metadata,
        )
        inheritable = (*inheritable[:2], {**inheritable[2], **attribution})
        return _child(parent.run_id, inheritable, parent.asynchronous), metadata
    inheritable = (
        parent.inheritable_handlers,
        parent.inheritable_tags,
        {**parent.inheritable_metadata, **attribution},
    )
    asynchronous = isinstance(parent, AsyncCallbackManagerForLLMRun)
    return _child(parent.run_id, inheritable, asynchronous), dict(parent.metadata)


def caller_config(config: RunnableConfig, kwargs: dict[str, Any]) -> RunnableConfig | None:
    """What the deployment's call keeps of the caller's config on the router's direct path.

    Nothing observes the router's own run there, but a deployment's model may carry its own
    callbacks (a cost handler with budgets): they must see the caller's metadata and tags
    (``workspace_id``, ``user_id``...) as they would without the router, and the attribution
    given as call keywords (``router.invoke(q, workspace_id="w1")``).

    Args:
        config: The caller's config (after ``ensure_config``).
        kwargs: The call's keyword arguments.

    Returns:
        ``{"metadata", "tags"}`` when there is either, else ``None``.
    """
    metadata = {**(config.get("metadata") or {}), **_attribution(kwargs)}
    tags = config.get("tags")
    if not metadata and not tags:
        return None
    return {"metadata": metadata, "tags": list(tags or [])}


def _attribution(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Attribution given as routing keywords, for the handlers of the deployment's run."""
    if not kwargs:
        return {}
    return {key: kwargs[key] for key in ATTRIBUTION_KEYS if kwargs.get(key) is not None}


def _child(
    run_id: UUID, inheritable: tuple[Any, list[str], dict[str, Any]], asynchronous: bool
) -> RunnableConfig:
    """A child callback manager (as ``ParentRunManager.get_child``), tagged ``nostream``."""
    handlers, tags, metadata = inheritable
    manager = child_callback_manager(run_id, handlers, tags, metadata, asynchronous=asynchronous)
    manager.add_tags([NOSTREAM_TAG], inherit=False)
    return {"callbacks": manager}
