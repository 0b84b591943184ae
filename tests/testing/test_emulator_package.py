"""The package surface: exports, cheap import, lifecycle, the shared instance, the plugin."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

import polyvox.testing
from polyvox.testing import Emulator, shared_emulator
from polyvox.testing.emulator import openai_protocol

EXPECTED = {
    "Emulator",
    "Fault",
    "RawResponse",
    "RecordedRequest",
    "Reply",
    "ToolCall",
    "Usage",
    "generate_value",
    "serve",
    "shared_emulator",
}


def test_all_lists_the_public_names() -> None:
    assert set(polyvox.testing.__all__) == EXPECTED
    for name in polyvox.testing.__all__:
        assert getattr(polyvox.testing, name) is not None
    assert set(dir(polyvox.testing)) >= EXPECTED
    with pytest.raises(AttributeError):
        polyvox.testing.NotAThing  # noqa: B018


def test_import_is_cheap() -> None:
    code = (
        "import sys, polyvox.testing, polyvox.testing.emulator, polyvox.testing.pytest_plugin\n"
        "from polyvox.testing import Reply, Fault\n"
        "heavy = [m for m in ('starlette', 'uvicorn', 'jsonschema') if m in sys.modules]\n"
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_lifecycle_and_context_manager() -> None:
    emulator = Emulator()
    assert not emulator.running
    assert "stopped" in repr(emulator)
    with emulator as running:
        assert running is emulator
        assert emulator.running
        assert emulator.url == f"http://127.0.0.1:{emulator.port}"
        assert emulator.openai_base_url == f"{emulator.url}/v1"
        assert emulator.start() is emulator  # idempotent
        assert httpx.get(f"{emulator.url}/_emulator/health").status_code == 200
    assert not emulator.running
    emulator.stop()  # twice is fine
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{emulator.url}/_emulator/health", timeout=1)


def test_protocols_can_be_chosen() -> None:
    with Emulator(protocols=[openai_protocol.PROTOCOL]) as emulator:
        health = httpx.get(f"{emulator.url}/_emulator/health").json()
        assert health["protocols"] == ["openai"]


def test_separate_emulators_have_separate_state() -> None:
    with Emulator() as one, Emulator() as two:
        assert one.port != two.port
        one.script("only in one")
        headers = {"authorization": "Bearer k"}
        body = {"model": "m", "messages": [{"role": "user", "content": "x"}]}
        answer = httpx.post(f"{two.openai_base_url}/chat/completions", json=body, headers=headers)
        assert answer.json()["choices"][0]["message"]["content"] == "You said: x"
        assert len(one.requests) == 0
        assert len(two.requests) == 1


def test_shared_emulator_is_a_singleton(emulator: Emulator) -> None:
    assert shared_emulator() is shared_emulator() is emulator
    assert emulator.running


def test_fixture_resets_state(emulator: Emulator) -> None:
    assert emulator.requests == []
    assert emulator.state.pending_replies() == 0
    emulator.script("left behind")  # the fixture clears it after the test
