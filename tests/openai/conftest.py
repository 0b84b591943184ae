from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from polyvox.openai import ChatOpenAI, ChatOpenRouter, OpenAIEmbeddings
from polyvox.testing import Emulator, Reply
from tests.conftest import recorded

LOCAL_RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "recorded"
"""Recorded responses kept in the repository (``tests/fixtures/recorded``, same layout)."""


@pytest.fixture
def chat(emulator: Emulator) -> ChatOpenAI:
    return ChatOpenAI(
        model="gpt-4o", api_key="sk-test", base_url=emulator.openai_base_url, max_retries=0
    )


@pytest.fixture
def router_chat(emulator: Emulator) -> ChatOpenRouter:
    return ChatOpenRouter(
        model="openai/gpt-4.1",
        api_key="sk-or-test",
        base_url=emulator.openai_base_url,
        max_retries=0,
    )


@pytest.fixture
def embeddings(emulator: Emulator) -> OpenAIEmbeddings:
    return OpenAIEmbeddings(api_key="sk-test", base_url=emulator.openai_base_url, max_retries=0)


def recorded_here_or_shared(name: str) -> dict[str, Any]:
    """Load a recording from ``tests/fixtures/recorded``, else from the shared set."""
    local = LOCAL_RECORDED / f"{name}.json"
    if local.exists():
        data: dict[str, Any] = json.loads(local.read_text(encoding="utf-8"))
        return data
    return recorded(name)


def replay(emulator: Emulator, name: str) -> dict[str, Any]:
    """Have the emulator answer the next request with a recorded body, byte for byte."""
    rec = recorded_here_or_shared(name)
    response = rec["response"]
    emulator.script(
        Reply.raw(
            response["body"], content_type=response["content_type"], status=response["status"]
        )
    )
    return rec
