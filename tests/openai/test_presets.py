"""``ChatMistral``: Mistral's API with its defaults, what it sends, and how it is priced."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from polyvox.core.profiles import get_profile
from polyvox.costs.catalog import default_catalog
from polyvox.costs.ledger import Ledger
from polyvox.costs.tracking import CostCallbackHandler
from polyvox.openai import ChatMistral, ChatOpenAI
from polyvox.testing import Emulator, Reply, Usage


@pytest.fixture
def mistral(emulator: Emulator) -> ChatMistral:
    return ChatMistral(
        model="mistral-small-latest", api_key="k", base_url=emulator.openai_base_url, max_retries=0
    )


def test_defaults_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MISTRAL_BASE_URL", raising=False)
    monkeypatch.setenv("MISTRAL_API_KEY", "sk-mistral")
    model = ChatMistral(model="mistral-large-latest")
    assert isinstance(model, ChatOpenAI)
    assert model.base_url == "https://api.mistral.ai/v1"
    assert model.api_key is not None
    assert model.api_key.get_secret_value() == "sk-mistral"
    assert model.provider == "mistral"
    assert model._get_ls_params()["ls_provider"] == "mistral"
    monkeypatch.setenv("MISTRAL_BASE_URL", "http://127.0.0.1:9/v1")
    assert ChatMistral(model="m").base_url == "http://127.0.0.1:9/v1"
    monkeypatch.delenv("MISTRAL_API_KEY")
    with pytest.raises(ValidationError, match="MISTRAL_API_KEY"):
        ChatMistral(model="m")


def test_profiles_come_from_the_facts() -> None:
    model = ChatMistral(model="mistral-large-latest", api_key="k")
    assert model.profile is not None
    assert model.profile["max_input_tokens"] == 262_144
    assert model.profile["tool_calling"] is True
    assert get_profile("mistral", "codestral-latest") is not None


def test_sends_only_fields_mistral_accepts(emulator: Emulator, mistral: ChatMistral) -> None:
    mistral.invoke("hi", max_tokens=50)
    body = emulator.requests[-1].json
    assert isinstance(body, dict)
    assert body["max_tokens"] == 50
    assert "max_completion_tokens" not in body
    emulator.script(Reply("streamed", usage=Usage(prompt_tokens=7, completion_tokens=2)))
    assert "".join(str(c.content) for c in mistral.stream("hi")) == "streamed"
    body = emulator.requests[-1].json
    assert isinstance(body, dict)
    assert body["stream"] is True
    assert "stream_options" not in body  # Mistral answers 422 to it


def test_replies_carry_the_provider_and_are_priced_as_mistral(
    emulator: Emulator, mistral: ChatMistral, tmp_path: Path
) -> None:
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    try:
        emulator.script(Reply("Bonjour", usage=Usage(prompt_tokens=1000, completion_tokens=100)))
        reply = mistral.invoke("Say bonjour", config={"callbacks": [CostCallbackHandler(ledger)]})
        assert reply.response_metadata["model_provider"] == "mistral"
        assert ledger.flush(timeout=30)
        [record] = ledger.records()
    finally:
        ledger.close()
    assert (record.provider, record.model) == ("mistral", "mistral-small-latest")
    price = default_catalog().price_for("mistral", "mistral-small-latest")
    assert price is not None
    assert price.input > 0
    assert record.cost == (1000 * price.input + 100 * price.output) / Decimal(price.per_tokens)
    assert record.currency == "USD"
