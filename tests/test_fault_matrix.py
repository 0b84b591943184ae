"""The fault matrix: every fault, every model class, every way of calling it.

Each row is a fault the emulator injects (or a server that is not there); each model class
is called with ``invoke``, ``ainvoke``, ``stream`` and ``astream`` and ``max_retries=0``.
For every cell the test checks the LangChain error class code catches (the same for every
provider), that polyvox's mapped class is also the provider's, how many requests reached the
server, and that the message names the real cause: a refused connection is not reported
like a cut one, a malformed 200 not like a broken stream. A new provider package adds its
classes to ``MODELS`` and its wording to ``CAUSES``.
"""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.exceptions import (
    ModelAPIError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelError,
    ModelRateLimitError,
    ModelTimeoutError,
)
from langchain_core.language_models import BaseChatModel

from polyvox.anthropic import ChatAnthropic
from polyvox.core.errors import ProviderErrorMixin, ProviderResponseError
from polyvox.gigachat import GigaChat
from polyvox.google import ChatGoogleGenerativeAI
from polyvox.huggingface import ChatHuggingFace
from polyvox.ollama import ChatBielik, ChatOllama
from polyvox.openai import ChatLlamaCpp, ChatOpenAI, ChatOpenRouter
from polyvox.testing import Emulator, Fault, Reply
from polyvox.yandex import ChatYandexGPT
from tests.modes import MODES, call_as

REFUSED = "refused"
"""The row without a server: the base URL points at a closed port."""

FAULTS: dict[str, tuple[Fault | None, type[ModelError]]] = {
    "401": (Fault.unauthorized(), ModelAuthenticationError),
    "429": (Fault.rate_limit(retry_after=3), ModelRateLimitError),
    "500": (Fault.server_error(500), ModelAPIError),
    "503": (Fault.server_error(503), ModelAPIError),
    "529": (Fault.server_error(529), ModelAPIError),
    "malformed-200": (Fault.malformed_body(), ProviderResponseError),
    "empty-200": (Fault.malformed_body(body=""), ProviderResponseError),
    "cut-mid-answer": (Fault.broken_stream(after=2), ModelConnectionError),
    "slow": (Fault.slow(3.0), ModelTimeoutError),
    "error-event-mid-stream": (Fault.stream_error(after=2), ModelAPIError),
    REFUSED: (None, ModelConnectionError),
}
"""Fault name: (what the emulator does, the LangChain class the caller catches)."""

STREAM_ONLY = frozenset({"error-event-mid-stream"})

ONLY_FOR = {"529": frozenset({"anthropic"})}
"""Faults that only some protocols have (Anthropic's 529 overloaded)."""
"""Faults that exist only in a streamed answer."""

