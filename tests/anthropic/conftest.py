from __future__ import annotations

from typing import Any

import pytest

from polyvox.anthropic import ChatAnthropic
from polyvox.testing import Emulator, Reply
from tests.conftest import recorded


@pytest.fixture
def chat(emulator: Emulator) -> ChatAnthropic:
    return ChatAnthropic(
        model="claude-haiku-4-5", api_key="sk-ant-test", base_url=emulator.url, max_retries=0
    )


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
