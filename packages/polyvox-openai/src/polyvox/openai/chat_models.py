"""``ChatOpenAI``: OpenAI and every OpenAI-compatible server as a LangChain chat model."""

from __future__ import annotations

import inspect
import json
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any, ClassVar, cast

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field, PrivateAttr

from polyvox.core.chat_model import PolyvoxChatModel
from polyvox.core.errors import ProviderResponseError
from polyvox.core.keywords import OPENAI_COMPATIBLE_FIELDS
from polyvox.core.metadata import is_blocked, response_metadata
from polyvox.core.openai_format import (
    message_from_openai,
    provider_cost_from_openai,
    to_openai_messages,
    usage_from_openai,
)
from polyvox.core.ranges import (
    OPENAI_COMPATIBLE_RANGES,
    OPENAI_RANGES,
    ParameterRanges,
    is_openai_model,
)
from polyvox.openai import profiles as _profiles  # noqa: F401  (registers the profiles)
from polyvox.openai._sdk import STREAM_BROKE, SDKClientMixin, sdk, transport_errors

if TYPE_CHECKING:
    import openai

    from polyvox.core.token_counting import TokenCounter
    from polyvox.openai.streaming import ChatStreamReader

__all__ = ["ChatOpenAI"]


@cache
def _sdk_params() -> frozenset[str]:
    """Parameters the SDK's ``chat.completions.create`` accepts by name."""
    from openai.resources.chat.completions import Completions

    return frozenset(inspect.signature(Completions.create).parameters) - {"self"}


@cache
def _compatible_params() -> frozenset[str]:
    return _sdk_params() | OPENAI_COMPATIBLE_FIELDS


