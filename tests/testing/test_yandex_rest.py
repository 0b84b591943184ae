"""The emulator's Yandex foundation-models REST API: paths, int64 strings, error bodies."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from polyvox.testing import Emulator, Fault, Reply, ToolCall

AUTH = {"Authorization": "Api-Key AQVNtest"}
URI = "gpt://b1gfolder/yandexgpt/latest"


def _post(emu: Emulator, method: str, body: dict[str, Any], **kw: Any) -> httpx.Response:
    headers = kw.pop("headers", AUTH)
    return httpx.post(f"{emu.url}/foundationModels/v1/{method}", json=body, headers=headers)


def _request(text: str = "Привет", **extra: Any) -> dict[str, Any]:
    return {"modelUri": URI, "messages": [{"role": "user", "text": text}], **extra}


def test_completion_wraps_the_result_and_sends_int64_as_strings(emulator: Emulator) -> None:
    emulator.script("Здравствуйте!")
    response = _post(emulator, "completion", _request(completionOptions={"maxTokens": "50"}))
    assert response.status_code == 200
    result = response.json()["result"]
    assert result["alternatives"] == [
        {"message": {"role": "assistant", "text": "Здравствуйте!"},
         "status": "ALTERNATIVE_STATUS_FINAL"}
    ]  # fmt: skip
    usage = result["usage"]
    assert all(isinstance(usage[k], str) for k in ("inputTextTokens", "completionTokens"))
    assert int(usage["totalTokens"]) == int(usage["inputTextTokens"]) + int(
        usage["completionTokens"]
    )
    assert emulator.requests[-1].path == "/foundationModels/v1/completion"


def test_a_stream_is_cumulative_lines(emulator: Emulator) -> None:
    emulator.script("один два три")
    response = _post(emulator, "completion", _request(completionOptions={"stream": True}))
    lines = [json.loads(line)["result"] for line in response.text.splitlines()]
    texts = [r["alternatives"][0]["message"]["text"] for r in lines]
    assert texts == ["один", "один два", "один два три"]
    statuses = [r["alternatives"][0]["status"] for r in lines]
    assert statuses == ["ALTERNATIVE_STATUS_PARTIAL"] * 2 + ["ALTERNATIVE_STATUS_FINAL"]


def test_tool_calls_and_json_schema(emulator: Emulator) -> None:
    emulator.script(Reply(tool_calls=[ToolCall("weather", {"city": "Москва"})]))
    tools = [{"function": {"name": "weather", "parameters": {"type": "object"}}}]
    result = _post(emulator, "completion", _request(tools=tools)).json()["result"]
    alternative = result["alternatives"][0]
    assert alternative["status"] == "ALTERNATIVE_STATUS_TOOL_CALLS"
    call = alternative["message"]["toolCallList"]["toolCalls"][0]["functionCall"]
    assert call == {"name": "weather", "arguments": {"city": "Москва"}}
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    result = _post(emulator, "completion", _request(jsonSchema={"schema": schema})).json()
    assert set(json.loads(result["result"]["alternatives"][0]["message"]["text"])) == {"n"}


def test_deferred_completion_is_an_operation(emulator: Emulator) -> None:
    emulator.script("позже")
    operation = _post(emulator, "completionAsync", _request()).json()
    assert operation["done"] is False
    polled = httpx.get(f"{emulator.url}/operations/{operation['id']}", headers=AUTH).json()
    assert polled["done"] is True
    response = polled["response"]
    assert response["@type"].endswith("foundation_models.v1.CompletionResponse")
    assert response["alternatives"][0]["message"]["text"] == "позже"
    missing = httpx.get(f"{emulator.url}/operations/nope", headers=AUTH)
    assert missing.status_code == 404
    assert missing.json()["error"]["grpcCode"] == 5


def test_tokenize_and_tokenize_completion(emulator: Emulator) -> None:
    tokens = _post(emulator, "tokenize", {"modelUri": URI, "text": "one two three"}).json()
    assert [t["text"] for t in tokens["tokens"]] == ["one", " two", " three"]
    assert all(isinstance(t["id"], str) for t in tokens["tokens"])
    counted = _post(emulator, "tokenizeCompletion", _request("one two")).json()
    assert len(counted["tokens"]) == 2


def test_text_embedding(emulator: Emulator) -> None:
    body = {"modelUri": "emb://b1gfolder/text-search-doc/latest", "text": "Москва"}
    answer = _post(emulator, "textEmbedding", body).json()
    assert len(answer["embedding"]) == 256
    assert isinstance(answer["numTokens"], str)
    assert int(answer["numTokens"]) > 0
    wrong = _post(emulator, "textEmbedding", {"modelUri": URI, "text": "x"})
    assert wrong.status_code == 400


@pytest.mark.parametrize(
    ("headers", "message"),
    [({}, "The token is invalid"), ({"Authorization": "Api-Key invalid"}, "Unknown api key")],
)
def test_credentials_are_checked(emulator: Emulator, headers: dict[str, str], message: str) -> None:
    response = _post(emulator, "completion", _request(), headers=headers)
    assert response.status_code == 401
    error = response.json()["error"]
    assert (error["grpcCode"], error["httpCode"], error["httpStatus"]) == (
        16, 401, "Unauthenticated",
    )  # fmt: skip
    assert message in error["message"]


def test_faults_use_the_error_envelope(emulator: Emulator) -> None:
    emulator.fail(Fault.rate_limit())
    response = _post(emulator, "completion", _request())
    assert response.status_code == 429
    assert response.json()["error"] | {"message": ""} == {
        "grpcCode": 8, "httpCode": 429, "message": "", "httpStatus": "Resource Exhausted",
        "details": [],
    }  # fmt: skip
    emulator.fail(Fault.malformed_body())
    with pytest.raises(json.JSONDecodeError):
        json.loads(_post(emulator, "completion", _request()).text)


def test_requests_are_validated(emulator: Emulator) -> None:
    unknown = _post(emulator, "completion", _request(stream=True))
    assert unknown.status_code == 400
    assert unknown.json()["error"]["grpcCode"] == 3
    assert "unknown field 'stream'" in unknown.json()["error"]["message"]
    no_uri = _post(emulator, "completion", {"messages": [{"role": "user", "text": "x"}]})
    assert "modelUri" in no_uri.json()["error"]["message"]


def test_a_recorded_body_is_sent_as_it_is(emulator: Emulator) -> None:
    body = '{"result":{"alternatives":[],"usage":{"inputTextTokens":"1"},"modelVersion":"x"}}\n'
    emulator.script(Reply.raw(body, "application/json"))
    assert _post(emulator, "completion", _request()).text == body
