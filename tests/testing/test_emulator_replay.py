"""Replaying every recorded OpenAI and OpenRouter response, verbatim, through the SDK."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest

from polyvox.testing import Emulator, Reply
from tests.conftest import recorded, recorded_names

NAMES = recorded_names("openai__") + recorded_names("openrouter__")


def replay(emulator: Emulator, name: str) -> dict[str, Any]:
    rec = recorded(name)
    response = rec["response"]
    emulator.script(Reply.raw(response["body"], response["content_type"], response["status"]))
    return rec


def call_sdk(client: openai.OpenAI, request: dict[str, Any]) -> Any:
    body = dict(request["json"])
    if request["path"].endswith("/embeddings"):
        known = {k: body.pop(k) for k in ("model", "input", "encoding_format") if k in body}
        return client.embeddings.create(**known, extra_body=body)
    model, messages = body.pop("model"), body.pop("messages")
    stream = bool(body.pop("stream", False))
    if stream:
        chunks = client.chat.completions.create(
            model=model, messages=messages, stream=True, extra_body=body
        )
        return list(chunks)
    return client.chat.completions.create(model=model, messages=messages, extra_body=body)


def test_fixtures_were_found() -> None:
    assert len(NAMES) >= 18


@pytest.mark.parametrize("name", NAMES)
def test_replay_is_byte_for_byte(emulator: Emulator, http: httpx.Client, name: str) -> None:
    rec = replay(emulator, name)
    path = "/v1/" + rec["request"]["path"].split("/v1/", 1)[1]
    response = http.post(path, json=rec["request"]["json"])
    assert response.status_code == rec["response"]["status"]
    assert response.headers["content-type"] == rec["response"]["content_type"]
    assert response.text == rec["response"]["body"]


@pytest.mark.parametrize("name", NAMES)
def test_sdk_parses_the_replay(emulator: Emulator, openai_client: openai.OpenAI, name: str) -> None:
    rec = replay(emulator, name)
    status = rec["response"]["status"]
    body = rec["response"]["body"]
    if status >= 400:
        with pytest.raises(openai.APIStatusError) as caught:
            call_sdk(openai_client, rec["request"])
        assert caught.value.status_code == status
        return
    if "error_midstream" in name:
        with pytest.raises(openai.APIError, match="Token limit reached"):
            call_sdk(openai_client, rec["request"])
        return
    result = call_sdk(openai_client, rec["request"])
    if isinstance(result, list):
        payloads = [
            json.loads(line[len("data: ") :])
            for line in body.splitlines()
            if line.startswith("data: {")
        ]
        assert [c.id for c in result] == [p["id"] for p in payloads]
        assert any(c.usage is not None for c in result) == any(p.get("usage") for p in payloads)
    elif rec["request"]["path"].endswith("/embeddings"):
        assert result.data[0].embedding == json.loads(body)["data"][0]["embedding"]
    else:
        expected = json.loads(body)
        assert result.id == expected["id"]
        assert result.choices[0].finish_reason == expected["choices"][0]["finish_reason"]
        assert result.choices[0].message.content == expected["choices"][0]["message"]["content"]
        assert result.usage.total_tokens == expected["usage"]["total_tokens"]
    assert emulator.requests[-1].json["model"] == rec["request"]["json"]["model"]
