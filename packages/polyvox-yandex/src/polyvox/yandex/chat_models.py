"""``ChatYandexGPT``: YandexGPT and the other text models of Yandex AI Studio.

Built on the official ``yandex-ai-studio-sdk``, which calls the foundation-models
``TextGenerationService`` over gRPC (``Completion``, a server-streaming call even when not
streaming). Sync calls go through ``AIStudio``, async ones through ``AsyncAIStudio`` on the
caller's loop, natively. The SDK retries ``UNAVAILABLE`` and ``RESOURCE_EXHAUSTED``
itself (``max_retries``); failures are mapped in :mod:`polyvox.yandex.errors`.

Deferred completions (``TextGenerationAsyncService``, an operation polled until done,
billed at about half the price) are an option: ``deferred=True`` on the model, or
``model.batch(..., deferred=True)``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Self

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import ModelProfile
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from pydantic import AliasChoices, Field, PrivateAttr, SecretStr, model_validator

from polyvox.core.chat_model import PolyvoxChatModel
from polyvox.yandex import profiles as _profiles  # noqa: F401  (registers the profiles)
from polyvox.yandex._sdk import StudioClientMixin
from polyvox.yandex.messages import to_sdk_messages, to_sdk_tool_choice, to_sdk_tools
from polyvox.yandex.responses import StreamReader, chat_result
from polyvox.yandex.uris import model_uri, short_name

if TYPE_CHECKING:
    from langchain_core.language_models import LanguageModelInput
    from langchain_core.runnables import RunnableConfig

__all__ = ["ChatYandexGPT", "YandexModelMixin"]

_DEFAULT_TIMEOUT = 180.0
_API_KEYWORDS = frozenset({"reasoning_mode", "deferred", "model_uri"})


def _rpc_error() -> tuple[type[BaseException], ...]:
    """What a failed SDK call raises.

    The SDK's ``AioRpcError`` (grpc's own under it), or what it raises for an answer it
    could not read (:data:`~polyvox.yandex.errors.UNREADABLE`).
    """
    import grpc.aio

    from polyvox.yandex.errors import UNREADABLE

    return (grpc.aio.AioRpcError, *UNREADABLE)


def _sdk_results(results: Iterator[Any]) -> Iterator[Any]:
    """The SDK's stream, its own failures told apart from those of the code reading it."""
    while True:
        try:
            result = next(results)
        except StopIteration:
            return
        except _rpc_error() as exc:
            raise _SdkFailure(exc) from exc
        yield result


async def _asdk_results(results: AsyncIterator[Any]) -> AsyncIterator[Any]:
    """The async SDK's stream, its own failures told apart (see :func:`_sdk_results`)."""
    while True:
        try:
            result = await anext(results)
        except StopAsyncIteration:
            return
        except _rpc_error() as exc:
            raise _SdkFailure(exc) from exc
        yield result


