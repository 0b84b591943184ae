"""Every langchain-core internal polyvox relies on, behind one set of functions.

polyvox is a drop-in LangChain chat model, and a few of the things it does need parts of
langchain-core that are not public API: the invoke direct path converts and normalises
input and finishes the answer exactly as ``BaseChatModel.generate`` does and sends a cost
handler the events LangChain's callback manager would send, other models' identities are
read from their LangSmith parameters, and the router and the LLM adapter hand run managers
to nested calls. Every such use lives here, and no other polyvox module imports a
private langchain-core name or reads a private attribute of a LangChain object; they call
these functions instead. ``tests/core/test_langchain_internals.py`` exercises each one
against the installed langchain-core (inside the range every package pins,
``langchain-core>=1.7,<2``), so an upgrade that changes one fails there, naming this module.

What is used, and why:

* ``_normalize_messages`` (``language_models._utils``): v1 content blocks in the input
  become the provider-neutral form ``_generate`` receives;
* ``_format_for_tracing``, ``_gen_info_and_msg_metadata``, ``_generate_response_from_error``
  (``language_models.chat_models``): the messages a handler's ``on_chat_model_start``
  receives, the ``response_metadata`` merge applied to each generation (and to each chunk
  of a direct stream), and the response ``on_llm_error`` receives;
* ``_merge_metadata_dicts`` (``runnables.config``): how a run's metadata is merged;
* ``BaseChatModel._convert_input``, ``_get_invocation_params`` (and what it computes),
  ``_get_ls_params_with_defaults``, ``_serialized``; ``_get_ls_params``, ``_llm_type`` and
  ``_identifying_params`` of any model (polyvox reads another model's identity through
  them); ``_generate``/``_agenerate`` of a polyvox model, called directly;
* ``LangChainBetaWarning`` (``_api.beta_decorator``), silenced where LlamaIndex meets a
  beta LangChain API;
* the run handed to ``_stream``: langchain-core calls ``_stream`` without the run manager,
  so a model whose stream makes nested calls stores it in a context variable here and reads
  it back once (:func:`hand_over_run`, :func:`take_handed_run`);
* child callback managers for LLM runs, which have no ``get_child()``: built here as
  ``ParentRunManager.get_child`` builds one (:func:`child_callback_manager`).

polyvox also overrides a few private hooks of langchain-core's base classes; overriding
cannot move here, so :data:`OVERRIDDEN_HOOKS` lists them and the test pins their
signatures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextvars import ContextVar, Token
from typing import Any, cast
from uuid import UUID

from langchain_core.callbacks import (
    AsyncCallbackManager,
    BaseCallbackHandler,
    BaseCallbackManager,
    CallbackManager,
)
from langchain_core.language_models import BaseChatModel, BaseLanguageModel, LangSmithParams
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.prompt_values import PromptValue
from langchain_core.utils.utils import LC_ID_PREFIX
from langchain_core.utils.uuid import uuid7

try:
    from langchain_core._api.beta_decorator import LangChainBetaWarning
    from langchain_core.language_models._utils import _normalize_messages
    from langchain_core.language_models.chat_models import (
        _format_for_tracing,
        _gen_info_and_msg_metadata,
        _generate_response_from_error,
    )
    from langchain_core.runnables.config import _merge_metadata_dicts
except ImportError as exc:  # pragma: no cover - only with an unsupported langchain-core
    msg = (
        "polyvox.core.langchain_internals: the installed langchain-core no longer has an "
        f"internal polyvox relies on ({exc}); polyvox supports langchain-core>=1.7,<2"
    )
    raise ImportError(msg) from exc

__all__ = [
    "OVERRIDDEN_HOOKS",
    "SUPPORTED_LANGCHAIN_CORE",
    "LangChainBetaWarning",
    "agenerate",
    "call_invocation_params",
    "child_callback_manager",
    "convert_input",
    "error_generations",
    "finish_chunk",
    "finish_generations",
    "format_for_tracing",
    "generate",
    "hand_over_run",
    "identifying_params",
    "implements_stream",
    "invocation_params",
    "llm_type",
    "ls_params",
    "ls_params_with_defaults",
    "new_run_id",
    "normalize_messages",
    "refuse_bytes",
    "reset_handed_run",
    "run_metadata",
    "serialized",
    "stream_message_id",
    "take_handed_run",
]

SUPPORTED_LANGCHAIN_CORE = ">=1.7,<2"
"""The langchain-core versions these internals were checked against (every package pins it)."""

OVERRIDDEN_HOOKS: Mapping[str, tuple[str, ...]] = {
    "langchain_core.language_models.BaseChatModel": (
        "_get_invocation_params",  # PolyvoxChatModel, Router: refuse near-miss keywords
        "_get_ls_params",  # PolyvoxChatModel, Router: provider and model in traces
        "_should_stream",  # Router: remembers the run manager for _stream
        "_convert_input",  # PolyvoxChatModel, Router: bytes refused (refuse_bytes)
    ),
    "langchain_core.language_models.BaseLLM": (
        "_convert_input",  # ChatModelLLM: bytes refused
        "_generate_helper",  # ChatModelLLM: every prompt's run manager to _generate
        "_agenerate_helper",
        "_get_ls_params",
    ),
}
"""Private hooks of langchain-core base classes that polyvox classes override."""


# ---- input -------------------------------------------------------------------------------


def refuse_bytes(value: object) -> None:
    """Refuse ``bytes`` input with an error that says what to do.

    langchain-core takes ``bytes`` for a sequence of messages and fails on its first item
    with "Unsupported message type: int". Every polyvox model's input conversion calls this
    first.

    Args:
        value: The input of ``invoke``, ``stream``, ``batch`` and friends.

    Raises:
        TypeError: For ``bytes``, ``bytearray`` or ``memoryview``.
    """
    if isinstance(value, bytes | bytearray | memoryview):
        msg = (
            f"the input is {type(value).__name__}; a model takes text (a str), messages or a "
            "prompt value, not bytes. Decode it first, e.g. model.invoke(data.decode()) "
            "(or data.decode('utf-8', errors='replace') for text of unknown encoding); for "
            "an image or a file, send a content block (see the provider's page)"
        )
        raise TypeError(msg)


def convert_input(model: BaseChatModel, value: Any) -> PromptValue:
    """Turn ``invoke``'s input (a string, messages, a prompt value) into a prompt value.

    Args:
        model: The chat model called.
        value: The input.

    Returns:
        The prompt value, as ``BaseChatModel.invoke`` makes it (a polyvox model's
        ``_convert_input`` refuses ``bytes`` first, :func:`refuse_bytes`).
    """
    return model._convert_input(value)


def normalize_messages(messages: Sequence[BaseMessage]) -> list[BaseMessage]:
    """The messages ``_generate`` receives (v1 content blocks normalised).

    Args:
        messages: The prompt's messages.

    Returns:
        The normalised messages.
    """
    return _normalize_messages(messages)


def format_for_tracing(messages: list[BaseMessage]) -> list[BaseMessage]:
    """The messages a handler's ``on_chat_model_start`` receives.

    Args:
        messages: The prompt's messages (not normalised).

    Returns:
        The messages, with data blocks in the form tracers expect.
    """
    return _format_for_tracing(messages)


# ---- a model's identity and parameters ---------------------------------------------------


def invocation_params(
    model: BaseChatModel, stop: list[str] | None, /, **kwargs: Any
) -> dict[str, Any]:
    """What ``BaseChatModel._get_invocation_params`` computes, without its detour.

    langchain-core builds them from ``dict()``, a deprecated alias of ``asdict()`` that it
    calls under a context manager silencing its own deprecation warning (about 10 µs).
    When the class keeps the base ``dict()``, ``asdict()`` gives the same dictionary;
    otherwise langchain-core's method runs. Subclasses call this from their
    ``_get_invocation_params`` override; anyone else calls ``model._get_invocation_params``
    through :func:`call_invocation_params`.

    Args:
        model: The chat model.
        stop: The call's stop sequences.
        **kwargs: The call's keyword arguments.

    Returns:
        The parameters: the identifying parameters, ``_type``, ``stop`` and ``kwargs``.
    """
    cls = type(model)
    if cls.dict is BaseChatModel.dict and cls._dict_for_compat is BaseChatModel._dict_for_compat:
        params = model.asdict()
        params["stop"] = stop
        return {**params, **kwargs}
    return BaseChatModel._get_invocation_params(model, stop=stop, **kwargs)


def call_invocation_params(
    model: BaseChatModel, stop: list[str] | None, /, **kwargs: Any
) -> dict[str, Any]:
    """The ``invocation_params`` a handler's start event receives (the model's own method).

    Args:
        model: The chat model.
        stop: The call's stop sequences.
        **kwargs: The call's keyword arguments.

    Returns:
        The parameters.
    """
    return model._get_invocation_params(stop=stop, **kwargs)


def run_metadata(
    manager: BaseCallbackManager,
    inheritable: Mapping[str, Any],
    local: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The metadata of an LLM run, as ``CallbackManager.configure`` merges it.

    Args:
        manager: The manager configured without metadata (a parent's metadata included).
        inheritable: The call's metadata with the model's LangSmith parameters.
        local: The model's own metadata.

    Returns:
        The run's metadata (``lc_versions`` accumulated, as langchain-core does).
    """
    return _merge_metadata_dicts(_merge_metadata_dicts(manager.metadata, inheritable), local or {})


