"""A direct path for ``invoke``/``ainvoke`` when nothing but polyvox's own handlers observe.

``BaseChatModel.invoke`` builds a callback manager, opens a run, formats the messages for
tracing, checks the cache and the rate limiter and decides whether to stream, before it
reaches ``_generate``. When no cache and no rate limiter is set, the output format is the
default one and nothing asks for streaming, most of that is a no-op, and on this machine it
costs about 150 µs per call (255 µs async), more than polyvox's own request and response
handling. polyvox then calls ``_generate``/``_agenerate`` directly and applies the same
post-processing langchain-core applies (message id, ``generation_info`` and ``llm_output``
merged into ``response_metadata``):

* when no callback handler is configured (no tracer, no verbose output, no handler in the
  config, on the model or from a context variable), nothing else happens;
* when every configured handler is of a class registered with :func:`direct_handler`
  (``polyvox.costs.CostCallbackHandler``), polyvox calls their ``on_chat_model_start``,
  ``on_llm_end`` and ``on_llm_error`` itself, with the arguments langchain-core's callback
  manager would pass: the serialised model, the messages formatted for tracing, a run id,
  the parent run id, tags and metadata LangChain's own ``CallbackManager.configure`` worked
  out (so a call nested in a chain or under an LLM adapter's run keeps its parent), the
  invocation parameters, and the ``LLMResult`` (or the error) after the same
  post-processing. Failures of a handler are logged, and re-raised when the handler's
  ``raise_error`` says so, as langchain-core does.

``stream``/``astream`` have a direct path too, taken only when no handler at all is
configured (and streaming is not disabled): ``BaseChatModel.stream`` then opens a run
nothing observes, sends each chunk to no handler and merges every chunk for an
``on_llm_end`` nobody receives, about 150 µs a stream. polyvox iterates ``_stream`` /
``_astream`` itself and post-processes each chunk as langchain-core does (the run's
message id on chunks without one, ``generation_info`` merged into ``response_metadata``, a
closing empty chunk with ``chunk_position="last"`` when the stream has none, the same
``ValueError`` for a stream with no chunks).

Whenever anything else is configured (any other handler, a tracer, LangSmith tracing from
the environment), the call passes a ``run_id``, or a condition above fails, the full
LangChain path runs. The langchain-core internals involved live in
:mod:`polyvox.core.langchain_internals`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any, TypeVar
from uuid import UUID

from langchain_core.caches import BaseCache
from langchain_core.callbacks import BaseCallbackHandler, BaseCallbackManager, CallbackManager
from langchain_core.globals import get_llm_cache
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult, LLMResult
from langchain_core.runnables import RunnableConfig

from polyvox.core.langchain_internals import (
    call_invocation_params,
    convert_input,
    error_generations,
    finish_chunk,
    finish_generations,
    format_for_tracing,
    ls_params_with_defaults,
    new_run_id,
    normalize_messages,
    run_metadata,
    serialized,
    stream_message_id,
)

__all__ = [
    "ObservedCall",
    "direct_astream",
    "direct_call_allowed",
    "direct_callbacks",
    "direct_handler",
    "direct_stream",
    "direct_stream_allowed",
    "message_from_result",
    "normalize_input",
]

# handle_event's logger: a failing handler is reported where LangChain reports it
_callback_logger = logging.getLogger("langchain_core.callbacks.manager")

# keys whose presence makes langchain-core do more than call _generate
_STREAM_KEYS = ("stream", "ls_structured_output_format", "structured_output_format")

_DIRECT_HANDLERS: set[type[BaseCallbackHandler]] = set()

H = TypeVar("H", bound=type[BaseCallbackHandler])


def direct_handler(cls: H) -> H:
    """Let calls observed only by handlers of this class keep the direct path.

    The class promises what the direct path relies on: its ``on_chat_model_start``,
    ``on_llm_end`` and ``on_llm_error`` are plain (not ``async``) methods, it handles
    ``on_chat_model_start`` itself, it needs no other event of a non-streaming model call,
    and it runs inline (``run_inline = True``). Only that exact class is registered, not
    its subclasses.

    Args:
        cls: The handler class.

    Returns:
        The class (usable as a decorator).
    """
    _DIRECT_HANDLERS.add(cls)
    return cls


def _statically_direct(
    model: BaseChatModel, config: RunnableConfig, kwargs: dict[str, Any]
) -> bool:
    """The conditions that do not depend on callbacks."""
    return not (
        model.rate_limiter is not None
        or model.output_version == "v1"
        or getattr(model, "streaming", False)
        or isinstance(model.cache, BaseCache)
        or model.cache is True
        or (model.cache is None and get_llm_cache() is not None)
        or config.get("run_id") is not None
        or any(key in kwargs for key in _STREAM_KEYS)
    )


def direct_callbacks(
    model: BaseChatModel, config: RunnableConfig, kwargs: dict[str, Any]
) -> BaseCallbackManager | None:
    """The callbacks of a call that may take the direct path, or ``None`` for the full path.

    Args:
        model: The chat model.
        config: The call's (ensured) config.
        kwargs: The call's keyword arguments.

    Returns:
        ``None`` when langchain-core's run machinery is needed. Otherwise the callback
        manager LangChain configures for the call (handlers, parent run, tags; metadata is
        added by :class:`ObservedCall`): its handlers are empty (nothing observes) or all
        of classes registered with :func:`direct_handler`.
    """
    if not _statically_direct(model, config, kwargs):
        return None
    manager = CallbackManager.configure(
        config.get("callbacks"),
        model.callbacks,
        model.verbose,
        config.get("tags"),
        model.tags,
    )
    for handler in manager.handlers:
        if type(handler) not in _DIRECT_HANDLERS or not handler.run_inline:
            return None
    return manager


def direct_call_allowed(
    model: BaseChatModel, config: RunnableConfig, kwargs: dict[str, Any]
) -> bool:
    """Tell whether ``invoke`` may call ``_generate`` directly, with nothing observing.

    Args:
        model: The chat model.
        config: The call's (ensured) config.
        kwargs: The call's keyword arguments.

    Returns:
        True only when langchain-core's run machinery would have no observable effect.
    """
    manager = direct_callbacks(model, config, kwargs)
    return manager is not None and not manager.handlers


def direct_stream_allowed(
    model: BaseChatModel, config: RunnableConfig, kwargs: dict[str, Any], *, native: bool
) -> bool:
    """Tell whether ``stream``/``astream`` may iterate ``_stream``/``_astream`` directly.

    Args:
        model: The chat model.
        config: The call's (ensured) config.
        kwargs: The call's keyword arguments.
        native: Whether the model implements the stream method asked for itself
            (otherwise langchain-core falls back to ``invoke`` or to the other method).

    Returns:
        True only when nothing observes the call and langchain-core would stream.
    """
    return (
        native and model.disable_streaming is False and direct_call_allowed(model, config, kwargs)
    )


def _closing(last: AIMessageChunk | None, message_id: str) -> AIMessageChunk | None:
    """The empty ``chunk_position="last"`` chunk a stream ends with, if it lacks one."""
    if last is None:
        msg = "No generation chunks were returned"  # langchain-core's error, word for word
        raise ValueError(msg)
    if last.chunk_position:
        return None
    content: str | list[str | dict[str, Any]] = "" if isinstance(last.content, str) else []
    return AIMessageChunk(content=content, chunk_position="last", id=message_id)


def direct_stream(chunks: Iterator[ChatGenerationChunk]) -> Iterator[AIMessageChunk]:
    """The messages ``stream()`` yields for ``_stream``'s chunks, when nothing observes.

    Args:
        chunks: What ``_stream`` yields.

    Yields:
        Each chunk's message, post-processed as langchain-core does, then the closing
        chunk if the stream has none.

    Raises:
        ValueError: When ``_stream`` yielded nothing.
    """
    message_id = stream_message_id(new_run_id())
    last = None
    for chunk in chunks:
        last = finish_chunk(chunk, message_id)
        yield last
    if (closing := _closing(last, message_id)) is not None:
        yield closing


async def direct_astream(
    chunks: AsyncIterator[ChatGenerationChunk],
) -> AsyncIterator[AIMessageChunk]:
    """The messages ``astream()`` yields for ``_astream``'s chunks, when nothing observes.

    Args:
        chunks: What ``_astream`` yields.

    Yields:
        Each chunk's message, post-processed as langchain-core does, then the closing
        chunk if the stream has none.

    Raises:
        ValueError: When ``_astream`` yielded nothing.
    """
    message_id = stream_message_id(new_run_id())
    last = None
    async for chunk in chunks:
        last = finish_chunk(chunk, message_id)
        yield last
    if (closing := _closing(last, message_id)) is not None:
        yield closing


def normalize_input(model: BaseChatModel, value: Any) -> list[BaseMessage]:
    """Turn ``invoke``'s input into messages exactly as langchain-core does.

    Args:
        model: The chat model.
        value: A string, messages, or a prompt value.

    Returns:
        The normalised messages.
    """
    return normalize_messages(convert_input(model, value).to_messages())


def _first_message(result: ChatResult) -> AIMessage:
    message = result.generations[0].message
    if not isinstance(message, AIMessage):  # pragma: no cover - providers return AIMessage
        msg = f"expected an AIMessage from _generate, got {type(message).__name__}"
        raise TypeError(msg)
    return message


def message_from_result(result: ChatResult) -> AIMessage:
    """The answer of a direct call nothing observes, post-processed as langchain-core would.

    Args:
        result: What ``_generate`` returned.

    Returns:
        The message, with an id and the merged ``response_metadata``.
    """
    finish_generations(result, new_run_id())
    return _first_message(result)


def _emit(
    handlers: Sequence[BaseCallbackHandler], event: str, ignore: str, *args: Any, **kwargs: Any
) -> None:
    """Call one event on each handler with langchain-core's ``handle_event`` policy."""
    for handler in handlers:
        try:
            if not getattr(handler, ignore):
                getattr(handler, event)(*args, **kwargs)
        except Exception as exc:
            _callback_logger.warning(
                "Error in %s.%s callback: %s", type(handler).__name__, event, repr(exc)
            )
            if handler.raise_error:
                raise


