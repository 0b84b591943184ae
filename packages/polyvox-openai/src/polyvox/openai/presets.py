"""OpenAI-compatible servers, each as a ``ChatOpenAI`` with the right defaults.

Every preset is a subclass, so everything ``ChatOpenAI`` does works the same; what
changes is the default base URL, the key's environment variable, whether a key is needed,
the ``model_provider`` reported in ``response_metadata`` (and used by cost tracking), and
small protocol differences (OpenRouter's attribution headers; ``max_tokens`` rather than
``max_completion_tokens`` for servers that predate the latter; no ``stream_options`` for
Mistral, which refuses it).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Self

from langchain_core.language_models import ModelProfile
from langchain_core.messages import BaseMessage
from pydantic import model_validator

from polyvox.core.profiles import get_profile
from polyvox.core.ranges import (
    LLAMACPP_RANGES,
    OPENAI_COMPATIBLE_RANGES,
    OPENROUTER_RANGES,
    VLLM_RANGES,
    ParameterRanges,
)
from polyvox.openai.chat_models import ChatOpenAI
from polyvox.openai.llamacpp import LlamaCppLocal
from polyvox.openai.llamacpp_local import LlamaCppTemplateError

if TYPE_CHECKING:
    from polyvox.core.token_counting import TokenCounter

__all__ = [
    "ChatCloudRu",
    "ChatLlamaCpp",
    "ChatMistral",
    "ChatOpenRouter",
    "ChatTogether",
    "ChatVLLM",
]


class ChatOpenRouter(ChatOpenAI):
    """OpenRouter: hundreds of models from many providers behind one key.

    Model ids are ``vendor/model`` (``"openai/gpt-4.1"``, ``"anthropic/claude-sonnet-4.5"``).
    The key comes from ``OPENROUTER_API_KEY``. OpenRouter's ``: OPENROUTER PROCESSING``
    keep-alive comments are skipped, its ``reasoning`` and ``reasoning_details`` land in
    ``additional_kwargs``, the upstream provider in ``response_metadata["upstream_provider"]``,
    and an error event mid-stream raises. Routing options go in ``model_kwargs``
    (``{"provider": {"order": [...]}}``, ``{"reasoning": {"effort": "high"}}``).

    Example:
        .. code-block:: python

            from polyvox.openai import ChatOpenRouter

            model = ChatOpenRouter(model="openai/gpt-4.1-mini", app_name="my-app")
    """

    provider: ClassVar[str] = "openrouter"
    api_key_env: ClassVar[str | None] = "OPENROUTER_API_KEY"
    base_url_env: ClassVar[str | None] = "OPENROUTER_BASE_URL"
    default_base_url: ClassVar[str | None] = "https://openrouter.ai/api/v1"
    max_tokens_param: ClassVar[str] = "max_tokens"
    parameter_ranges: ClassVar[ParameterRanges | None] = OPENROUTER_RANGES

    site_url: str | None = None
    """Your site, sent as ``HTTP-Referer`` for OpenRouter's app attribution."""

    app_name: str | None = None
    """Your app's name, sent as ``X-Title`` for OpenRouter's app attribution."""

    def _resolve_model_profile(self) -> ModelProfile | None:
        """OpenRouter's own profile for the id, else the vendor's (``openai/gpt-4o`` → openai)."""
        own = get_profile(type(self).provider, self.model)
        if own is not None:
            return own
        vendor, _, name = self.model.partition("/")
        return get_profile(vendor, name) if name else None

    def _token_counter(self) -> TokenCounter:
        """``tiktoken`` for ``openai/*`` models, else the estimate (no count endpoint)."""
        from polyvox.core.token_counting import EstimateCounter
        from polyvox.openai.tokenize import tiktoken_counter

        vendor, _, name = self.model.partition("/")
        if vendor == "openai" and name:
            return tiktoken_counter(name, default_encoding="o200k_base")
        return EstimateCounter(f"OpenRouter has no token-count endpoint for {self.model!r}")

    @model_validator(mode="after")
    def _attribution_headers(self) -> Self:
        headers = dict(self.default_headers or {})
        if self.site_url:
            headers.setdefault("HTTP-Referer", self.site_url)
        if self.app_name:
            headers.setdefault("X-Title", self.app_name)
        self.default_headers = headers or None
        return self