def ls_params(
    model: BaseLanguageModel[Any], stop: list[str] | None = None, /, **kwargs: Any
) -> LangSmithParams:
    """A model's LangSmith parameters (``ls_provider``, ``ls_model_name``...).

    Args:
        model: Any LangChain chat model or LLM.
        stop: The call's stop sequences.
        **kwargs: The call's keyword arguments.

    Returns:
        The parameters, as the model reports them.
    """
    return cast("Any", model)._get_ls_params(stop=stop, **kwargs)  # type: ignore[no-any-return]


def ls_params_with_defaults(
    model: BaseChatModel, stop: list[str] | None, /, **kwargs: Any
) -> LangSmithParams:
    """The LangSmith parameters ``generate`` adds to a run's metadata.

    Args:
        model: The chat model.
        stop: The call's stop sequences.
        **kwargs: The call's keyword arguments.

    Returns:
        The parameters, ``ls_integration`` included.
    """
    return model._get_ls_params_with_defaults(stop=stop, **kwargs)


def llm_type(model: BaseLanguageModel[Any]) -> str:
    """A model's ``_llm_type``.

    Args:
        model: Any LangChain chat model or LLM.

    Returns:
        The type string.
    """
    return str(cast("Any", model)._llm_type)


def identifying_params(model: BaseLanguageModel[Any]) -> Mapping[str, Any]:
    """A model's ``_identifying_params``.

    Args:
        model: Any LangChain chat model or LLM.

    Returns:
        The parameters.
    """
    return cast("Mapping[str, Any]", cast("Any", model)._identifying_params)


