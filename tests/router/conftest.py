"""Deployments for router tests: polyvox models pointed at the emulator.

Cloud deployments are ``ChatOpenAI`` on different catalog model names of the same
emulator (the catalog gives each its tier, price, window and capabilities); local ones are
``ChatOllama``/``ChatBielik`` on the emulator's Ollama protocol, or ``ChatLlamaCpp`` on its
OpenAI protocol. Every model has ``max_retries=0`` so that retries are the router's.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from polyvox.ollama import ChatBielik, ChatOllama
from polyvox.openai import ChatLlamaCpp, ChatOpenAI
from polyvox.testing import Emulator

OpenAIFactory = Callable[..., ChatOpenAI]

REDIS_URL = os.environ.get("POLYVOX_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
"""The Redis the breaker tests share (each under its own key prefix)."""

BIELIK = "ollama/SpeakLeash/bielik-11b-v2.3-instruct:Q4_K_M"
"""The default name of a ChatBielik deployment."""


@pytest.fixture
def openai_model(emulator: Emulator) -> OpenAIFactory:
    """Make a ChatOpenAI for a model name, talking to the emulator."""

    def make(name: str, **kwargs: Any) -> ChatOpenAI:
        return ChatOpenAI(
            model=name,
            api_key="sk-test",
            base_url=emulator.openai_base_url,
            max_retries=0,
            **kwargs,
        )

    return make


@pytest.fixture
def ollama(emulator: Emulator) -> ChatOllama:
    """A local Llama 3.2 on the emulator's Ollama protocol (has tools)."""
    return ChatOllama(model="llama3.2", base_url=emulator.ollama_url, max_retries=0)


@pytest.fixture
def bielik(emulator: Emulator) -> ChatBielik:
    """Bielik on the emulator's Ollama protocol (local, Polish, no tools)."""
    return ChatBielik(base_url=emulator.ollama_url, max_retries=0)


@pytest.fixture
def llamacpp(emulator: Emulator) -> ChatLlamaCpp:
    """A local llama.cpp server (the emulator's OpenAI protocol)."""
    return ChatLlamaCpp(model="qwen2.5", base_url=emulator.openai_base_url, max_retries=0)


def called(emulator: Emulator) -> list[str]:
    """The model of every chat request the emulator received, in order (both protocols)."""
    names = []
    for request in emulator.requests:
        if request.path in ("/v1/chat/completions", "/api/chat") and request.json:
            names.append(str(request.json["model"]))
    return names


def outcomes(message: Any) -> list[tuple[str, str]]:
    """``(deployment, outcome)`` of every attempt in a router answer's metadata."""
    return [
        (a["deployment"], a["outcome"]) for a in message.response_metadata["router"]["attempts"]
    ]


@pytest.fixture
def server() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except (redis.RedisError, OSError) as exc:
        pytest.fail(
            f"Redis at {REDIS_URL} is unreachable ({exc}): start it or set POLYVOX_TEST_REDIS_URL"
        )
    yield client
    client.close()


@pytest.fixture
def prefix(server: redis.Redis) -> Iterator[str]:
    name = f"polyvox-test:breaker:{uuid.uuid4().hex}:"
    yield name
    if keys := list(server.scan_iter(match=name + "*")):
        server.delete(*keys)
