"""Faults on the Ollama protocol: ``{"error": ...}`` bodies, stream errors, slow loads, breakage."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import ollama
import pytest

from polyvox.testing import Emulator, Fault

MODEL = "llama3.2"
HELLO = [{"role": "user", "content": "hello there"}]


@pytest.fixture
def client(emulator: Emulator) -> Iterator[ollama.Client]:
    with ollama.Client(host=emulator.ollama_url) as sdk:
        yield sdk


@pytest.fixture
def http(emulator: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator.ollama_url, timeout=10) as raw:
        yield raw


def chat_body(**extra: Any) -> dict[str, Any]:
    return {"model": MODEL, "messages": HELLO, **extra}


@pytest.mark.parametrize("status", [400, 429, 500, 503])
def test_error_statuses_use_the_ollama_body(
    emulator: Emulator, client: ollama.Client, http: httpx.Client, status: int
) -> None:
    emulator.fail(Fault(status=status))
    with pytest.raises(ollama.ResponseError) as caught:
        client.chat(model=MODEL, messages=HELLO)
    assert caught.value.status_code == status
    assert caught.value.error
    emulator.fail(Fault(status=status, message="server busy", retry_after=2))
    response = http.post("/api/chat", json=chat_body())
    assert response.status_code == status
    assert response.json() == {"error": "server busy"}
    assert response.headers["retry-after"] == "2"


def test_streaming_requests_fail_before_the_stream(
    emulator: Emulator, client: ollama.Client
) -> None:
    emulator.fail(Fault.server_error(503, message="loading model"))
    with pytest.raises(ollama.ResponseError) as caught:
        list(client.chat(model=MODEL, messages=HELLO, stream=True))
    assert (caught.value.status_code, caught.value.error) == (503, "loading model")


def test_a_stream_error_is_an_error_line(
    emulator: Emulator, client: ollama.Client, http: httpx.Client
) -> None:
    emulator.fail(Fault.stream_error(after=2, message="model runner crashed"))
    received: list[ollama.ChatResponse] = []
    with pytest.raises(ollama.ResponseError, match="model runner crashed"):
        received.extend(client.chat(model=MODEL, messages=HELLO, stream=True))
    assert len(received) == 2
    assert not received[-1].done
    emulator.fail(Fault.stream_error(after=1, message="boom"))
    lines = http.post("/api/generate", json={"model": MODEL, "prompt": "hi"}).text.splitlines()
    assert [json.loads(line) for line in lines][-1] == {"error": "boom"}
    assert len(lines) == 2


def test_slow_first_chunk_is_a_model_loading(emulator: Emulator, client: ollama.Client) -> None:
    emulator.fail(Fault(first_chunk_delay=0.3))
    started = time.monotonic()
    parts = iter(client.chat(model=MODEL, messages=HELLO, stream=True))
    first = next(parts)
    assert time.monotonic() - started >= 0.25
    assert first.message.content
    last = list(parts)[-1]
    assert last.load_duration is not None
    assert last.load_duration >= 300_000_000
    emulator.fail(Fault.slow(0.2, first_chunk_delay=0.1))
    started = time.monotonic()
    response = client.chat(model=MODEL, messages=HELLO)
    assert time.monotonic() - started >= 0.28
    assert response.load_duration is not None
    assert response.load_duration >= 100_000_000


def test_broken_streams_cut_the_connection(emulator: Emulator, client: ollama.Client) -> None:
    emulator.fail(Fault.broken_stream(after=2))
    received: list[ollama.ChatResponse] = []
    with pytest.raises(httpx.HTTPError):
        received.extend(client.chat(model=MODEL, messages=HELLO, stream=True))
    assert len(received) == 2
    emulator.fail(Fault.broken_stream())
    with pytest.raises((httpx.HTTPError, json.JSONDecodeError)):
        client.chat(model=MODEL, messages=HELLO)


def test_malformed_bodies_are_not_json(emulator: Emulator, client: ollama.Client) -> None:
    emulator.fail(Fault.malformed_body())
    with pytest.raises(json.JSONDecodeError):
        client.chat(model=MODEL, messages=HELLO)
    emulator.fail(Fault.malformed_body())
    with pytest.raises(json.JSONDecodeError):
        list(client.generate(model=MODEL, prompt="hi", stream=True))
    emulator.fail(Fault.malformed_body())
    with pytest.raises(json.JSONDecodeError):
        client.embed(model=MODEL, input="x")


def test_faults_spare_show_tags_and_health_checks(
    emulator: Emulator, client: ollama.Client, http: httpx.Client
) -> None:
    emulator.fail(Fault.server_error(503))
    assert client.show(MODEL).modelinfo
    assert client.list().models
    assert http.get("/").status_code == 200
    assert http.get("/api/version").status_code == 200
    with pytest.raises(ollama.ResponseError) as caught:
        client.chat(model=MODEL, messages=HELLO)
    assert caught.value.status_code == 503
    assert client.chat(model=MODEL, messages=HELLO).done


def test_model_scoped_faults_and_pull_faults(emulator: Emulator, client: ollama.Client) -> None:
    emulator.fail(Fault.rate_limit(), model="qwen3:8b")
    assert client.chat(model=MODEL, messages=HELLO).done
    with pytest.raises(ollama.ResponseError) as caught:
        client.chat(model="qwen3:8b", messages=HELLO)
    assert caught.value.status_code == 429
    emulator.fail(Fault.server_error(), model="gemma3:4b")
    with pytest.raises(ollama.ResponseError):
        client.pull("gemma3:4b")
    emulator.fail(Fault.broken_stream(after=3), model="gemma3:4b")
    with pytest.raises(httpx.HTTPError):
        list(client.pull("gemma3:4b", stream=True))
    assert "gemma3:4b" not in emulator.ollama_models
