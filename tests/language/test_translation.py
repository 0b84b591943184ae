"""Translation Runnables against the emulator: the prompt sent, the answer, skipping, chains."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from langchain_core.runnables import RunnableLambda

from polyvox.language.detection import LanguageDetector, preload
from polyvox.language.translation import (
    AUTO,
    english_to_polish,
    ensure_language,
    language_name,
    polish_to_english,
    translation_prompt,
    translator,
)
from polyvox.openai import ChatOpenAI
from polyvox.testing import Emulator, Reply

POLISH = "Dzień dobry! Spotkanie z Anną Kowalską jest w piątek o 15:30, sala 204."
ENGLISH = "Good morning! The meeting with Anna Kowalska is on Friday at 3:30 pm, room 204."


@pytest.fixture
def model(emulator: Emulator) -> ChatOpenAI:
    return ChatOpenAI(model="m", api_key="k", base_url=emulator.openai_base_url, max_retries=0)


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    return preload()


def _messages(emulator: Emulator) -> list[dict[str, Any]]:
    body = emulator.requests[-1].json
    assert isinstance(body, dict)
    messages = body["messages"]
    assert isinstance(messages, list)
    return messages


def _assert_prompt(emulator: Emulator, text: str, source: str, target: str) -> None:
    system, user = _messages(emulator)
    assert system["role"] == "system"
    assert f"from {source} into {target}" in system["content"]
    assert "translation only" in system["content"]
    assert user == {"role": "user", "content": text}


def test_polish_to_english_sends_the_text_and_languages(
    emulator: Emulator, model: ChatOpenAI
) -> None:
    emulator.script(Reply(f"  {ENGLISH}\n"))
    assert polish_to_english(model).invoke(POLISH) == ENGLISH
    assert len(emulator.requests) == 1
    _assert_prompt(emulator, POLISH, "Polish", "English")


def test_english_to_polish_takes_a_mapping(emulator: Emulator, model: ChatOpenAI) -> None:
    emulator.script(Reply(POLISH))
    assert english_to_polish(model).invoke({"text": ENGLISH, "other": 1}) == POLISH
    _assert_prompt(emulator, ENGLISH, "English", "Polish")


def test_any_pair_and_style(emulator: Emulator, model: ChatOpenAI) -> None:
    answer = translator(model, source="cs", target="uk", style="formal").invoke("Dobrý den")
    assert answer == "You said: Dobrý den"
    system = _messages(emulator)[0]["content"]
    assert "from Czech into Ukrainian" in system
    assert "Style: formal." in system


def test_prompt_keeps_formatting_names_and_numbers() -> None:
    prompt = translation_prompt("pl", "en")
    for rule in ("formatting", "personal names", "numbers", "{name}", "never answer"):
        assert rule in prompt, rule
    assert "work out the source language" in translation_prompt(AUTO, "en")
    assert language_name("pt-BR") == "Portuguese"
    assert language_name("xx") == "the language with ISO 639-1 code 'xx'"


def test_bad_use(model: ChatOpenAI) -> None:
    with pytest.raises(ValueError, match="nothing to translate"):
        translator(model, source="pl", target="PL")


def test_bad_input(model: ChatOpenAI) -> None:
    with pytest.raises(TypeError, match="'text'"):
        polish_to_english(model).invoke({"input": POLISH})


async def test_async_translation(emulator: Emulator, model: ChatOpenAI) -> None:
    emulator.script(Reply(ENGLISH))
    assert await polish_to_english(model).ainvoke(POLISH) == ENGLISH
    _assert_prompt(emulator, POLISH, "Polish", "English")
    answers = await english_to_polish(model).abatch(["one", "two"])
    assert sorted(answers) == ["You said: one", "You said: two"]


def test_inside_an_lcel_chain(emulator: Emulator, model: ChatOpenAI) -> None:
    emulator.script(Reply("Where is the station?"))
    chain = polish_to_english(model) | RunnableLambda(str.upper)
    assert chain.invoke("Gdzie jest dworzec?") == "WHERE IS THE STATION?"
    pipeline = RunnableLambda(lambda q: {"text": q}) | ensure_language(model, "en")
    assert pipeline.invoke("Where is the station?") == "Where is the station?"


def test_ensure_language_skips_text_already_in_target(
    emulator: Emulator, model: ChatOpenAI, detector: LanguageDetector
) -> None:
    to_english = ensure_language(model, target="en")
    assert to_english.invoke(ENGLISH) == ENGLISH
    assert to_english.invoke("  12345 :-)  ") == "  12345 :-)  "
    assert emulator.requests == []
    to_polish = ensure_language(model, target="pl")
    assert to_polish.invoke("dzien dobry, jak sie masz") == "dzien dobry, jak sie masz"
    assert emulator.requests == []


def test_ensure_language_translates_from_the_detected_language(
    emulator: Emulator, model: ChatOpenAI, detector: LanguageDetector
) -> None:
    emulator.script(Reply(ENGLISH), Reply("Where is the nearest pharmacy?"))
    to_english = ensure_language(model)
    assert to_english.invoke(POLISH) == ENGLISH
    _assert_prompt(emulator, POLISH, "Polish", "English")
    assert to_english.invoke("Где находится ближайшая аптека?") == "Where is the nearest pharmacy?"
    _assert_prompt(emulator, "Где находится ближайшая аптека?", "Russian", "English")
    assert len(emulator.requests) == 2


def test_ensure_language_target_must_be_a_candidate(model: ChatOpenAI) -> None:
    with pytest.raises(ValueError, match="'fi' is not a candidate"):
        ensure_language(model, "fi", detector=LanguageDetector(["pl", "en"]))


def test_import_does_not_load_lingua() -> None:
    code = "import sys, polyvox.language.translation; assert 'lingua' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_ensure_language_when_unsure(emulator: Emulator, model: ChatOpenAI) -> None:
    strict = LanguageDetector(["pl", "cs", "sk", "en"], min_relative_distance=0.9)
    assert strict.detect("Tak") is None
    assert ensure_language(model, "en", detector=strict).invoke("Tak") == "You said: Tak"
    assert "work out the source language" in _messages(emulator)[0]["content"]
    keep = ensure_language(model, "en", detector=strict, translate_unsure=False)
    assert keep.invoke("Tak") == "Tak"
    assert len(emulator.requests) == 1


async def test_ensure_language_async(emulator: Emulator, model: ChatOpenAI) -> None:
    fresh = LanguageDetector(["pl", "en", "de"])
    to_english = ensure_language(model, "en", detector=fresh)
    assert await to_english.ainvoke(ENGLISH) == ENGLISH
    assert fresh.preloaded
    assert emulator.requests == []
    emulator.script(Reply(ENGLISH))
    assert await to_english.ainvoke({"text": POLISH}) == ENGLISH
    _assert_prompt(emulator, POLISH, "Polish", "English")
    chunks = [chunk async for chunk in to_english.astream("Wo ist der Bahnhof?")]
    assert "".join(chunks) == "You said: Wo ist der Bahnhof?"
    _assert_prompt(emulator, "Wo ist der Bahnhof?", "German", "English")


def test_ensure_language_starts_loading_the_models_in_the_background(
    emulator: Emulator, model: ChatOpenAI
) -> None:
    fresh = LanguageDetector(["pl", "en", "de"])
    to_english = ensure_language(model, "en", detector=fresh)
    assert fresh.wait_preloaded(120), "loaded without any call"
    assert to_english.invoke(ENGLISH) == ENGLISH
    assert emulator.requests == []
