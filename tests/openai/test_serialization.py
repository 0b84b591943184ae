from __future__ import annotations

import json

import pytest
from langchain_core.load import dumpd, dumps, load

from polyvox.openai import ChatOpenAI, ChatOpenRouter, OpenAILLM


@pytest.mark.filterwarnings("ignore:The function `load` is in beta")
@pytest.mark.parametrize("cls", [ChatOpenAI, ChatOpenRouter])
def test_round_trip_with_explicit_allow_list(
    cls: type[ChatOpenAI], monkeypatch: pytest.MonkeyPatch
) -> None:
    model = cls(model="m-1", api_key="sk-very-secret", temperature=0.3, max_tokens=7)
    text = dumps(model)
    assert "sk-very-secret" not in text
    monkeypatch.setenv(cls.api_key_env or "", "sk-very-secret")
    loaded = load(
        json.loads(text), allowed_objects=[cls], valid_namespaces=["polyvox"], secrets_from_env=True
    )
    assert isinstance(loaded, cls)
    assert (loaded.model, loaded.temperature, loaded.max_tokens) == ("m-1", 0.3, 7)
    assert loaded.api_key is not None
    assert loaded.api_key.get_secret_value() == "sk-very-secret"


def test_secret_never_shown() -> None:
    model = ChatOpenAI(model="m", api_key="sk-very-secret")
    llm = OpenAILLM(model="m", api_key="sk-very-secret")
    for text in (repr(model), str(model), repr(llm), dumps(model), json.dumps(dumpd(model))):
        assert "sk-very-secret" not in text
    assert "sk-very-secret" not in model.model_dump_json()