class ChatCloudRu(ChatOpenAI):
    """Cloud.ru (SberCloud) Foundation Models through their OpenAI-compatible API.

    The key (an API key from the Cloud.ru console) comes from ``CLOUDRU_API_KEY``; the
    endpoint defaults to ``https://foundation-models.api.cloud.ru/v1`` — pass ``base_url``
    (or set ``CLOUDRU_BASE_URL``) for a dedicated model endpoint.
    """

    provider: ClassVar[str] = "cloudru"
    api_key_env: ClassVar[str | None] = "CLOUDRU_API_KEY"
    base_url_env: ClassVar[str | None] = "CLOUDRU_BASE_URL"
    default_base_url: ClassVar[str | None] = "https://foundation-models.api.cloud.ru/v1"
    max_tokens_param: ClassVar[str] = "max_tokens"
    parameter_ranges: ClassVar[ParameterRanges | None] = OPENAI_COMPATIBLE_RANGES

    def _token_counter(self) -> TokenCounter:
        from polyvox.core.token_counting import EstimateCounter

        return EstimateCounter("Cloud.ru has no token-count endpoint polyvox can call")


class ChatLlamaCpp(LlamaCppLocal, ChatOpenAI):
    """llama.cpp two ways: a GGUF file in this process, or a running ``llama-server``.

    ``ChatLlamaCpp(model_path="model.gguf")`` loads the file in this process through
    ``xllamacpp`` (the ``llamacpp`` extra): llama.cpp's own server code, with no process
    or port of yours to manage. The model loads on the first call and is shared by the
    instances with the same file and settings (``n_ctx``, ``n_gpu_layers``,
    ``n_threads``, ``n_parallel``, ``chat_template``); ``close()`` on the last unloads it.
    It uses the GGUF's chat template; tools need a template that supports them (a clear
    error says when it does not), and ``with_structured_output`` compiles the JSON schema
    into llama.cpp's grammar, so the answer is valid JSON for the schema by construction
    (only ``max_tokens`` cutting it short can break it). ``response_metadata["timings"]``
    holds llama.cpp's timings (tokens per second, prompt and generation milliseconds).

    ``ChatLlamaCpp(base_url=...)`` talks to ``llama-server -m model.gguf --port 8080`` (add
    ``--jinja`` for tool calling); the base URL defaults to ``http://127.0.0.1:8080/v1`` (or
    ``LLAMACPP_BASE_URL``). No key is needed; one set with ``--api-key`` is read from
    ``LLAMACPP_API_KEY``. The model name is informational for a single-model server.

    Both ways are local for the router, and priced 0 by the catalog.

    Example:
        .. code-block:: python

            from polyvox.openai import ChatLlamaCpp

            in_process = ChatLlamaCpp(model_path="models/qwen2.5-0.5b-instruct-q4_k_m.gguf")
            served = ChatLlamaCpp(base_url="http://127.0.0.1:8080/v1")
    """

    provider: ClassVar[str] = "llamacpp"
    api_key_env: ClassVar[str | None] = "LLAMACPP_API_KEY"
    base_url_env: ClassVar[str | None] = "LLAMACPP_BASE_URL"
    default_base_url: ClassVar[str | None] = "http://127.0.0.1:8080/v1"
    requires_api_key: ClassVar[bool] = False
    is_local: ClassVar[bool] = True
    max_tokens_param: ClassVar[str] = "max_tokens"
    parameter_ranges: ClassVar[ParameterRanges | None] = LLAMACPP_RANGES
    response_extras: ClassVar[tuple[str, ...]] = ("timings",)

    model: str = "local"
    """The model name (llama-server serves the one model it was started with; in process,
    the GGUF file's name unless given)."""

    def _payload(
        self, messages: list[BaseMessage], stop: list[str] | None, stream: bool, **kwargs: Any
    ) -> dict[str, Any]:
        body = super()._payload(messages, stop, stream, **kwargs)
        if self.in_process and body.get("tools"):
            caps = self.loaded_model.capabilities
            if not caps.get("supports_tools"):
                msg = (
                    f"the chat template of {Path(self.model_path or '').name} does not support "
                    "tools (llama.cpp reads supports_tools=false from it): use a GGUF whose "
                    "template handles tools (Qwen 2.5/3, Llama 3.1+, Mistral...), pass "
                    "chat_template= with one that does, or use with_structured_output"
                )
                raise LlamaCppTemplateError(msg)
        return body

    def _token_counter(self) -> TokenCounter:
        """The server's tokenizer (llama.cpp's ``/tokenize``); an estimate in process."""
        from polyvox.core.token_counting import EstimateCounter
        from polyvox.openai.tokenize import ServerTokenCounter

        if self.in_process:
            return EstimateCounter("an in-process llama.cpp model has no tokenize call")
        return ServerTokenCounter(
            client=lambda: self.client,
            base_url=self.base_url or "",
            model=self.model,
            fail=self._fail,
            style="llamacpp",
        )


