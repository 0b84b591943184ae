"""``get_num_tokens`` and ``get_num_tokens_from_messages`` through ``/v1/messages/count_tokens``."""

from __future__ import annotations

import socket
import warnings

import anthropic
import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from polyvox.anthropic import ChatAnthropic
from polyvox.core.token_counting import estimate_tokens
from polyvox.testing import Emulator

TEXT = "The quick brown fox jumps over the lazy dog, twice over."


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_get_num_tokens_asks_the_count_endpoint_without_a_warning(
    chat: ChatAnthropic, emulator: Emulator
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        counted = chat.get_num_tokens(TEXT)
    sent = emulator.requests[-1]
    assert sent.path == "/v1/messages/count_tokens"
    assert sent.json == {
        "model": "claude-haiku-4-5",
        "messages": [{"role": "user", "content": [{"type": "text", "text": TEXT}]}],
    }
    # the text as one user message: the same count the messages method gives for it
    assert counted == chat.get_num_tokens_from_messages([HumanMessage(TEXT)])
    assert counted > 0


def test_get_num_tokens_of_nothing_sends_nothing(chat: ChatAnthropic, emulator: Emulator) -> None:
    assert chat.get_num_tokens("") == 0
    assert emulator.requests == []


def test_counts_fall_back_to_the_estimate_where_the_endpoint_is_unreachable() -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    chat = ChatAnthropic(model="claude-haiku-4-5", api_key="k", base_url=url, max_retries=0)
    with pytest.warns(UserWarning, match="count_tokens endpoint at .* could not be reached"):
        assert chat.get_num_tokens(TEXT) == estimate_tokens(TEXT)
    conversation = [SystemMessage("Be brief."), HumanMessage(TEXT)]
    assert chat.get_num_tokens_from_messages(conversation) >= estimate_tokens(TEXT)


def test_other_count_errors_are_raised_not_estimated(emulator: Emulator) -> None:
    chat = ChatAnthropic(
        model="claude-haiku-4-5", api_key="invalid-key", base_url=emulator.url, max_retries=0
    )
    with pytest.raises(anthropic.AuthenticationError):
        chat.get_num_tokens(TEXT)


def test_custom_token_ids_win_over_the_endpoint(emulator: Emulator) -> None:
    chat = ChatAnthropic(
        model="claude-haiku-4-5",
        api_key="k",
        base_url=emulator.url,
        custom_get_token_ids=lambda text: list(range(len(text.split()))),
    )
    assert chat.get_num_tokens("one two three") == 3
    assert chat.get_num_tokens_from_messages([HumanMessage("one two three")]) > 3
    assert emulator.requests == []
