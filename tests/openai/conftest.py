from __future__ import annotations

import json
from collections.abc import Iterator
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


@pytest.fixture
def tiktoken_offline(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No network for tiktoken, fresh polyvox caches; files already cached still load.

    An encoding not in the cache then fails to load as it does offline (tiktoken's download
    raises), whether or not the machine running the tests has a network.
    """
    import tiktoken.load
    import tiktoken.registry

    from polyvox.core import token_counting
    from polyvox.openai import tokenize

    def no_network(blobpath: str) -> bytes:
        raise ConnectionError(f"offline: {blobpath} cannot be downloaded")

    monkeypatch.setattr(tiktoken.load, "read_file", no_network)
    monkeypatch.setattr(tiktoken.registry, "ENCODINGS", {})  # forget encodings loaded earlier
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(_empty_cache()))

    def clear() -> None:
        tokenize._encoding.cache_clear()
        tokenize._has_tiktoken.cache_clear()
        token_counting._warned.clear()
        tokenize._missing.clear()

    clear()
    yield
    clear()


def _empty_cache() -> Path:
    import tempfile

    path = Path(tempfile.gettempdir()) / "polyvox-tests-empty-tiktoken-cache"
    path.mkdir(exist_ok=True)
    return path


ENCODING_FILES = (
    "9b5ad71b2ce5302211f9c61530b329a4922fc6a4",  # cl100k_base
    "fb374d419588a4632f3f557e76b4b70aebbca790",  # o200k_base
)
"""tiktoken's cache names for the two encodings (the SHA-1 of each download URL)."""


@pytest.fixture
def encodings_cached(tiktoken_offline: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """cl100k_base and o200k_base offline: llama-index-core ships both in its tiktoken cache."""
    llama_index_core = pytest.importorskip("llama_index.core")
    cache = Path(llama_index_core.__file__).parent / "_static" / "tiktoken_cache"
    if not all((cache / name).exists() for name in ENCODING_FILES):
        pytest.skip("llama-index-core's cached encoding files are not there")
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(cache))
