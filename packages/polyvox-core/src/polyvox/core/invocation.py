"""A direct path for ``invoke``/``ainvoke`` when nothing observes the run.

``BaseChatModel.invoke`` builds a callback manager, opens a run, formats the messages for
tracing, checks the cache and the rate limiter and decides whether to stream, before it
reaches ``_generate``. When no callback handler is configured (no tracer, no verbose
output, no handler in the config or on the model), no cache and no rate limiter is set,
the output format is the default one and nothing asks for streaming, all of that is a
no-op — and on this machine it costs about 150 µs per call (255 µs async), more than
polyvox's own request and response handling. In that case only, polyvox calls
``_generate``/``_agenerate`` directly and applies the same post-processing langchain-core
applies (message id, ``generation_info`` and ``llm_output`` merged into
``response_metadata``). Whenever any condition fails, the full LangChain path runs. The
langchain-core internals involved live in :mod:`polyvox.core.langchain_internals`.
"""

from __future__ import annotations

from typing import Any

from langchain_core.caches import BaseCache
from langchain_core.callbacks import CallbackManager
from langchain_core.globals import get_llm_cache
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatResult
from langchain_core.runnables import RunnableConfig

from polyvox.core.langchain_internals import (
    convert_input,
    finish_generations,
    new_run_id,
    normalize_messages,
)

__all__ = ["direct_call_allowed", "message_from_result", "normalize_input"]

# keys whose presence makes langchain-core do more than call _generate
_STREAM_KEYS = ("stream", "ls_structured_output_format", "structured_output_format")


def direct_call_allowed(
    model: BaseChatModel, config: RunnableConfig, kwargs: dict[str, Any]
) -> bool:
    """Tell whether ``invoke`` may call ``_generate`` directly for this call.

    Args:
        model: The chat model.
        config: The call's (ensured) config.
        kwargs: The call's keyword arguments.

    Returns:
        True only when langchain-core's run machinery would have no observable effect.
    """
    if (
        model.rate_limiter is not None
        or model.output_version == "v1"
        or getattr(model, "streaming", False)
        or isinstance(model.cache, BaseCache)
        or model.cache is True
        or (model.cache is None and get_llm_cache() is not None)
        or config.get("run_id") is not None
        or any(key in kwargs for key in _STREAM_KEYS)
    ):
        return False
    manager = CallbackManager.configure(
        config.get("callbacks"),
        model.callbacks,
        model.verbose,
        config.get("tags"),
        model.tags,
        config.get("metadata"),
        model.metadata,
    )
    return not manager.handlers


def normalize_input(model: BaseChatModel, value: Any) -> list[BaseMessage]:
    """Turn ``invoke``'s input into messages exactly as langchain-core does.

    Args:
        model: The chat model.
        value: A string, messages, or a prompt value.

    Returns:
        The normalised messages.
    """
    return normalize_messages(convert_input(model, value).to_messages())


def message_from_result(result: ChatResult) -> AIMessage:
    """The answer of a direct call, post-processed as langchain-core would.

    Args:
        result: What ``_generate`` returned.

    Returns:
        The message, with an id and the merged ``response_metadata``.
    """
    finish_generations(result, new_run_id())
    message = result.generations[0].message
    if not isinstance(message, AIMessage):  # pragma: no cover - providers return AIMessage
        msg = f"expected an AIMessage from _generate, got {type(message).__name__}"
        raise TypeError(msg)
    return message
