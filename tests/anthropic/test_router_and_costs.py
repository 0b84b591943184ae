"""ChatAnthropic as a router deployment, and its calls priced in a real SQLite ledger."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from polyvox.anthropic import ChatAnthropic
from polyvox.costs.catalog import default_catalog
from polyvox.costs.ledger import Ledger
from polyvox.costs.tracking import CostCallbackHandler
from polyvox.ollama import ChatOllama
from polyvox.router.router import Router
from polyvox.testing import Emulator, Fault, Reply, Usage

BOOK = " ".join(f"line{i}" for i in range(5000))


@pytest.fixture
def claude(emulator: Emulator) -> ChatAnthropic:
    return ChatAnthropic(
        model="claude-haiku-4-5", api_key="sk-ant-test", base_url=emulator.url, max_retries=0
    )


@pytest.fixture
def local(emulator: Emulator) -> ChatOllama:
    return ChatOllama(model="llama3.2", base_url=emulator.ollama_url, max_retries=0)


def _cloud_first(candidates: Any, request: Any, stats: Any) -> list[Any]:
    return sorted(candidates, key=lambda d: d.local)


def _claude_calls(emulator: Emulator) -> int:
    return sum(1 for r in emulator.requests if r.path == "/v1/messages")


def test_the_router_routes_to_the_claude_deployment(
    claude: ChatAnthropic, emulator: Emulator
) -> None:
    router = Router([claude], max_retries=0)
    answer = router.invoke("What is the capital of France?")
    assert answer.content == "You said: What is the capital of France?"
    assert answer.response_metadata["router"]["deployment"] == "anthropic/claude-haiku-4-5"
    assert answer.response_metadata["model_provider"] == "anthropic"
    assert _claude_calls(emulator) == 1


def test_the_router_falls_back_from_claude_overloaded(
    claude: ChatAnthropic, local: ChatOllama, emulator: Emulator
) -> None:
    router = Router([claude, local], strategy=_cloud_first, max_retries=0)
    emulator.fail(Fault.server_error(529), times=1, model="claude-haiku-4-5")
    answer = router.invoke("hi")
    attempts = [
        (a["deployment"], a["outcome"]) for a in answer.response_metadata["router"]["attempts"]
    ]
    assert attempts[0][0] == "anthropic/claude-haiku-4-5"
    assert attempts[0][1] != "ok"
    assert attempts[-1] == ("ollama/llama3.2", "ok")


def test_confidential_requests_never_reach_claude(
    claude: ChatAnthropic, local: ChatOllama, emulator: Emulator
) -> None:
    router = Router([claude, local], strategy=_cloud_first, max_retries=0)
    answer = router.invoke("salary review notes", sensitivity="confidential")
    assert answer.response_metadata["router"]["deployment"] == "ollama/llama3.2"
    assert _claude_calls(emulator) == 0


def test_a_claude_call_is_priced_in_the_ledger(
    claude: ChatAnthropic, ledger: Ledger, emulator: Emulator
) -> None:
    emulator.script(Reply("Paris", usage=Usage(prompt_tokens=1000, completion_tokens=200)))
    claude.invoke("Capital of France?", config={"callbacks": [CostCallbackHandler(ledger)]})
    assert ledger.flush(timeout=30)
    (record,) = ledger.records()
    assert (record.provider, record.model) == ("anthropic", "claude-haiku-4-5")
    assert (record.input_tokens, record.output_tokens) == (1000, 200)
    assert record.cost == (1000 * Decimal(1) + 200 * Decimal(5)) / Decimal(1_000_000)
    assert record.currency == "USD"


@pytest.mark.parametrize("ttl", ["5m", "1h"])
def test_cache_reads_and_writes_are_priced_at_their_own_rates(
    claude: ChatAnthropic, ledger: Ledger, ttl: str
) -> None:
    """Two calls sharing a cached system prompt: the first writes it, the second reads it."""
    conversation = [
        SystemMessage([{"type": "text", "text": BOOK,
                        "cache_control": {"type": "ephemeral", "ttl": ttl}}]),
        HumanMessage("Who is the hero?"),
    ]  # fmt: skip
    handler = CostCallbackHandler(ledger)
    first = claude.invoke(conversation, config={"callbacks": [handler]})
    second = claude.invoke(conversation, config={"callbacks": [handler]})
    assert ledger.flush(timeout=30)
    written, read = sorted(ledger.records(), key=lambda r: r.time)
    price = default_catalog().price_for("anthropic", "claude-haiku-4-5")
    assert price is not None
    write_rate = price.cache_write_1h if ttl == "1h" else price.cache_write
    assert write_rate == (Decimal(2) if ttl == "1h" else Decimal("1.25"))
    per = Decimal(price.per_tokens)
    for record, message in ((written, first), (read, second)):
        usage = message.usage_metadata
        assert usage is not None
        raw = message.response_metadata["usage"]
        assert record.input_tokens == usage["input_tokens"]
        assert record.cache_read_tokens == raw["cache_read_input_tokens"]
        assert record.cache_write_tokens == raw["cache_creation_input_tokens"]
        expected = (
            raw["input_tokens"] * price.input
            + raw["cache_read_input_tokens"] * price.cache_read
            + raw["cache_creation_input_tokens"] * write_rate
            + raw["output_tokens"] * price.output
        ) / per
        assert record.cost == expected
    assert written.cache_write_tokens >= 5000
    assert written.cache_read_tokens == 0
    assert read.cache_read_tokens == written.cache_write_tokens
    assert read.cache_write_tokens == 0
    assert read.cost is not None
    assert written.cost is not None
    assert read.cost < written.cost