CAUSES: dict[str, dict[str, str]] = {
    "openai": {
        "401": r"401",
        "429": r"429",
        "500": r"500",
        "503": r"503",
        "malformed-200": r"not a chat completion|not JSON",
        "empty-200": r"not a chat completion|empty stream",
        "cut-mid-answer": r"broke (before the answer was complete|after \d+ events)",
        "slow": r"no answer from .* within the timeout",
        "error-event-mid-stream": r"reported an error mid-stream",
        REFUSED: r"could not connect to .*Is the server running",
    },
    "anthropic": {
        "401": r"401",
        "429": r"429",
        "500": r"500",
        "503": r"503",
        "529": r"529.*overloaded_error",
        "malformed-200": r"not a Messages API message|not JSON",
        "empty-200": r"not a Messages API message|empty stream",
        "cut-mid-answer": r"broke (before the answer was complete|after \d+ events)",
        "slow": r"no answer from .* within the timeout",
        "error-event-mid-stream": r"reported an error mid-stream: overloaded_error",
        REFUSED: r"could not connect to .*Is the server reachable",
    },
    "ollama": {
        "401": r"401",
        "429": r"429",
        "500": r"500",
        "503": r"503",
        "malformed-200": r"answered 200 with a body that is not an Ollama response",
        "empty-200": r"answered 200 with (a body that is not an Ollama response|an empty stream)",
        "cut-mid-answer": r"the connection to Ollama at .* broke",
        "slow": r"did not answer within the timeout",
        "error-event-mid-stream": r"Ollama at .* reported an error mid-stream",
        REFUSED: r"Ollama is not reachable at .*ollama serve",
    },
    "gigachat": {
        "401": r"GigaChat answered 401 .*refused the access token",
        "429": r"GigaChat answered 429",
        "500": r"GigaChat answered 500",
        "503": r"GigaChat answered 503",
        "malformed-200": r"not JSON|not a GigaChat response",
        "empty-200": r"not JSON|without a finish_reason after an empty stream",
        "cut-mid-answer": r"broke before the answer was complete",
        "slow": r"no answer from .* within the timeout",
        "error-event-mid-stream": r"reported an error mid-stream: 500 Upstream error",
        REFUSED: r"could not connect to .*Is the server reachable",
    },
    "gemini": {
        "401": r"401 UNAUTHENTICATED",
        "429": r"429 RESOURCE_EXHAUSTED",
        "500": r"500 INTERNAL",
        "503": r"503 UNAVAILABLE",
        "malformed-200": r"not JSON",
        "empty-200": r"not JSON|no candidates|without a finish reason",
        "cut-mid-answer": r"broke before the answer was complete",
        "slow": r"no answer from .* within the timeout",
        "error-event-mid-stream": r"reported an error mid-stream",
        REFUSED: r"could not connect to .*Is base_url right",
    },
    "yandex": {
        "401": r"UNAUTHENTICATED",
        "429": r"RESOURCE_EXHAUSTED",
        "500": r"INTERNAL",
        "503": r"UNAVAILABLE",
        "malformed-200": r"not with a CompletionResponse the SDK could read",
        "empty-200": r"not with a CompletionResponse the SDK could read|without a final status",
        "cut-mid-answer": r"UNAVAILABLE: Connection reset.*broke before the answer was complete",
        "slow": r"DEADLINE_EXCEEDED.*within the timeout",
        "error-event-mid-stream": r"reported an error mid-stream.*INTERNAL",
        REFUSED: r"Could not connect to .*is base_url right",
    },
    "huggingface": {
        "401": r"401",
        "429": r"429",
        "500": r"500",
        "503": r"503",
        "malformed-200": r"sent a response that could not be read",
        "empty-200": r"could not be read|without a single stream event",
        "cut-mid-answer": r"broke before the answer was complete",
        "slow": r"no answer from .* within the timeout",
        "error-event-mid-stream": r"reported an error mid-stream",
        REFUSED: r"could not connect to .*Is the URL right",
    },
}
"""Per protocol: a pattern the message must match, naming the real cause."""

WRONG_CAUSE = {
    "openai": r"could not connect",
    "anthropic": r"could not connect",
    "ollama": r"not reachable",
    "gemini": r"could not connect",
    "gigachat": r"could not connect",
    "yandex": r"Could not connect",
    "huggingface": r"could not connect",
}
"""What no fault but a refused connection may say."""

NO_RETRY_AFTER = frozenset({"yandex"})
"""Protocols whose 429 carries no delay: Yandex's gRPC ``RESOURCE_EXHAUSTED`` has no
Retry-After (the SDK retries it with its own exponential backoff)."""

TIMEOUT_S = 1.0
"""The models' timeout: short for the slow row, long enough for the others on a busy machine."""

Factory = Callable[[str], BaseChatModel]


def _openai(cls: type[Any], model: str) -> Factory:
    def make(url: str) -> BaseChatModel:
        model_: BaseChatModel = cls(
            model=model, api_key="sk-test", base_url=url, max_retries=0, timeout=TIMEOUT_S
        )
        return model_

    return make


def _ollama(cls: type[Any], **fields: Any) -> Factory:
    def make(url: str) -> BaseChatModel:
        model: BaseChatModel = cls(base_url=url, max_retries=0, timeout=TIMEOUT_S, **fields)
        return model

    return make


def _gemini(cls: type[Any], model: str) -> Factory:
    def make(url: str) -> BaseChatModel:
        model_: BaseChatModel = cls(
            model=model, api_key="test-key", base_url=url, max_retries=0, timeout=TIMEOUT_S
        )
        return model_

    return make


def _gigachat(url: str) -> BaseChatModel:
    """A GigaChat with credentials of its own: its first call fetches a token, so a 401 is
    the API refusing a token just issued (one that had worked would be renewed once)."""
    origin = url.removesuffix("/api/v1")
    return GigaChat(
        model="GigaChat-2-Max",
        credentials=base64.b64encode(f"faults-{uuid.uuid4()}:matrix".encode()).decode(),
        base_url=url,
        auth_url=f"{origin}/api/v2/oauth",
        max_retries=0,
        timeout=TIMEOUT_S,
    )