class _SdkFailure(Exception):  # noqa: N818  (a carrier, not an error of its own)
    """Carries a failure of the SDK's stream past the code that reads the stream."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


def _secret_from_env(value: SecretStr | None, *names: str) -> SecretStr | None:
    if value is not None:
        return value
    for name in names:
        if found := os.environ.get(name):
            return SecretStr(found)
    return None


class YandexModelMixin(StudioClientMixin):
    """The credentials, folder and error mapping the chat model and embeddings share."""

    if TYPE_CHECKING:
        api_key: SecretStr | None
        iam_token: SecretStr | None
        oauth_token: SecretStr | None
        service_account_key: SecretStr | None
        folder_id: str | None
        base_url: str | None
        max_retries: int

    def _read_environment(self) -> None:
        """Fill what was not given from ``YC_*`` variables; require some credential."""
        self.iam_token = _secret_from_env(self.iam_token, "YC_IAM_TOKEN")
        self.oauth_token = _secret_from_env(self.oauth_token, "YC_OAUTH_TOKEN")
        if self.service_account_key is None and (
            path := os.environ.get("YC_SERVICE_ACCOUNT_KEY_FILE")
        ):
            self.service_account_key = SecretStr(path)
        self.folder_id = self.folder_id or os.environ.get("YC_FOLDER_ID") or None
        if self.base_url is None and (endpoint := os.environ.get("YC_API_ENDPOINT")):
            self.base_url = endpoint
        given = (self.api_key, self.iam_token, self.oauth_token, self.service_account_key)
        if all(v is None for v in given):
            from polyvox.core.errors import MissingAPIKeyError

            msg = (
                f"{type(self).__name__} needs credentials: pass api_key=... (or set YC_API_KEY), "
                "iam_token=... (YC_IAM_TOKEN), oauth_token=... (YC_OAUTH_TOKEN) or "
                "service_account_key=... (YC_SERVICE_ACCOUNT_KEY_FILE)"
            )
            raise MissingAPIKeyError(msg)

    def _where(self) -> str:
        return self.base_url or "Yandex Cloud (api.cloud.yandex.net:443)"

    def _fail(self, exc: BaseException, events: int = 0) -> BaseException:
        from polyvox.yandex.errors import UNREADABLE, map_yandex_error, unreadable_answer

        if isinstance(exc, UNREADABLE):
            return unreadable_answer(exc, provider="yandex", where=self._where())
        return map_yandex_error(
            exc, provider="yandex", where=self._where(), retries=self.max_retries, events=events
        )


class ChatYandexGPT(YandexModelMixin, PolyvoxChatModel):
    """A chat model for YandexGPT (Pro and Lite) and the other models of Yandex AI Studio.

    A drop-in for ``langchain_community.chat_models.ChatYandexGPT``: the same class name and
    its parameters (``api_key``, ``iam_token``, ``folder_id``, ``model_name``,
    ``model_version``, ``model_uri``), with streaming, tools, structured output and usage,
    which that class lacks. ``model`` is a short name (``yandexgpt``, ``yandexgpt-lite``,
    ``yandexgpt/rc``, ``aliceai-llm``) or a whole ``gpt://<folder>/<model>/<branch>`` URI.

    Example:
        .. code-block:: python

            from polyvox.yandex import ChatYandexGPT

            model = ChatYandexGPT(model="yandexgpt", folder_id="b1g...")  # YC_API_KEY
            model.invoke("Привет!").content
    """

    provider: ClassVar[str] = "yandex"
    api_key_env: ClassVar[str | None] = "YC_API_KEY"
    requires_api_key: ClassVar[bool] = False  # an IAM or OAuth token, or a key file, will do

    model: str = Field(
        default="yandexgpt-lite", validation_alias=AliasChoices("model", "model_name")
    )
    """A short name (``yandexgpt``, ``yandexgpt-lite``, ``yandexgpt/rc``) or a ``gpt://`` URI."""

    model_version: str = "latest"
    """The branch for a short name without one: ``latest``, ``rc`` or ``deprecated``."""

    model_uri: str | None = None
    """The whole model URI; wins over ``model`` and ``folder_id``."""

    folder_id: str | None = None
    """The Yandex Cloud folder billed; read from ``YC_FOLDER_ID``."""

    iam_token: SecretStr | None = None
    """An IAM token (``Bearer``, about 12 hours); read from ``YC_IAM_TOKEN``. Never shown."""

    oauth_token: SecretStr | None = None
    """A Yandex OAuth token, exchanged for IAM tokens and refreshed; ``YC_OAUTH_TOKEN``."""

    service_account_key: SecretStr | None = None
    """A service account's authorized key (its JSON, or the file's path), exchanged for
    IAM tokens and refreshed; ``YC_SERVICE_ACCOUNT_KEY_FILE``. Never shown."""

    verify: bool | str | None = None
    """TLS: ``True``, ``False`` or a CA bundle; ``None`` is plaintext for loopback hosts."""

    reasoning_mode: Literal["disabled", "enabled_hidden"] | None = None
    """Reasoning (``reasoningOptions.mode``): ``enabled_hidden`` thinks before answering."""

    deferred: bool = False
    """Run completions deferred (``completionAsync``, polled; cheaper, slower)."""

    poll_interval: float = 1.0
    """Seconds between polls of a deferred completion's operation."""

    _client: Any = PrivateAttr(default=None)
    _async_client: Any = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _credentials(self) -> Self:
        self._read_environment()
        return self

    @property
    def lc_secrets(self) -> dict[str, str]:
        """Constructor arguments that are secrets, and the variables holding them."""
        return {
            "api_key": "YC_API_KEY",
            "iam_token": "YC_IAM_TOKEN",
            "oauth_token": "YC_OAUTH_TOKEN",
            "service_account_key": "YC_SERVICE_ACCOUNT_KEY_FILE",
        }

    @property
    def uri(self) -> str:
        """The model URI calls go to (``gpt://<folder>/<model>/<branch>``).

        Raises:
            ValueError: ``model`` is a short name and no folder id is known.
        """
        return self.model_uri or model_uri(self.model, self.folder_id, branch=self.model_version)

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            **super()._identifying_params,
            "model_uri": self.model_uri,
            "deferred": self.deferred,
        }

    def _resolve_model_profile(self) -> ModelProfile | None:
        from polyvox.core.profiles import get_profile

        name = short_name(self.model_uri or self.model)
        if self.model_uri is None and self.model_version != "latest" and "/" not in name:
            name = f"{name}/{self.model_version}"
        return get_profile("yandex", name)

    def _api_keywords(self) -> frozenset[str]:
        return _API_KEYWORDS

    # ---- request ---------------------------------------------------------------------

    def _configure(self, studio: Any, uri: str, kwargs: dict[str, Any]) -> Any:
        """The SDK's model object for ``uri``, configured for this call."""
        config: dict[str, Any] = {}
        temperature = kwargs.pop("temperature", self.temperature)
        if temperature is not None:
            config["temperature"] = temperature
        if (limit := kwargs.pop("max_tokens", None) or self.max_tokens) is not None:
            config["max_tokens"] = limit
        if (mode := kwargs.pop("reasoning_mode", self.reasoning_mode)) is not None:
            config["reasoning_mode"] = mode
        if (response_format := kwargs.pop("response_format", None)) is not None:
            config["response_format"] = _response_format(response_format)
        tools = kwargs.pop("tools", None)
        choice = kwargs.pop("tool_choice", None)
        parallel = kwargs.pop("parallel_tool_calls", None)
        if tools:
            config["tools"] = to_sdk_tools(studio, tools)
            if choice is not None:
                config["tool_choice"] = to_sdk_tool_choice(choice)
            if parallel is not None:
                config["parallel_tool_calls"] = bool(parallel)
        model = studio.models.completions(uri)
        return model.configure(**config) if config else model

    def _prepare(
        self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]
    ) -> tuple[str, list[Any], list[str] | None, bool]:
        for key in ("stream", "stream_usage", "strict", "ls_structured_output_format",
                    "structured_output_format"):  # fmt: skip
            kwargs.pop(key, None)
        model = kwargs.pop("model", None)
        uri = kwargs.pop("model_uri", None) or (
            model_uri(model, self.folder_id, branch=self.model_version) if model else self.uri
        )
        deferred = bool(kwargs.pop("deferred", self.deferred))
        return uri, to_sdk_messages(messages), self._resolve_stop(stop), deferred

    def _timeout(self) -> float:
        return self.timeout if self.timeout is not None else _DEFAULT_TIMEOUT

    def _structured_output_kwargs(
        self,
        method: Literal["json_schema", "json_mode"],
        json_schema: dict[str, Any],
        name: str,
        strict: bool | None,
    ) -> dict[str, Any]:
        if method == "json_mode":
            return {"response_format": "json"}
        return {"response_format": {"json_schema": json_schema, "name": name}}

    # ---- token counting ----------------------------------------------------------------

    def get_num_tokens_from_messages(
        self, messages: list[BaseMessage], tools: Sequence[Any] | None = None
    ) -> int:
        """Count a conversation's tokens with the API's ``TokenizeCompletion``.

        Args:
            messages: The conversation.
            tools: Tools offered with it (counted by the API as part of the request).

        Returns:
            The number of tokens the model reads.
        """
        from langchain_core.messages import convert_to_messages
        from langchain_core.utils.function_calling import convert_to_openai_tool

        call: dict[str, Any] = {}
        if tools:
            call["tools"] = [convert_to_openai_tool(t) for t in tools]
        studio = self.studio
        model = self._configure(studio, self.uri, call)
        try:
            tokens = model.tokenize(
                to_sdk_messages(convert_to_messages(messages)), timeout=self._timeout()
            )
        except _rpc_error() as exc:
            raise self._fail(exc) from exc
        return len(tokens)

    def get_num_tokens(self, text: str) -> int:
        """Count a text's tokens with the API's ``TokenizeCompletion``.

        Args:
            text: The text, counted as one user message.

        Returns:
            The count.
        """
        from langchain_core.messages import HumanMessage

        return self.get_num_tokens_from_messages([HumanMessage(text)])

    # ---- batches -----------------------------------------------------------------------

    def batch(
        self,
        inputs: list[LanguageModelInput],
        config: RunnableConfig | list[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        deferred: bool | None = None,
        **kwargs: Any,
    ) -> list[Any]:
        """Answer several inputs; ``deferred=True`` runs them as deferred completions.

        Args:
            inputs: The inputs.
            config: One config, or one per input.
            return_exceptions: Return failures in place of answers instead of raising.
            deferred: Run deferred (``completionAsync``: cheaper, slower); the model's
                ``deferred`` when ``None``.
            **kwargs: Call parameters.

        Returns:
            The answers, in order.
        """
        if deferred is not None:
            kwargs["deferred"] = deferred
        return super().batch(inputs, config, return_exceptions=return_exceptions, **kwargs)

    async def abatch(
        self,
        inputs: list[LanguageModelInput],
        config: RunnableConfig | list[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        deferred: bool | None = None,
        **kwargs: Any,
    ) -> list[Any]:
        """Answer several inputs concurrently; ``deferred=True`` runs them deferred.

        Args:
            inputs: The inputs.
            config: One config, or one per input.
            return_exceptions: Return failures in place of answers instead of raising.
            deferred: Run deferred (``completionAsync``); the model's ``deferred`` when ``None``.
            **kwargs: Call parameters.

        Returns:
            The answers, in order.
        """
        if deferred is not None:
            kwargs["deferred"] = deferred
        return await super().abatch(inputs, config, return_exceptions=return_exceptions, **kwargs)

    # ---- the four generation methods ----------------------------------------------------

    def _finish(
        self, result: Any, uri: str, turn: int, stop: list[str] | None, deferred: bool
    ) -> ChatResult:
        out = chat_result(result, model=short_name(uri), provider=self.provider, turn=turn)
        message = out.generations[0].message
        if stop and isinstance(message.content, str):
            cut = min((i for s in stop if s and (i := message.content.find(s)) >= 0), default=-1)
            if cut >= 0:
                message.content = message.content[:cut]
        if deferred:
            message.response_metadata["deferred"] = True
        return out

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self.streaming and not kwargs.get("deferred", self.deferred):
            from langchain_core.language_models.chat_models import generate_from_stream

            return generate_from_stream(self._stream(messages, stop, run_manager, **kwargs))
        uri, sdk_messages, stop, deferred = self._prepare(messages, stop, kwargs)
        studio = self.studio
        model = self._configure(studio, uri, kwargs)
        try:
            if deferred:
                operation = model.run_deferred(sdk_messages, timeout=self._timeout())
                result = operation.wait(timeout=self._timeout(), poll_interval=self.poll_interval)
            else:
                result = model.run(sdk_messages, timeout=self._timeout())
        except _rpc_error() as exc:
            raise self._fail(exc) from exc
        return self._finish(result, uri, len(messages), stop, deferred)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self.streaming and not kwargs.get("deferred", self.deferred):
            from langchain_core.language_models.chat_models import agenerate_from_stream

            return await agenerate_from_stream(self._astream(messages, stop, run_manager, **kwargs))
        uri, sdk_messages, stop, deferred = self._prepare(messages, stop, kwargs)
        studio = self.async_studio
        model = self._configure(studio, uri, kwargs)
        try:
            if deferred:
                operation = await model.run_deferred(sdk_messages, timeout=self._timeout())
                result = await operation.wait(
                    timeout=self._timeout(), poll_interval=self.poll_interval
                )
            else:
                result = await model.run(sdk_messages, timeout=self._timeout())
        except _rpc_error() as exc:
            raise self._fail(exc) from exc
        return self._finish(result, uri, len(messages), stop, deferred)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        uri, sdk_messages, stop, _ = self._prepare(messages, stop, kwargs)
        studio = self.studio
        model = self._configure(studio, uri, kwargs)
        reader = StreamReader(
            model=short_name(uri), provider=self.provider, turn=len(messages), stop=stop
        )
        try:
            stream = model.run_stream(sdk_messages, timeout=self._timeout())
            for result in _sdk_results(iter(stream)):
                for chunk in reader.feed(result):
                    if run_manager is not None:
                        run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                    yield chunk
        except _SdkFailure as failure:
            raise self._fail(failure.error, reader.events) from failure.error
        yield reader.finish()

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        uri, sdk_messages, stop, _ = self._prepare(messages, stop, kwargs)
        studio = self.async_studio
        model = self._configure(studio, uri, kwargs)
        reader = StreamReader(
            model=short_name(uri), provider=self.provider, turn=len(messages), stop=stop
        )
        try:
            stream = model.run_stream(sdk_messages, timeout=self._timeout())
            async for result in _asdk_results(aiter(stream)):
                for chunk in reader.feed(result):
                    if run_manager is not None:
                        await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                    yield chunk
        except _SdkFailure as failure:
            raise self._fail(failure.error, reader.events) from failure.error
        yield reader.finish()


def _response_format(value: Any) -> Any:
    """OpenAI's ``response_format`` (what LangChain code passes) as the SDK takes it."""
    if isinstance(value, dict) and value.get("type") == "json_object":
        return "json"
    if isinstance(value, dict) and value.get("type") == "json_schema":
        spec = value.get("json_schema") or {}
        return {"json_schema": spec.get("schema") or {}, "name": spec.get("name") or "response"}
    return value