class ChatOpenAI(SDKClientMixin, PolyvoxChatModel):
    """A chat model for OpenAI and any server speaking its chat-completions API.

    A drop-in for ``langchain_openai.ChatOpenAI`` for chat completions: change the import
    and nothing else. The key comes from ``OPENAI_API_KEY`` and the server from
    ``OPENAI_BASE_URL`` unless given.

    Example:
        .. code-block:: python

            from polyvox.openai import ChatOpenAI

            model = ChatOpenAI(model="gpt-4o-mini", temperature=0)
            model.invoke("Say hi").content
    """

    provider: ClassVar[str] = "openai"
    api_key_env: ClassVar[str | None] = "OPENAI_API_KEY"
    base_url_env: ClassVar[str | None] = "OPENAI_BASE_URL"
    max_tokens_param: ClassVar[str] = "max_completion_tokens"
    """The request field ``max_tokens`` is sent as (OpenAI's reasoning models need this one)."""
    parameter_ranges: ClassVar[ParameterRanges | None] = OPENAI_RANGES
    response_extras: ClassVar[tuple[str, ...]] = ()
    """Top-level fields of the server's answer copied into ``response_metadata`` as they are
    (llama.cpp's ``timings``)."""

    organization: str | None = None
    """OpenAI organization id (``OpenAI-Organization`` header)."""

    top_p: float | None = None
    """Nucleus sampling mass."""

    frequency_penalty: float | None = None
    """Penalty for tokens by how often they appeared so far."""

    presence_penalty: float | None = None
    """Penalty for tokens that appeared at all so far."""

    seed: int | None = None
    """Seed for best-effort deterministic sampling."""

    reasoning_effort: str | None = None
    """Reasoning effort for reasoning models (``"low"``, ``"medium"``, ``"high"``, ...)."""

    stream_usage: bool = True
    """Ask for token usage at the end of streams (``stream_options.include_usage``)."""

    default_headers: dict[str, str] | None = None
    """Headers sent with every request."""

    default_query: dict[str, object] | None = None
    """Query parameters sent with every request."""

    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Further request-body fields, sent as they are (server-specific options)."""

    _client: Any = PrivateAttr(default=None)
    _async_client: Any = PrivateAttr(default=None)

    # ---- clients -------------------------------------------------------------------

    def _extra_client_kwargs(self) -> dict[str, Any]:
        return {
            "organization": self.organization,
            "default_headers": self.default_headers,
            "default_query": self.default_query,
        }

    # ---- request ---------------------------------------------------------------------

    def _is_openai_itself(self) -> bool:
        """Whether this is ``ChatOpenAI`` talking to OpenAI (not a compatible server)."""
        url = self.base_url
        return type(self).provider == "openai" and (url is None or "api.openai.com" in url)

    def _api_keywords(self) -> frozenset[str]:
        if self._is_openai_itself():
            return _sdk_params()
        return _compatible_params()  # another server: its own parameters are known too

    def _parameter_ranges(self) -> ParameterRanges | None:
        """OpenAI's ranges at OpenAI or for OpenAI's models; a compatible server's else."""
        if type(self).provider != "openai" or self._is_openai_itself():
            return type(self).parameter_ranges
        if is_openai_model(self.model):  # Azure, a proxy: OpenAI's model, OpenAI's ranges
            return OPENAI_RANGES
        return OPENAI_COMPATIBLE_RANGES  # another server's model behind ChatOpenAI

    def _configured_parameters(self) -> Iterable[Mapping[str, Any]]:
        return (self.model_kwargs,)

    def _token_counter(self) -> TokenCounter:
        """``tiktoken``'s encoding for the model, else the estimate.

        At OpenAI, ``o200k_base`` for a model ``tiktoken`` does not know yet; at another
        server, only a model ``tiktoken`` knows gets its encoding.
        """
        from polyvox.openai.tokenize import tiktoken_counter

        default = "o200k_base" if self._is_openai_itself() else None
        return tiktoken_counter(self.model, default_encoding=default)

    def _payload(
        self, messages: list[BaseMessage], stop: list[str] | None, stream: bool, **kwargs: Any
    ) -> dict[str, Any]:
        if kwargs:
            self._check_ranges(kwargs)
            if isinstance(extra := kwargs.get("extra_body"), dict):
                self._check_ranges(extra)
        body: dict[str, Any] = {"model": self.model, "messages": to_openai_messages(messages)}
        for key in ("temperature", "top_p", "frequency_penalty", "presence_penalty", "seed"):
            value = getattr(self, key)
            if value is not None:
                body[key] = value
        if self.reasoning_effort is not None:
            body["reasoning_effort"] = self.reasoning_effort
        max_tokens = kwargs.pop("max_tokens", None)
        if max_tokens is None:
            max_tokens = self.max_tokens
        if max_tokens is not None:
            body[type(self).max_tokens_param] = max_tokens
        if stop := self._resolve_stop(stop):
            body["stop"] = stop
        if stream:
            body["stream"] = True
            if self.stream_usage and kwargs.pop("stream_usage", True):
                body["stream_options"] = {"include_usage": True}
        kwargs.pop("stream_usage", None)
        body.update(kwargs)
        known = _sdk_params()
        extra_body = dict(self.model_kwargs)
        extra_body.update({k: body.pop(k) for k in list(body) if k not in known})
        if extra_body:
            body["extra_body"] = {**extra_body, **body.get("extra_body", {})}
        return body

    def _result(self, raw: Any) -> ChatResult:
        text = raw.http_response.text
        try:
            data = json.loads(text)
            choice = data["choices"][0]
            message = choice["message"]
            if not isinstance(message, dict):  # null: nothing to read an answer from
                raise TypeError("choices[0].message is not an object")
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            msg = (
                f"{self.provider} at {self.base_url} returned a response that is not a chat "
                f"completion: {text[:200]!r}"
            )
            raise ProviderResponseError(msg, provider=self.provider, body=text[:2000]) from exc
        finish = choice.get("finish_reason")
        raw_usage = data.get("usage")
        if not isinstance(raw_usage, dict):
            raw_usage = None
        meta = response_metadata(
            model_name=data.get("model") or self.model,
            model_provider=self.provider,
            finish_reason=finish,
            blocked=is_blocked(finish, refusal=message.get("refusal")),
            id=data.get("id"),
            system_fingerprint=data.get("system_fingerprint"),
            service_tier=data.get("service_tier"),
            upstream_provider=data.get("provider"),
            native_finish_reason=choice.get("native_finish_reason"),
            logprobs=choice.get("logprobs"),
            token_usage=raw_usage,
            provider_cost=provider_cost_from_openai(raw_usage),
            **{key: data[key] for key in type(self).response_extras if data.get(key)},
        )
        meta.setdefault("logprobs", None)  # there, as langchain-openai has it, when not asked
        usage = usage_from_openai(raw_usage)
        ai = message_from_openai(
            message, response_metadata=meta, usage=usage, message_id=data.get("id")
        )
        return ChatResult(
            generations=[ChatGeneration(message=ai, generation_info={"finish_reason": finish})],
            llm_output={"model_name": meta["model_name"], "model_provider": self.provider},
        )

    def _fail(self, exc: openai.OpenAIError) -> Exception:
        from polyvox.openai.errors import map_openai_error

        return map_openai_error(exc, provider=self.provider, base_url=self.base_url)

    def _reader(self, response: Any, model: str) -> ChatStreamReader:
        from polyvox.openai.streaming import ChatStreamReader

        return ChatStreamReader(
            provider=self.provider,
            model=model,
            request=response.request,
            extras=type(self).response_extras,
        )

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
        body = self._payload(messages, stop, False, **kwargs)
        try:
            raw = self.client.chat.completions.with_raw_response.create(**body)
        except sdk().OpenAIError as exc:
            raise self._fail(exc) from exc
        return self._result(raw)

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
        body = self._payload(messages, stop, False, **kwargs)
        try:
            raw = await self.async_client.chat.completions.with_raw_response.create(**body)
        except sdk().OpenAIError as exc:
            raise self._fail(exc) from exc
        return self._result(raw)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        body = self._payload(messages, stop, True, **kwargs)
        try:
            raw = self.client.chat.completions.with_raw_response.create(**body)
        except sdk().OpenAIError as exc:
            raise self._fail(exc) from exc
        response = raw.http_response
        reader = self._reader(response, body["model"])
        try:
            for line in _lines(response.iter_lines(), reader):
                for chunk in reader.feed(line):
                    _on_token(run_manager, chunk)
                    yield chunk
            for chunk in reader.finish():
                yield chunk
        except sdk().OpenAIError as exc:
            raise self._fail(exc) from exc
        finally:
            response.close()

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        body = self._payload(messages, stop, True, **kwargs)
        try:
            raw = await self.async_client.chat.completions.with_raw_response.create(**body)
        except sdk().OpenAIError as exc:
            raise self._fail(exc) from exc
        response = raw.http_response
        reader = self._reader(response, body["model"])
        try:
            try:
                async for line in response.aiter_lines():
                    for chunk in reader.feed(line):
                        if run_manager is not None and chunk.text:
                            await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                        yield chunk
            except transport_errors() as exc:
                raise _broken(reader, exc) from exc
            for chunk in reader.finish():
                yield chunk
        except sdk().OpenAIError as exc:
            raise self._fail(exc) from exc
        finally:
            await response.aclose()


def _broken(reader: ChatStreamReader, exc: BaseException) -> openai.APIConnectionError:
    error = cast(
        "openai.APIConnectionError",
        sdk().APIConnectionError(
            message=f"the stream broke after {reader.chunks} events "
            f"({type(exc).__name__}: {exc}): the answer is incomplete",
            request=reader.request,
        ),
    )
    setattr(error, STREAM_BROKE, True)
    return error


def _lines(lines: Iterator[str], reader: ChatStreamReader) -> Iterator[str]:
    """The body's lines; a connection that breaks mid-body becomes an SDK connection error."""
    try:
        yield from lines
    except transport_errors() as exc:
        raise _broken(reader, exc) from exc


def _on_token(run_manager: CallbackManagerForLLMRun | None, chunk: ChatGenerationChunk) -> None:
    if run_manager is not None and chunk.text:
        run_manager.on_llm_new_token(chunk.text, chunk=chunk)