class ObservedCall:
    """One direct call's run, seen by registered handlers (see the module docstring)."""

    __slots__ = ("handlers", "parent_run_id", "run_id", "tags")

    def __init__(
        self,
        model: BaseChatModel,
        manager: BaseCallbackManager,
        messages: list[BaseMessage],
        config: RunnableConfig,
        stop: list[str] | None,
        kwargs: dict[str, Any],
    ) -> None:
        """Open the run: send ``on_chat_model_start`` (a handler may refuse the call).

        Args:
            model: The chat model.
            manager: What :func:`direct_callbacks` returned (its handlers not empty).
            messages: The prompt's messages, before normalisation.
            config: The call's (ensured) config.
            stop: The call's stop sequences.
            kwargs: The call's keyword arguments.
        """
        params = call_invocation_params(model, stop, **kwargs)
        inheritable = {
            **(config.get("metadata") or {}),
            **ls_params_with_defaults(model, stop, **kwargs),
        }
        self.handlers = manager.handlers
        self.run_id: UUID = new_run_id()
        self.parent_run_id = manager.parent_run_id
        self.tags = manager.tags
        _emit(
            self.handlers,
            "on_chat_model_start",
            "ignore_chat_model",
            serialized(model),
            [format_for_tracing(messages)],
            run_id=self.run_id,
            parent_run_id=self.parent_run_id,
            tags=self.tags,
            metadata=run_metadata(manager, inheritable, model.metadata),
            invocation_params=params,
            options={"stop": stop},
            name=config.get("run_name"),
            batch_size=1,
        )

    def finished(self, result: ChatResult) -> AIMessage:
        """Post-process the answer and send ``on_llm_end``.

        Args:
            result: What ``_generate`` returned.

        Returns:
            The answer.
        """
        finish_generations(result, self.run_id)
        _emit(
            self.handlers,
            "on_llm_end",
            "ignore_llm",
            LLMResult(generations=[result.generations], llm_output=result.llm_output),
            run_id=self.run_id,
            parent_run_id=self.parent_run_id,
            tags=self.tags,
        )
        return _first_message(result)

    def failed(self, error: BaseException) -> None:
        """Send ``on_llm_error`` (the caller re-raises ``error``).

        Args:
            error: What ``_generate`` raised.
        """
        _emit(
            self.handlers,
            "on_llm_error",
            "ignore_llm",
            error,
            run_id=self.run_id,
            parent_run_id=self.parent_run_id,
            tags=self.tags,
            response=LLMResult(generations=[error_generations(error)]),
        )
