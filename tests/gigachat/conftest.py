from __future__ import annotations

import base64
import uuid
from typing import Any

import pytest

from polyvox.gigachat import GigaChat
from polyvox.testing import Emulator, Reply
from tests.conftest import recorded


def fresh_credentials() -> str:
    """An authorization key no other test uses (its own shared token store)."""
    return base64.b64encode(f"client-{uuid.uuid4()}:secret".encode()).decode()


def connection(emulator: Emulator, **fields: Any) -> dict[str, Any]:
    """The fields that point a GigaChat class at the emulator."""
    return {
        "credentials": fresh_credentials(),
        "base_url": emulator.gigachat_base_url,
        "auth_url": emulator.gigachat_auth_url,
        **fields,
    }


@pytest.fixture
def chat(emulator: Emulator) -> GigaChat:
    return GigaChat(model="GigaChat-2-Max", max_retries=0, **connection(emulator))


def replay(emulator: Emulator, name: str) -> dict[str, Any]:
    """Have the emulator answer the next request with a recorded body, byte for byte."""
    rec = recorded(name)
    response = rec["response"]
    emulator.script(
        Reply.raw(
            response["body"], content_type=response["content_type"], status=response["status"]
        )
    )
    return rec