def serialized(model: BaseChatModel) -> dict[str, Any]:
    """The serialised model a handler's start event receives (cached on the model).

    Args:
        model: The chat model.

    Returns:
        The ``dumpd`` form of the model.
    """
    return model._serialized


# ---- calling and finishing --------------------------------------------------------------


def generate(
    model: BaseChatModel,
    messages: list[BaseMessage],
    stop: list[str] | None,
    /,
    **kwargs: Any,
) -> ChatResult:
    """Call a chat model's ``_generate`` directly (no run, no run manager).

    Args:
        model: The chat model.
        messages: The normalised messages.
        stop: The stop sequences.
        **kwargs: The call's keyword arguments.

    Returns:
        What ``_generate`` returned.
    """
    return model._generate(messages, stop=stop, **kwargs)


async def agenerate(
    model: BaseChatModel,
    messages: list[BaseMessage],
    stop: list[str] | None,
    /,
    **kwargs: Any,
) -> ChatResult:
    """Call a chat model's ``_agenerate`` directly (no run, no run manager).

    Args:
        model: The chat model.
        messages: The normalised messages.
        stop: The stop sequences.
        **kwargs: The call's keyword arguments.

    Returns:
        What ``_agenerate`` returned.
    """
    return await model._agenerate(messages, stop=stop, **kwargs)


def new_run_id() -> UUID:
    """A run id, of the kind langchain-core's callback manager makes (UUID v7).

    Returns:
        The id.
    """
    return uuid7()


def finish_generations(result: ChatResult, run_id: UUID) -> None:
    """Post-process ``_generate``'s result in place, as ``_generate_with_cache`` does.

    Each message without an id gets ``lc_run--<run id>-<index>``; ``generation_info`` is
    merged into each message's ``response_metadata``, and for a single generation
    ``llm_output`` under it.

    Args:
        result: What ``_generate`` returned.
        run_id: The run's id (a fresh one when nothing observes the call).
    """
    for index, generation in enumerate(result.generations):
        message = generation.message
        if message.id is None:
            message.id = f"{LC_ID_PREFIX}-{run_id}-{index}"
        message.response_metadata = _gen_info_and_msg_metadata(generation)
    if len(result.generations) == 1 and result.llm_output is not None:
        message = result.generations[0].message
        message.response_metadata = {**result.llm_output, **message.response_metadata}


