"""Clients pointed at the shared emulator (the ``emulator`` fixture comes from the plugin)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import openai
import pytest

from polyvox.testing import Emulator

API_KEY = "sk-test"


@pytest.fixture
def openai_client(emulator: Emulator) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=emulator.openai_base_url, api_key=API_KEY, max_retries=0) as client:
        yield client


@pytest.fixture
async def async_openai_client(emulator: Emulator) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(
        base_url=emulator.openai_base_url, api_key=API_KEY, max_retries=0
    ) as client:
        yield client


@pytest.fixture
def http(emulator: Emulator) -> Iterator[httpx.Client]:
    headers = {"authorization": f"Bearer {API_KEY}"}
    with httpx.Client(base_url=emulator.url, headers=headers, timeout=10) as client:
        yield client
