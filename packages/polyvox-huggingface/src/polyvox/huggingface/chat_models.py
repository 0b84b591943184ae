"""``ChatHuggingFace``: Hugging Face's Inference Providers and dedicated endpoints, as a chat model.

Two places answer: the Inference Providers router (``base_url``, by default
``https://router.huggingface.co/v1``), with ``provider="auto"`` or a named provider
(``together``, ``fireworks-ai``, ``groq``, ...; sent as the router's ``model:provider``), or a
dedicated Inference Endpoint / self-hosted TGI by ``endpoint_url`` (its OpenAI-style messages
API). Sync calls go through ``InferenceClient.chat_completion``, async ones through
``AsyncInferenceClient``, natively. The SDK does not retry: polyvox retries 429s and 5xx
(``max_retries``, honouring ``Retry-After``), and waits for a model that is still loading
(``model_loading_timeout``).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from typing import Any, ClassVar, Literal, Self

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from pydantic import AliasChoices, Field, PrivateAttr, SecretStr, model_validator

from polyvox.core.chat_model import PolyvoxChatModel
from polyvox.core.openai_format import to_openai_messages
from polyvox.core.retry import (
    acall_with_retries,
    astream_with_retries,
    call_with_retries,
    stream_with_retries,
)
from polyvox.huggingface import profiles as _profiles  # noqa: F401  (registers the profiles)
from polyvox.huggingface._sdk import ROUTER_URL, sdk_errors
from polyvox.huggingface.connection import HuggingFaceConnectionMixin
from polyvox.huggingface.loading import acall_waiting_for_model, call_waiting_for_model
from polyvox.huggingface.responses import StreamReader, chat_result

__all__ = ["ChatHuggingFace"]

_POLICIES = frozenset({"auto", "fastest", "cheapest", "preferred"})
_SAMPLING = ("temperature", "top_p", "seed", "frequency_penalty", "presence_penalty")


@functools.cache
def _sdk_params() -> frozenset[str]:
    """Parameters ``InferenceClient.chat_completion`` accepts by name."""
    from huggingface_hub import InferenceClient

    names = inspect.signature(InferenceClient.chat_completion).parameters
    return frozenset(names) - {"self", "messages", "stream"}


class ChatHuggingFace(HuggingFaceConnectionMixin, PolyvoxChatModel):
    """A chat model for Hugging Face Inference Providers and dedicated endpoints (TGI).

    A drop-in for ``langchain_huggingface.ChatHuggingFace``: the same class name, the
    ``llm=HuggingFaceEndpoint(...)`` form as well as ``model=...`` directly, the token from
    ``HF_TOKEN`` (or ``HUGGINGFACEHUB_API_TOKEN``), and the SDK's exception classes.

    Example:
        .. code-block:: python

            from polyvox.huggingface import ChatHuggingFace

            model = ChatHuggingFace(model="meta-llama/Llama-3.3-70B-Instruct", provider="auto")
            model.invoke("Say hi").content
    """

    provider: ClassVar[str] = "huggingface"
    api_key_env: ClassVar[str | None] = None  # HF_TOKEN and its older names, read below
    base_url_env: ClassVar[str | None] = "HF_ROUTER_URL"
    requires_api_key: ClassVar[bool] = False  # a dedicated endpoint or TGI needs none

    model: str = Field(
        default="tgi", validation_alias=AliasChoices("model", "model_name", "model_id", "repo_id")
    )
    """The Hub model id (``meta-llama/Llama-3.3-70B-Instruct``); ignored by a TGI endpoint."""

    inference_provider: str | None = Field(
        default="auto", validation_alias=AliasChoices("provider", "inference_provider")
    )
    """``"auto"`` (the router picks, by your preferences), a policy (``"fastest"``,
    ``"cheapest"``, ``"preferred"``) or a provider (``"together"``, ``"groq"``, ...). Passed as
    ``provider=``; named ``inference_provider`` here because ``provider`` is the polyvox
    provider id every model carries."""

    endpoint_url: str | None = None
    """A dedicated Inference Endpoint or self-hosted TGI URL; chat goes to its messages API
    (``{endpoint_url}/v1/chat/completions``) instead of the router."""

    api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("api_key", "huggingfacehub_api_token", "token")
    )
    """The Hugging Face token; read from ``HF_TOKEN`` (or ``HUGGINGFACEHUB_API_TOKEN``)."""

    max_tokens: int | None = Field(
        default=None,
        validation_alias=AliasChoices("max_tokens", "max_new_tokens", "max_completion_tokens"),
    )
    """Most tokens to generate; ``None`` leaves the server's default."""

    top_p: float | None = None
    """Nucleus sampling mass."""

    seed: int | None = None
    """Seed for best-effort reproducible sampling."""

    frequency_penalty: float | None = None
    """Penalty for tokens by how often they appeared so far."""

    presence_penalty: float | None = None
    """Penalty for tokens that appeared at all so far."""

    bill_to: str | None = None
    """An organisation to bill router calls to (the ``X-HF-Bill-To`` header)."""

    default_headers: dict[str, str] | None = None
    """Headers sent with every request."""

    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Further request-body fields, sent as they are (``extra_body``)."""

    model_loading_timeout: float = Field(default=120.0, ge=0)
    """Seconds to wait in all for a model that answers 503 "loading" before failing."""

    stream_usage: bool = True
    """Ask for token usage at the end of streams (``stream_options.include_usage``)."""

    _client: Any = PrivateAttr(default=None)
    _async_client: Any = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _from_llm(cls, data: Any) -> Any:
        """Accept langchain-huggingface's ``ChatHuggingFace(llm=HuggingFaceEndpoint(...))``."""
        if not isinstance(data, dict) or "llm" not in data:
            return data
        data = dict(data)
        llm = data.pop("llm")  # a HuggingFaceEndpoint (or anything with its fields)
        for ours, theirs in (
            ("model", "repo_id"),
            ("endpoint_url", "endpoint_url"),
            ("provider", "inference_provider"),
            ("api_key", "api_key"),
            ("temperature", "temperature"),
            ("max_tokens", "max_new_tokens"),
            ("top_p", "top_p"),
            ("seed", "seed"),
            ("stop", "stop"),
            ("timeout", "timeout"),
            ("bill_to", "bill_to"),
            ("base_url", "base_url"),
        ):
            value = getattr(llm, theirs, None)
            if value is not None and ours not in data:
                data[ours] = value
        return data

    @model_validator(mode="after")
    def _token(self) -> Self:
        self._check_token(type(self).__name__, needed=self.endpoint_url is None)
        if self.endpoint_url is None and self.base_url is None:
            self.base_url = ROUTER_URL
        return self

    @property
    def lc_secrets(self) -> dict[str, str]:
        """Constructor arguments that are secrets, and the variables holding them."""
        return {"api_key": "HF_TOKEN"}

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            **super()._identifying_params,
            "provider": self.inference_provider,
            "endpoint_url": self.endpoint_url,
        }

    # ---- request ---------------------------------------------------------------------

    def _target(self) -> dict[str, str | None]:
        return {"base_url": self.endpoint_url or self.base_url}

    def _api_keywords(self) -> frozenset[str]:
        return _sdk_params() | {"parallel_tool_calls", "max_new_tokens"}

    def _configured_parameters(self) -> Iterable[Mapping[str, Any]]:
        return (self.model_kwargs,)

    def _routed_model(self, model: str) -> str:
        """The model as the router reads it: ``org/name`` or ``org/name:provider``."""
        choice = self.inference_provider
        if self.endpoint_url is not None or not choice or choice == "auto" or ":" in model:
            return model
        return f"{model}:{choice}"

    def _request(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None,
        stream: bool,
        kwargs: dict[str, Any],
    ) -> dict[str, Any]:
        if kwargs:
            self._check_ranges(kwargs)
        model = str(kwargs.pop("model", self.model))
        request: dict[str, Any] = {
            "messages": to_openai_messages(messages),
            "model": self._routed_model(model),
        }
        for key in _SAMPLING:
            value = kwargs.pop(key, getattr(self, key))
            if value is not None:
                request[key] = value
        limit = kwargs.pop("max_tokens", None) or kwargs.pop("max_new_tokens", None)
        if (limit := limit or self.max_tokens) is not None:
            request["max_tokens"] = limit
        if stop := self._resolve_stop(stop):
            request["stop"] = stop
        if stream:
            request["stream"] = True
            if self.stream_usage and kwargs.pop("stream_usage", True):
                request["stream_options"] = {"include_usage": True}
        kwargs.pop("stream_usage", None)
        extra = dict(self.model_kwargs)
        known = _sdk_params()
        for key in list(kwargs):
            if key not in known:
                extra[key] = kwargs.pop(key)
        request.update(kwargs)
        if extra:
            request["extra_body"] = {**extra, **request.get("extra_body", {})}
        return request

    def _structured_output_kwargs(
        self,
        method: Literal["json_schema", "json_mode"],
        json_schema: dict[str, Any],
        name: str,
        strict: bool | None,
    ) -> dict[str, Any]:
        if method == "json_mode":
            return {"response_format": {"type": "json_object"}}
        # huggingface_hub sends a JSON schema as TGI's grammar, {"type": "json_object", "value"}
        return {
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": name, "schema": json_schema},
            }
        }

    # ---- the four generation methods ----------------------------------------------------

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self.streaming:
            from langchain_core.language_models.chat_models import generate_from_stream

            return generate_from_stream(self._stream(messages, stop, run_manager, **kwargs))
        request = self._request(messages, stop, False, kwargs)

        def once() -> Any:
            try:
                return self.client.chat_completion(**request)
            except sdk_errors() as exc:
                raise self._fail(exc) from exc
            except ValueError as exc:  # a body that is not JSON
                raise _malformed(exc) from exc

        def attempt() -> Any:
            return call_waiting_for_model(once, self.model_loading_timeout)

        output = call_with_retries(attempt, self.max_retries)
        return chat_result(
            output, provider=self.provider, model=request["model"], turn=len(messages)
        )

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self.streaming:
            from langchain_core.language_models.chat_models import agenerate_from_stream

            return await agenerate_from_stream(self._astream(messages, stop, run_manager, **kwargs))
        request = self._request(messages, stop, False, kwargs)

        async def once() -> Any:
            try:
                async with self._leased_async_client(stream=False) as client:
                    return await client.chat_completion(**request)
            except sdk_errors() as exc:
                raise self._fail(exc) from exc
            except ValueError as exc:
                raise _malformed(exc) from exc

        async def attempt() -> Any:
            return await acall_waiting_for_model(once, self.model_loading_timeout)

        output = await acall_with_retries(attempt, self.max_retries)
        return chat_result(
            output, provider=self.provider, model=request["model"], turn=len(messages)
        )

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        request = self._request(messages, stop, True, kwargs)

        def attempt() -> Iterator[ChatGenerationChunk]:
            reader = StreamReader(
                provider=self.provider, model=request["model"], turn=len(messages)
            )
            with self._stream_client() as client:

                def opened() -> Any:
                    try:
                        return client.chat_completion(**request)
                    except sdk_errors() as exc:
                        raise self._fail(exc) from exc

                events = call_waiting_for_model(opened, self.model_loading_timeout)
                try:
                    for event in events:
                        yield from reader.feed(event)
                except sdk_errors() as exc:
                    raise self._fail(exc, reader.events) from exc
                except ValueError as exc:
                    raise _malformed(exc) from exc
            yield reader.finish()

        for chunk in stream_with_retries(attempt, self.max_retries):
            if run_manager is not None and chunk.text:
                run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        request = self._request(messages, stop, True, kwargs)

        async def attempt() -> AsyncIterator[ChatGenerationChunk]:
            reader = StreamReader(
                provider=self.provider, model=request["model"], turn=len(messages)
            )
            async with self._leased_async_client(stream=True) as client:

                async def opened() -> Any:
                    try:
                        return await client.chat_completion(**request)
                    except sdk_errors() as exc:
                        raise self._fail(exc) from exc

                events = await acall_waiting_for_model(opened, self.model_loading_timeout)
                try:
                    async for event in events:
                        for chunk in reader.feed(event):
                            yield chunk
                except sdk_errors() as exc:
                    raise self._fail(exc, reader.events) from exc
                except ValueError as exc:
                    raise _malformed(exc) from exc
                finally:
                    await events.aclose()
            yield reader.finish()

        async for chunk in astream_with_retries(attempt, self.max_retries):
            if run_manager is not None and chunk.text:
                await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk


def _malformed(exc: BaseException) -> Exception:
    from polyvox.core.errors import ProviderResponseError

    msg = f"huggingface sent a response that could not be read: {exc}"
    return ProviderResponseError(msg, provider="huggingface", body=str(exc)[:2000])
