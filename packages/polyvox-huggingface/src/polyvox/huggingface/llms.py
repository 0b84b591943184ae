"""``HuggingFaceEndpoint``: TGI's ``text_generation`` as a LangChain text-completion ``LLM``.

A drop-in for ``langchain_huggingface.HuggingFaceEndpoint``: a dedicated Inference Endpoint
or self-hosted TGI by ``endpoint_url``, or a Hub model by ``repo_id`` through an inference
provider that serves text generation. Calls ask for TGI's ``details`` (the finish reason and
the token count go to ``generation_info``); stop sequences end the text and are removed
from it, as langchain-huggingface removes them; streaming yields TGI's tokens.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any, ClassVar, Self

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseLLM
from langchain_core.outputs import Generation, GenerationChunk, LLMResult
from pydantic import AliasChoices, ConfigDict, Field, PrivateAttr, SecretStr, model_validator

from polyvox.core.errors import ProviderResponseError
from polyvox.core.lifecycle import ClientsMixin
from polyvox.core.retry import acall_with_retries, call_with_retries, stream_with_retries
from polyvox.huggingface._sdk import sdk_errors
from polyvox.huggingface.connection import HuggingFaceConnectionMixin
from polyvox.huggingface.loading import acall_waiting_for_model, call_waiting_for_model

__all__ = ["HuggingFaceEndpoint"]

_PARAMS = (
    "max_new_tokens", "temperature", "top_k", "top_p", "typical_p", "repetition_penalty",
    "seed", "truncate", "do_sample", "watermark", "return_full_text",
)  # fmt: skip


class HuggingFaceEndpoint(HuggingFaceConnectionMixin, ClientsMixin, BaseLLM):
    """TGI's text generation (an Inference Endpoint, self-hosted TGI, or a provider).

    Example:
        .. code-block:: python

            from polyvox.huggingface import HuggingFaceEndpoint

            llm = HuggingFaceEndpoint(endpoint_url="http://localhost:8080", max_new_tokens=64)
            llm.invoke("The capital of Poland is")
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True, protected_namespaces=())

    provider_id: ClassVar[str] = "huggingface"

    endpoint_url: str | None = None
    """The endpoint's URL (TGI's root; the SDK posts to it)."""

    repo_id: str | None = Field(default=None, validation_alias=AliasChoices("repo_id", "model"))
    """A Hub model id, served by ``inference_provider`` (when no ``endpoint_url``)."""

    inference_provider: str | None = Field(
        default=None, validation_alias=AliasChoices("provider", "inference_provider")
    )
    """The inference provider for ``repo_id`` (``None``: the first the Hub lists)."""

    api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("api_key", "huggingfacehub_api_token", "token")
    )
    """The Hugging Face token (``HF_TOKEN``); a public TGI needs none. Never shown."""

    base_url: str | None = None
    """Unused for text generation; kept so a ``ChatHuggingFace(llm=...)`` can read it."""

    max_new_tokens: int = 512
    """Most tokens to generate."""

    temperature: float | None = None
    """Sampling temperature (TGI wants it strictly positive)."""

    top_k: int | None = None
    """Sample among the k most likely tokens."""

    top_p: float | None = None
    """Nucleus sampling mass (TGI wants 0 < top_p < 1)."""

    typical_p: float | None = None
    """Typical decoding mass."""

    repetition_penalty: float | None = None
    """Penalty for repeated tokens (1.0 is none)."""

    seed: int | None = None
    """Seed for reproducible sampling."""

    truncate: int | None = None
    """Keep only this many prompt tokens (from the end)."""

    do_sample: bool | None = None
    """Sample (instead of greedy decoding)."""

    watermark: bool | None = None
    """Watermark the output."""

    return_full_text: bool | None = None
    """Prepend the prompt to the generated text."""

    stop: list[str] | None = Field(
        default=None, validation_alias=AliasChoices("stop", "stop_sequences")
    )
    """Sequences at which generation stops (TGI takes at most 4)."""

    streaming: bool = False
    """Stream internally even for ``invoke``."""

    timeout: float | None = 120.0
    """Seconds to wait for an answer."""

    max_retries: int = 2
    """Retries on 429 and 5xx (the SDK retries nothing)."""

    model_loading_timeout: float = Field(default=120.0, ge=0)
    """Seconds to wait in all for an endpoint that answers 503 "loading"."""

    bill_to: str | None = None
    """An organisation to bill provider calls to (``X-HF-Bill-To``)."""

    default_headers: dict[str, str] | None = None
    """Headers sent with every request."""

    server_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Further ``text_generation`` parameters (``grammar``, ``top_n_tokens``, ...)."""

    _client: Any = PrivateAttr(default=None)
    _async_client: Any = PrivateAttr(default=None)
    _held: Any = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.endpoint_url is None and self.repo_id is None:
            self.endpoint_url = os.environ.get("HF_INFERENCE_ENDPOINT") or None
        if self.endpoint_url is None and self.repo_id is None:
            msg = (
                "HuggingFaceEndpoint needs endpoint_url=... (a TGI server or Inference "
                "Endpoint; or set HF_INFERENCE_ENDPOINT) or repo_id=... (a Hub model)"
            )
            raise ValueError(msg)
        self._check_token(type(self).__name__, needed=self.endpoint_url is None)
        return self

    @property
    def _llm_type(self) -> str:
        return "polyvox-huggingface-endpoint"

    @property
    def _identifying_params(self) -> Mapping[str, Any]:
        return {
            "endpoint_url": self.endpoint_url,
            "repo_id": self.repo_id,
            "provider": self.inference_provider,
            **{k: getattr(self, k) for k in _PARAMS},
        }

    @property
    def lc_secrets(self) -> dict[str, str]:
        """Constructor arguments that are secrets, and the variables holding them."""
        return {"api_key": "HF_TOKEN"}

    def _target(self) -> dict[str, str | None]:
        if self.endpoint_url is not None:
            return {"model": self.endpoint_url}
        return {"model": self.repo_id, "provider": self.inference_provider}

    def _parameters(self, stop: list[str] | None, kwargs: dict[str, Any]) -> dict[str, Any]:
        params = {k: kwargs.pop(k, getattr(self, k)) for k in _PARAMS}
        params = {k: v for k, v in params.items() if v is not None}
        if stops := (stop if stop is not None else self.stop):
            params["stop"] = list(stops)
        params.update(self.server_kwargs)
        params.update(kwargs)
        params["details"] = True
        return params

    def _generation(self, output: Any, stops: list[str]) -> Generation:
        if not isinstance(output, Mapping) or not isinstance(output.get("generated_text"), str):
            msg = f"huggingface: text_generation returned {str(output)[:200]!r}, not a generation"
            raise ProviderResponseError(msg, provider="huggingface", body=str(output)[:2000])
        details = output.get("details") or {}
        return Generation(
            text=_strip_stop(output["generated_text"], stops),
            generation_info={
                "finish_reason": details.get("finish_reason"),
                "generated_tokens": details.get("generated_tokens"),
                "seed": details.get("seed"),
                "model_provider": "huggingface",
            },
        )

    def _generate(
        self,
        prompts: list[str],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> LLMResult:
        generations = []
        for prompt in prompts:
            params = self._parameters(stop, dict(kwargs))
            if self.streaming:
                text = "".join(c.text for c in self._stream(prompt, stop, run_manager, **kwargs))
                generations.append([Generation(text=text)])
                continue

            def once(prompt: str = prompt, params: dict[str, Any] = params) -> Any:
                try:
                    return self.client.text_generation(prompt, **params)
                except sdk_errors() as exc:
                    raise self._fail(exc) from exc

            def attempt(once: Any = once) -> Any:
                return call_waiting_for_model(once, self.model_loading_timeout)

            output = call_with_retries(attempt, self.max_retries)
            generations.append([self._generation(output, params.get("stop", []))])
        return LLMResult(generations=generations)

    async def _agenerate(
        self,
        prompts: list[str],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> LLMResult:
        generations = []
        for prompt in prompts:
            params = self._parameters(stop, dict(kwargs))

            async def once(prompt: str = prompt, params: dict[str, Any] = params) -> Any:
                try:
                    async with self._leased_async_client(stream=False) as client:
                        return await client.text_generation(prompt, **params)
                except sdk_errors() as exc:
                    raise self._fail(exc) from exc

            async def attempt(once: Any = once) -> Any:
                return await acall_waiting_for_model(once, self.model_loading_timeout)

            output = await acall_with_retries(attempt, self.max_retries)
            generations.append([self._generation(output, params.get("stop", []))])
        return LLMResult(generations=generations)

    def _stream(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[GenerationChunk]:
        params = self._parameters(stop, kwargs)

        def attempt() -> Iterator[GenerationChunk]:
            tokens = _TokenReader(params.get("stop", []))
            with self._stream_client() as client:

                def opened() -> Any:
                    try:
                        return client.text_generation(prompt, stream=True, **params)
                    except sdk_errors() as exc:
                        raise self._fail(exc) from exc

                try:
                    for event in call_waiting_for_model(opened, self.model_loading_timeout):
                        yield from tokens.feed(event)
                except sdk_errors() as exc:
                    raise self._fail(exc, tokens.events) from exc
            yield tokens.finish()

        for chunk in stream_with_retries(attempt, self.max_retries):
            if run_manager is not None and chunk.text:
                run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk

    async def _astream(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[GenerationChunk]:
        params = self._parameters(stop, kwargs)

        tokens = _TokenReader(params.get("stop", []))
        async with self._leased_async_client(stream=True) as client:

            async def opened() -> Any:
                try:
                    return await client.text_generation(prompt, stream=True, **params)
                except sdk_errors() as exc:
                    raise self._fail(exc) from exc

            events = await acall_waiting_for_model(opened, self.model_loading_timeout)
            try:
                async for event in events:
                    for chunk in tokens.feed(event):
                        if run_manager is not None and chunk.text:
                            await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                        yield chunk
            except sdk_errors() as exc:
                raise self._fail(exc, tokens.events) from exc
            finally:
                await events.aclose()
        yield tokens.finish()


def _strip_stop(text: str, stops: list[str]) -> str:
    for stop in stops:
        if stop and text.endswith(stop):
            return text[: -len(stop)]
    return text


class _TokenReader:
    """TGI's stream events to text chunks; the stop sequence that ended it is held back."""

    def __init__(self, stops: list[str]) -> None:
        self._stops = [s for s in stops if s]
        self._held = ""
        self._details: Mapping[str, Any] | None = None
        self.events = 0

    def feed(self, event: Any) -> list[GenerationChunk]:
        self.events += 1
        token = event.get("token") if isinstance(event, Mapping) else None
        if isinstance(event, Mapping) and event.get("details"):
            self._details = event["details"]
        if not isinstance(token, Mapping) or token.get("special"):
            return []
        self._held += str(token.get("text") or "")
        keep = max((len(s) - 1 for s in self._stops), default=0)
        if self._details is not None:
            keep = 0
            self._held = _strip_stop(self._held, self._stops)
        out, self._held = self._held[: len(self._held) - keep], self._held[len(self._held) - keep :]
        return [GenerationChunk(text=out)] if out else []

    def finish(self) -> GenerationChunk:
        if self._details is None:
            msg = f"huggingface: the stream ended after {self.events} events without details"
            raise ProviderResponseError(msg, provider="huggingface", body="")
        text = _strip_stop(self._held, self._stops)
        info = {
            "finish_reason": self._details.get("finish_reason"),
            "generated_tokens": self._details.get("generated_tokens"),
        }
        return GenerationChunk(text=text, generation_info=info)