def _yandex(cls: type[Any], model: str) -> Factory:
    def make(url: str) -> BaseChatModel:
        model_: BaseChatModel = cls(
            model=model, folder_id="b1gfolder", api_key="AQVNtest", base_url=url,
            max_retries=0, timeout=TIMEOUT_S,
        )  # fmt: skip
        return model_

    return make


def _huggingface(url: str) -> BaseChatModel:
    return ChatHuggingFace(
        model="meta-llama/Llama-3.3-70B-Instruct",
        api_key="hf_test",
        base_url=url,
        max_retries=0,
        timeout=TIMEOUT_S,
        model_loading_timeout=0,
    )


MODELS: dict[str, tuple[str, Factory]] = {
    "ChatOpenAI": ("openai", _openai(ChatOpenAI, "gpt-4o-mini")),
    "ChatOpenRouter": ("openai", _openai(ChatOpenRouter, "openai/gpt-4.1")),
    "ChatLlamaCpp": ("openai", _openai(ChatLlamaCpp, "qwen2.5")),
    "ChatOllama": ("ollama", _ollama(ChatOllama, model="llama3.2")),
    "ChatBielik": ("ollama", _ollama(ChatBielik)),
    "ChatGoogleGenerativeAI": ("gemini", _gemini(ChatGoogleGenerativeAI, "gemini-2.5-flash")),
    "ChatAnthropic": ("anthropic", _openai(ChatAnthropic, "claude-haiku-4-5")),
    "GigaChat": ("gigachat", _gigachat),
    "ChatYandexGPT": ("yandex", _yandex(ChatYandexGPT, "yandexgpt")),
    "ChatHuggingFace": ("huggingface", _huggingface),
}
"""Model class: (its protocol, a factory taking the base URL)."""


def _url(emulator: Emulator, protocol: str, *, refused: bool) -> str:
    if protocol == "anthropic":
        return "http://127.0.0.1:1" if refused else emulator.anthropic_base_url
    if protocol == "openai":
        return "http://127.0.0.1:1/v1" if refused else emulator.openai_base_url
    if protocol == "gemini":
        return "http://127.0.0.1:1" if refused else emulator.gemini_base_url
    if protocol == "gigachat":
        return "http://127.0.0.1:1/api/v1" if refused else emulator.gigachat_base_url
    if protocol == "yandex":
        return "127.0.0.1:1" if refused else emulator.yandex_endpoint
    if protocol == "huggingface":
        return "http://127.0.0.1:1/v1" if refused else f"{emulator.url}/huggingface/router/v1"
    return "http://127.0.0.1:1" if refused else emulator.ollama_url


_CHAT_PATHS = {
    "openai": ("/chat/completions",),
    "ollama": ("/api/chat",),
    "gemini": (":generateContent", ":streamGenerateContent"),
    "anthropic": ("/v1/messages",),
    "gigachat": ("/api/v1/chat/completions",),
    "yandex": ("TextGenerationService/Completion",),
    "huggingface": ("/v1/chat/completions",),
}


def _calls(emulator: Emulator, protocol: str) -> int:
    return sum(1 for r in emulator.requests if r.path.endswith(_CHAT_PATHS[protocol]))


@pytest.mark.parametrize(
    ("model_name", "fault_name", "mode"),
    [
        (model, fault, mode)
        for model, (protocol, _) in MODELS.items()
        for fault in FAULTS
        for mode in MODES
        if (fault not in STREAM_ONLY or mode in ("stream", "astream"))
        and protocol in ONLY_FOR.get(fault, frozenset({protocol}))
    ],
)
async def test_every_fault_is_typed_counted_and_explained(
    emulator: Emulator, model_name: str, fault_name: str, mode: str
) -> None:
    protocol, factory = MODELS[model_name]
    fault, caught_as = FAULTS[fault_name]
    model = factory(_url(emulator, protocol, refused=fault is None))
    if fault is not None:
        emulator.fail(fault)
    emulator.script(Reply("one two three four five six seven eight"))
    with pytest.raises(ModelError) as caught:
        await call_as(model, mode)
    error = caught.value
    assert isinstance(error, caught_as), f"{type(error).__mro__}"
    assert isinstance(error, ProviderErrorMixin), "polyvox's mapped class, provider attached"
    message = str(error)
    assert re.search(CAUSES[protocol][fault_name], message), message
    if fault_name != REFUSED:
        assert not re.search(WRONG_CAUSE[protocol], message), message
    assert _calls(emulator, protocol) == (0 if fault is None else 1)
    if fault_name == "429" and protocol not in NO_RETRY_AFTER:
        assert getattr(error, "retry_after", None) == 3.0
