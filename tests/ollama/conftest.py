from __future__ import annotations

import pytest

from polyvox.ollama import ChatBielik, ChatOllama, OllamaEmbeddings
from polyvox.ollama.context import clear_context_windows
from polyvox.testing import Emulator


@pytest.fixture(autouse=True)
def _fresh_windows() -> None:
    """Each test sizes its windows afresh (the emulator is shared and reset between tests)."""
    clear_context_windows()


@pytest.fixture
def ollama_chat(emulator: Emulator) -> ChatOllama:
    return ChatOllama(model="llama3.2", base_url=emulator.ollama_url, max_retries=0)


@pytest.fixture
def bielik(emulator: Emulator) -> ChatBielik:
    return ChatBielik(base_url=emulator.ollama_url, max_retries=0)


@pytest.fixture
def ollama_embeddings(emulator: Emulator) -> OllamaEmbeddings:
    return OllamaEmbeddings(model="nomic-embed-text", base_url=emulator.ollama_url)
