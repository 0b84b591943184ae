"""Prompt caching end to end: ``ChatAnthropic`` against the emulator's remembered cache."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessageChunk, HumanMessage, SystemMessage

from polyvox.anthropic import ChatAnthropic
from polyvox.testing import Emulator

BOOK = " ".join(f"line{i}" for i in range(5000))  # 5,000 tokens: over Haiku 4.5's 4,096 minimum


def _conversation(question: str, ttl: str | None = None) -> list[Any]:
    mark: dict[str, Any] = {"type": "ephemeral"}
    if ttl:
        mark["ttl"] = ttl
    system = SystemMessage(
        [{"type": "text", "text": "Answer from the book."},
         {"type": "text", "text": BOOK, "cache_control": mark}]
    )  # fmt: skip
    return [system, HumanMessage(question)]


def _details(usage: Any) -> dict[str, int]:
    return dict(usage["input_token_details"])


def test_the_first_call_writes_the_cache_and_the_next_reads_it(
    chat: ChatAnthropic, emulator: Emulator
) -> None:
    first = chat.invoke(_conversation("Who is the hero?"))
    assert first.usage_metadata is not None
    written = _details(first.usage_metadata)
    assert written["cache_read"] == 0
    assert written["ephemeral_5m_input_tokens"] >= 5000
    assert emulator.requests[-1].json["system"][1]["cache_control"] == {"type": "ephemeral"}

    second = chat.invoke(_conversation("Where does it end?"))
    assert second.usage_metadata is not None
    read = _details(second.usage_metadata)
    assert read["cache_read"] == written["ephemeral_5m_input_tokens"]
    assert read.get("ephemeral_5m_input_tokens", 0) == 0
    raw = second.response_metadata["usage"]
    assert raw["cache_read_input_tokens"] == read["cache_read"]
    assert raw["cache_creation_input_tokens"] == 0
    assert second.usage_metadata["input_tokens"] == raw["input_tokens"] + read["cache_read"]


def test_streams_report_the_cache_too(chat: ChatAnthropic) -> None:
    chat.invoke(_conversation("Who is the hero?"))
    full: AIMessageChunk | None = None
    for chunk in chat.stream(_conversation("And the villain?")):
        full = chunk if full is None else full + chunk
    assert full is not None
    assert full.usage_metadata is not None
    assert _details(full.usage_metadata)["cache_read"] >= 5000


def test_one_hour_writes_are_reported_apart(chat: ChatAnthropic) -> None:
    message = chat.invoke(_conversation("Who is the hero?", ttl="1h"))
    assert message.usage_metadata is not None
    details = _details(message.usage_metadata)
    assert details["ephemeral_1h_input_tokens"] >= 5000
    assert details["ephemeral_5m_input_tokens"] == 0


def test_automatic_caching_through_model_kwargs(emulator: Emulator) -> None:
    chat = ChatAnthropic(
        model="claude-sonnet-4-5",
        api_key="k",
        base_url=emulator.url,
        model_kwargs={"cache_control": {"type": "ephemeral"}},
    )
    assert chat.invoke(BOOK).usage_metadata["input_token_details"]["cache_read"] == 0  # type: ignore[index]
    again = chat.invoke(BOOK).usage_metadata
    assert again is not None
    assert again["input_token_details"]["cache_read"] >= 5000
    assert emulator.requests[-1].json["cache_control"] == {"type": "ephemeral"}


def test_the_emulator_reset_empties_the_cache(chat: ChatAnthropic, emulator: Emulator) -> None:
    chat.invoke(_conversation("Who is the hero?"))
    emulator.reset()
    again = chat.invoke(_conversation("Who is the hero?"))
    assert again.usage_metadata is not None
    assert _details(again.usage_metadata)["cache_read"] == 0