def finish_chunk(chunk: ChatGenerationChunk, message_id: str) -> AIMessageChunk:
    """Post-process one chunk of ``_stream`` in place, as ``BaseChatModel.stream`` does.

    A message without an id gets ``message_id`` (``lc_run--<run id>``, the same for every
    chunk of the stream); ``generation_info`` is merged into its ``response_metadata``.

    Args:
        chunk: What ``_stream``/``_astream`` yielded.
        message_id: The stream's message id.

    Returns:
        The chunk's message, what ``stream()`` yields.
    """
    message = chunk.message
    if message.id is None:
        message.id = message_id
    message.response_metadata = _gen_info_and_msg_metadata(chunk)
    return cast("AIMessageChunk", message)


def implements_stream(model: BaseChatModel, *, async_api: bool) -> bool:
    """Whether the model's class implements ``_astream`` (or ``_stream``) itself.

    Args:
        model: The chat model.
        async_api: Ask about ``_astream`` rather than ``_stream``.

    Returns:
        False when langchain-core's default would run (a fall-back to another method).
    """
    name = "_astream" if async_api else "_stream"
    return getattr(type(model), name) is not getattr(BaseChatModel, name)


def stream_message_id(run_id: UUID) -> str:
    """The id ``BaseChatModel.stream`` gives the chunks of a run that carry none.

    Args:
        run_id: The run's id.

    Returns:
        ``lc_run--<run id>``.
    """
    return f"{LC_ID_PREFIX}-{run_id}"


def error_generations(error: BaseException) -> list[ChatGeneration]:
    """The generations of the response ``on_llm_error`` receives with a failure.

    Args:
        error: The failure.

    Returns:
        The generations (the HTTP body, headers and status, when the error carries them).
    """
    return _generate_response_from_error(error)


# ---- runs handed to nested calls --------------------------------------------------------


def child_callback_manager(
    parent_run_id: UUID,
    handlers: list[BaseCallbackHandler],
    tags: list[str],
    metadata: dict[str, Any],
    *,
    asynchronous: bool,
) -> BaseCallbackManager:
    """A callback manager for calls nested under an LLM run.

    LLM run managers have no ``get_child()`` (only chain and tool runs do), so it is built
    as ``ParentRunManager.get_child`` builds one: the parent's inheritable handlers, tags
    and metadata, with the parent run as the parent.

    Args:
        parent_run_id: The parent run's id.
        handlers: Its inheritable handlers.
        tags: Its inheritable tags.
        metadata: Its inheritable metadata.
        asynchronous: Build an ``AsyncCallbackManager``.

    Returns:
        The child manager.
    """
    manager: BaseCallbackManager
    if asynchronous:
        manager = AsyncCallbackManager(handlers=[], parent_run_id=parent_run_id)
    else:
        manager = CallbackManager(handlers=[], parent_run_id=parent_run_id)
    manager.set_handlers(handlers)
    manager.add_tags(tags)
    manager.add_metadata(metadata)
    return manager


_HANDED_RUN: ContextVar[object | None] = ContextVar("polyvox_handed_run", default=None)


def hand_over_run(run: object) -> Token[object | None]:
    """Keep a run for the ``_stream`` about to start in this thread or task.

    langchain-core calls ``_stream`` without the run manager, both from ``stream()`` and
    from ``invoke()``'s streaming branch; a model whose stream makes nested calls keeps its
    run here in the same synchronous step that starts the stream.

    Args:
        run: What ``_stream`` needs (a run manager, or what it takes to build one).

    Returns:
        A token for :func:`reset_handed_run`.
    """
    return _HANDED_RUN.set(run)


def reset_handed_run(token: Token[object | None]) -> None:
    """Restore what was kept before :func:`hand_over_run`.

    Args:
        token: What :func:`hand_over_run` returned.
    """
    _HANDED_RUN.reset(token)


def take_handed_run() -> object | None:
    """Read the kept run once (it is cleared, so no later stream picks it up).

    Returns:
        The run, or ``None``.
    """
    run = _HANDED_RUN.get()
    if run is not None:
        _HANDED_RUN.set(None)
    return run
