"""Injected faults: error statuses and envelopes, latency, broken and bad streams."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import TypeVar

import httpx
import openai
import pytest

from polyvox.testing import Emulator, Fault
from tests.testing.emulator_helpers import chat_body, sse_chunks, sse_events

T = TypeVar("T")


def drain(items: Iterable[T], into: list[T] | None = None) -> list[T]:
    """Consume an iterator, keeping what arrived before it failed in ``into``."""
    kept = [] if into is None else into
    for item in items:
        kept.append(item)
    return kept


def create(client: openai.OpenAI, **extra: object) -> object:
    return client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "hello there"}], **extra
    )


@pytest.mark.parametrize(
    ("fault", "error", "kind", "code"),
    [
        (Fault.rate_limit(), openai.RateLimitError, "requests", "rate_limit_exceeded"),
        (Fault.server_error(), openai.InternalServerError, "server_error", None),
        (Fault.server_error(503), openai.InternalServerError, "server_error", None),
        (
            Fault.unauthorized(),
            openai.AuthenticationError,
            "invalid_request_error",
            "invalid_api_key",
        ),
        (
            Fault(status=404, code="model_not_found"),
            openai.NotFoundError,
            "invalid_request_error",
            "model_not_found",
        ),
        (
            Fault(status=400, param="messages"),
            openai.BadRequestError,
            "invalid_request_error",
            None,
        ),
    ],
)
def test_error_statuses_use_the_openai_envelope(
    emulator: Emulator,
    openai_client: openai.OpenAI,
    fault: Fault,
    error: type[openai.APIStatusError],
    kind: str,
    code: str | None,
) -> None:
    emulator.fail(fault)
    with pytest.raises(error) as caught:
        create(openai_client)
    assert caught.value.status_code == fault.status
    body = caught.value.body
    assert isinstance(body, dict)
    assert body["type"] == kind
    assert body["code"] == code
    assert body["message"]
    assert body["param"] == fault.param
    create(openai_client)  # times=1: the next request is fine


def test_retry_after_headers(emulator: Emulator, http: httpx.Client) -> None:
    emulator.fail(Fault.rate_limit(retry_after=2, retry_after_ms=1500, headers={"x-extra": "1"}))
    response = http.post("/v1/chat/completions", json=chat_body())
    assert response.status_code == 429
    assert response.headers["retry-after"] == "2"
    assert response.headers["retry-after-ms"] == "1500"
    assert response.headers["x-extra"] == "1"


def test_sdk_retries_after_retry_after_ms(emulator: Emulator) -> None:
    emulator.fail(Fault.rate_limit(retry_after=None, retry_after_ms=10), times=2)
    client = openai.OpenAI(base_url=emulator.openai_base_url, api_key="k", max_retries=2)
    create(client)
    assert len(emulator.requests) == 3


def test_custom_error_bodies(emulator: Emulator, http: httpx.Client) -> None:
    emulator.fail(Fault(status=429, body={"error": {"code": 429, "message": "upstream"}}))
    emulator.fail(Fault(status=502, body="<html>bad gateway</html>"))
    first = http.post("/v1/chat/completions", json=chat_body())
    assert first.json() == {"error": {"code": 429, "message": "upstream"}}
    second = http.post("/v1/chat/completions", json=chat_body())
    assert (second.status_code, second.text) == (502, "<html>bad gateway</html>")


def test_times_counts_requests(emulator: Emulator, http: httpx.Client) -> None:
    emulator.fail(Fault.server_error(), times=2)
    codes = [http.post("/v1/chat/completions", json=chat_body()).status_code for _ in range(3)]
    assert codes == [500, 500, 200]
    emulator.fail(Fault.server_error(), times=None)
    codes = [http.post("/v1/chat/completions", json=chat_body()).status_code for _ in range(3)]
    assert codes == [500, 500, 500]
    emulator.reset()
    assert http.post("/v1/chat/completions", json=chat_body()).status_code == 200
    with pytest.raises(ValueError, match="times"):
        emulator.fail(Fault.server_error(), times=0)


def test_model_scoped_faults(emulator: Emulator, http: httpx.Client) -> None:
    emulator.fail(Fault.server_error(503), model="flaky")
    assert http.post("/v1/chat/completions", json=chat_body()).status_code == 200
    flaky = chat_body(model="flaky")
    assert http.post("/v1/chat/completions", json=flaky).status_code == 503
    assert http.post("/v1/chat/completions", json=flaky).status_code == 200


def test_latency_before_the_response(emulator: Emulator, http: httpx.Client) -> None:
    emulator.fail(Fault.slow(0.2))
    started = time.perf_counter()
    assert http.post("/v1/chat/completions", json=chat_body()).status_code == 200
    assert time.perf_counter() - started >= 0.2
    started = time.perf_counter()
    http.post("/v1/chat/completions", json=chat_body())
    assert time.perf_counter() - started < 0.2


def test_stream_chunk_delays(emulator: Emulator, openai_client: openai.OpenAI) -> None:
    emulator.fail(Fault(first_chunk_delay=0.15, chunk_delay=0.02))
    started = time.perf_counter()
    stream = openai_client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "a b c d"}], stream=True
    )
    arrivals = [time.perf_counter() - started for _ in stream]
    assert arrivals[0] >= 0.15
    assert arrivals[-1] - arrivals[0] >= 0.02 * (len(arrivals) - 2)


def test_broken_stream_drops_the_connection(
    emulator: Emulator, openai_client: openai.OpenAI
) -> None:
    emulator.fail(Fault.broken_stream(after=2))
    received: list[object] = []
    stream = openai_client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "one two three"}], stream=True
    )
    with pytest.raises(openai.APIConnectionError):
        drain(stream, received)
    assert len(received) == 2


def test_broken_stream_raw(emulator: Emulator, http: httpx.Client) -> None:
    emulator.fail(Fault.broken_stream(after=1))
    seen: list[bytes] = []
    request = http.build_request("POST", "/v1/chat/completions", json=chat_body(stream=True))
    response = http.send(request, stream=True)
    with pytest.raises(httpx.RemoteProtocolError):
        drain(response.iter_bytes(), seen)
    response.close()
    assert seen
    assert b"[DONE]" not in b"".join(seen)
    assert http.post("/v1/chat/completions", json=chat_body()).status_code == 200


def test_broken_non_streaming_body(emulator: Emulator, openai_client: openai.OpenAI) -> None:
    emulator.fail(Fault.broken_stream())
    with pytest.raises(openai.APIConnectionError):
        create(openai_client)


def test_error_event_mid_stream(
    emulator: Emulator, openai_client: openai.OpenAI, http: httpx.Client
) -> None:
    emulator.fail(Fault.stream_error(after=2, message="Token limit reached", code=400), times=2)
    stream = openai_client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "one two three"}], stream=True
    )
    received: list[object] = []
    with pytest.raises(openai.APIError, match="Token limit reached"):
        drain(stream, received)
    assert len(received) == 2
    chunks = sse_chunks(
        http.post("/v1/chat/completions", json=chat_body("a b c", stream=True)).text
    )
    assert chunks[-1]["error"] == {"code": 400, "message": "Token limit reached"}
    assert len(chunks) == 3


def test_malformed_bodies(
    emulator: Emulator, openai_client: openai.OpenAI, http: httpx.Client
) -> None:
    emulator.fail(Fault.malformed_body(), times=3)
    response = http.post("/v1/chat/completions", json=chat_body())
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        response.json()
    events = sse_events(http.post("/v1/chat/completions", json=chat_body(stream=True)).text)
    with pytest.raises(json.JSONDecodeError):
        json.loads(events[0])
    with pytest.raises(ValueError, match="Expecting"):  # the SDK's json.loads fails
        create(openai_client)


def test_content_filter(
    emulator: Emulator, openai_client: openai.OpenAI, http: httpx.Client
) -> None:
    emulator.fail(Fault.content_policy(), times=2)
    result = create(openai_client)
    choice = result.choices[0]
    assert choice.finish_reason == "content_filter"
    assert choice.message.content is None
    chunks = sse_chunks(http.post("/v1/chat/completions", json=chat_body(stream=True)).text)
    assert chunks[-1]["choices"][0]["finish_reason"] == "content_filter"
    assert not any(c["choices"][0]["delta"].get("content") for c in chunks)


def test_faults_hit_embeddings_and_models(emulator: Emulator, openai_client: openai.OpenAI) -> None:
    emulator.fail(Fault.rate_limit(), times=2)
    with pytest.raises(openai.RateLimitError):
        openai_client.embeddings.create(model="text-embedding-3-small", input="x")
    with pytest.raises(openai.RateLimitError):
        openai_client.models.list()


@pytest.mark.parametrize(
    "headers", [{}, {"authorization": "Bearer"}, {"authorization": "Basic abc"}]
)
def test_missing_key_is_401(emulator: Emulator, headers: dict[str, str]) -> None:
    response = httpx.post(
        f"{emulator.openai_base_url}/chat/completions", json=chat_body(), headers=headers
    )
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["code"] == "invalid_api_key"
    assert error["param"] is None
    assert "API key" in error["message"]


def test_invalid_key_is_401(emulator: Emulator) -> None:
    client = openai.OpenAI(base_url=emulator.openai_base_url, api_key="invalid-key", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        create(client)
    with pytest.raises(openai.AuthenticationError):
        client.embeddings.create(model="e", input="x")


def test_fault_json_round_trip() -> None:
    fault = Fault(status=429, retry_after=1.5, headers={"a": "b"}, break_after=3, code="c")
    assert Fault.from_dict(json.loads(json.dumps(fault.to_dict()))) == fault
    with pytest.raises(ValueError, match="unknown"):
        Fault.from_dict({"sttaus": 500})
