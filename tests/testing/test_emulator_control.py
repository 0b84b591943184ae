"""The HTTP control API and the foreground server (``polyvox emulate``)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import httpx
import openai
import pytest

from polyvox.testing import Emulator, Fault, Reply, ToolCall
from tests.testing.emulator_helpers import chat_body


def test_health(http: httpx.Client) -> None:
    assert http.get("/_emulator/health").json() == {
        "status": "ok",
        "protocols": [
            "openai",
            "ollama",
            "gemini",
            "anthropic",
            "huggingface",
            "gigachat",
            "yandex",
        ],
    }


def test_script_over_http(emulator: Emulator, http: httpx.Client) -> None:
    replies = [
        Reply("scripted").to_dict(),
        "plain",
        Reply(tool_calls=[ToolCall("f", {"x": 1})]).to_dict(),
    ]
    response = http.post("/_emulator/script", json={"replies": replies})
    assert response.json() == {"queued": 3, "pending": 3}
    http.post("/_emulator/script", json={"reply": {"content": "for big"}, "model": "big"})
    contents = [
        http.post("/v1/chat/completions", json=chat_body()).json()["choices"][0]["message"]
        for _ in range(3)
    ]
    assert contents[0]["content"] == "scripted"
    assert contents[1]["content"] == "plain"
    assert contents[2]["tool_calls"][0]["function"] == {"name": "f", "arguments": '{"x":1}'}
    big = http.post("/v1/chat/completions", json=chat_body(model="big")).json()
    assert big["choices"][0]["message"]["content"] == "for big"


def test_raw_script_over_http(http: httpx.Client) -> None:
    raw = {"raw": {"body": "data: [DONE]\n\n", "content_type": "text/event-stream"}}
    http.post("/_emulator/script", json={"replies": [raw]})
    response = http.post("/v1/chat/completions", json=chat_body(stream=True))
    assert response.text == "data: [DONE]\n\n"


def test_fail_over_http(http: httpx.Client) -> None:
    fault = Fault.rate_limit(retry_after=3).to_dict()
    assert http.post("/_emulator/fail", json={"fault": fault, "times": 2}).json() == {"ok": True}
    statuses = [http.post("/v1/chat/completions", json=chat_body()).status_code for _ in range(3)]
    assert statuses == [429, 429, 200]
    http.post("/_emulator/fail", json={"fault": {"status": 500}, "times": None, "model": "x"})
    assert http.post("/v1/chat/completions", json=chat_body(model="x")).status_code == 500
    assert http.post("/v1/chat/completions", json=chat_body(model="x")).status_code == 500


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/_emulator/fail", {"fault": {"nope": 1}}),
        ("/_emulator/fail", {"fault": {"status": 500}, "times": 0}),
        ("/_emulator/script", {"replies": [{"tool_calls": [{"args": {}}]}]}),
        ("/_emulator/script", [1, 2]),
    ],
)
def test_bad_control_requests_are_400(http: httpx.Client, path: str, body: object) -> None:
    response = http.post(path, json=body)
    assert response.status_code == 400
    assert "error" in response.json()


def test_requests_and_reset_over_http(emulator: Emulator, http: httpx.Client) -> None:
    http.post("/v1/chat/completions", json=chat_body("logged"))
    emulator.fail(Fault.server_error())
    emulator.script("queued")
    logged = http.get("/_emulator/requests").json()
    assert len(logged) == 1  # control requests are not logged
    assert logged[0]["method"] == "POST"
    assert logged[0]["path"] == "/v1/chat/completions"
    assert logged[0]["json"]["messages"][0]["content"] == "logged"
    assert logged[0]["headers"]["authorization"] == "Bearer sk-test"
    assert http.post("/_emulator/reset").json() == {"ok": True}
    assert http.get("/_emulator/requests").json() == []
    reply = http.post("/v1/chat/completions", json=chat_body("after reset")).json()
    assert reply["choices"][0]["message"]["content"] == "You said: after reset"
    assert http.get("/_emulator/unknown").status_code == 404


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_serve_in_the_foreground() -> None:
    port = _free_port()
    code = (
        "from polyvox.testing.emulator import main; "
        f"main(['--port', '{port}', '--log-level', 'warning'])"
    )
    process = subprocess.Popen([sys.executable, "-c", code])
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{base}/_emulator/health", timeout=1).raise_for_status()
                break
            except httpx.TransportError:
                assert process.poll() is None, "the server exited"
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.05)
        httpx.post(f"{base}/_emulator/script", json={"replies": ["from another process"]})
        client = openai.OpenAI(base_url=f"{base}/v1", api_key="k", max_retries=0)
        result = client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "x"}]
        )
        assert result.choices[0].message.content == "from another process"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_banner_names_every_protocols_base_url() -> None:
    from polyvox.testing.emulator.server import _announcement

    url = "http://127.0.0.1:8765"
    banner = _announcement(url)
    assert f"base_url={url}/v1" in banner  # OpenAI
    assert f"host={url}" in banner  # Ollama
    assert f"Gemini (google-genai) clients: base_url={url}" in banner
    assert f"GOOGLE_GEMINI_BASE_URL={url}" in banner
    assert f"Yandex foundation-models REST: {url}/foundationModels/v1" in banner
    assert "pip install 'polyvox-testing[yandex]'" in banner  # no gRPC endpoint given
    with_grpc = _announcement(url, "127.0.0.1:8766")
    assert "endpoint=127.0.0.1:8766" in with_grpc
    assert "export YC_API_ENDPOINT=127.0.0.1:8766\n" in with_grpc
    assert "export YC_API_KEY=" in with_grpc
    assert "export YC_FOLDER_ID=" in with_grpc
    router = f"{url}/huggingface/router/v1"
    assert f"Hugging Face (huggingface_hub) clients: base_url={router}" in banner
    assert f"HF_ROUTER_URL={router}" in banner
    assert f"HF_ENDPOINT={url}/huggingface/hub" in banner
    assert f"{url}/huggingface/tgi" in banner
    assert f"{url}/huggingface/tei" in banner
    assert f"export GIGACHAT_BASE_URL={url}/api/v1\n" in banner
    assert f"export GIGACHAT_AUTH_URL={url}/api/v2/oauth\n" in banner
    assert "export GIGACHAT_CREDENTIALS=" in banner
    assert "GIGACHAT_CA_BUNDLE_FILE" in banner  # TLS stays on against the real servers