class ChatVLLM(ChatOpenAI):
    """A model served by vLLM's OpenAI-compatible server (``vllm serve MODEL``).

    The base URL defaults to ``http://127.0.0.1:8000/v1`` (or ``VLLM_BASE_URL``); a key
    set with ``--api-key`` is read from ``VLLM_API_KEY``. vLLM's sampling extras
    (``top_k``, ``min_p``, ``repetition_penalty``, ``guided_json``...) go in ``model_kwargs``
    or as call keyword arguments; reasoning parsers' ``reasoning_content`` is kept.
    """

    provider: ClassVar[str] = "vllm"
    api_key_env: ClassVar[str | None] = "VLLM_API_KEY"
    base_url_env: ClassVar[str | None] = "VLLM_BASE_URL"
    default_base_url: ClassVar[str | None] = "http://127.0.0.1:8000/v1"
    requires_api_key: ClassVar[bool] = False
    is_local: ClassVar[bool] = True
    max_tokens_param: ClassVar[str] = "max_tokens"
    parameter_ranges: ClassVar[ParameterRanges | None] = VLLM_RANGES

    def _token_counter(self) -> TokenCounter:
        """The server's tokenizer (vLLM's ``/tokenize``)."""
        from polyvox.openai.tokenize import ServerTokenCounter

        return ServerTokenCounter(
            client=lambda: self.client,
            base_url=self.base_url or "",
            model=self.model,
            fail=self._fail,
            style="vllm",
        )


class ChatTogether(ChatOpenAI):
    """Together AI's OpenAI-compatible API; the key comes from ``TOGETHER_API_KEY``."""

    provider: ClassVar[str] = "together"
    api_key_env: ClassVar[str | None] = "TOGETHER_API_KEY"
    base_url_env: ClassVar[str | None] = "TOGETHER_BASE_URL"
    default_base_url: ClassVar[str | None] = "https://api.together.xyz/v1"
    max_tokens_param: ClassVar[str] = "max_tokens"
    parameter_ranges: ClassVar[ParameterRanges | None] = OPENAI_COMPATIBLE_RANGES

    def _token_counter(self) -> TokenCounter:
        from polyvox.core.token_counting import EstimateCounter

        return EstimateCounter("Together has no token-count endpoint")


class ChatMistral(ChatOpenAI):
    """Mistral AI's cloud API (La Plateforme) through its OpenAI-compatible endpoint.

    The key comes from ``MISTRAL_API_KEY``; the endpoint defaults to
    ``https://api.mistral.ai/v1`` (or ``MISTRAL_BASE_URL``). Model ids are Mistral's
    (``"mistral-large-latest"``, ``"mistral-small-latest"``, ``"codestral-latest"``...); cost
    tracking prices them as provider ``mistral``, never as the local Ollama models of the
    same family. Mistral refuses request fields it does not know (HTTP 422), so the output
    limit is sent as ``max_tokens`` and streams do not ask for ``stream_options``: Mistral
    puts the usage on a stream's last chunk by itself.

    Example:
        .. code-block:: python

            from polyvox.openai import ChatMistral

            model = ChatMistral(model="mistral-small-latest", temperature=0)
    """

    provider: ClassVar[str] = "mistral"
    api_key_env: ClassVar[str | None] = "MISTRAL_API_KEY"
    base_url_env: ClassVar[str | None] = "MISTRAL_BASE_URL"
    default_base_url: ClassVar[str | None] = "https://api.mistral.ai/v1"
    max_tokens_param: ClassVar[str] = "max_tokens"

    stream_usage: bool = False
    """Off: Mistral rejects ``stream_options`` and reports a stream's usage without it."""
    parameter_ranges: ClassVar[ParameterRanges | None] = OPENAI_COMPATIBLE_RANGES

    def _token_counter(self) -> TokenCounter:
        from polyvox.core.token_counting import EstimateCounter

        return EstimateCounter("Mistral's API has no token-count endpoint")
