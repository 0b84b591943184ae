from __future__ import annotations

import pytest

from polyvox.ollama import ChatBielik, ChatOllama, OllamaEmbeddings
from polyvox.testing import Emulator


@pytest.fixture
def ollama_chat(emulator: Emulator) -> ChatOllama:
    return ChatOllama(model="llama3.2", base_url=emulator.ollama_url, max_retries=0)


@pytest.fixture
def bielik(emulator: Emulator) -> ChatBielik:
    return ChatBielik(base_url=emulator.ollama_url, max_retries=0)


@pytest.fixture
def ollama_embeddings(emulator: Emulator) -> OllamaEmbeddings:
    return OllamaEmbeddings(model="nomic-embed-text", base_url=emulator.ollama_url)
