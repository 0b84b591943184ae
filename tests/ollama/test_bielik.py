"""``ChatBielik``'s variants: the short names and tags the docs list, and clear refusals."""

from __future__ import annotations

import pickle
import re

import pytest

from polyvox.ollama import BIELIK_DEFAULT_MODEL, BIELIK_VARIANTS, ChatBielik
from polyvox.ollama.bielik import BIELIK_ALIASES, bielik_tag
from polyvox.testing import Emulator
from tests.conftest import REPO

DOC = (REPO / "docs/providers/bielik.md").read_text(encoding="utf-8")


def _documented() -> list[tuple[str, str]]:
    """(short name, tag) for every short name in the docs' variant table."""
    rows = re.findall(r"^\| ([^|]*) \| `(SpeakLeash/[^`]+)`", DOC, re.MULTILINE)
    return [(name, tag) for names, tag in rows for name in re.findall(r"`([^`]+)`", names)]


def test_the_docs_list_every_short_name() -> None:
    assert sorted(name for name, _ in _documented()) == sorted(BIELIK_ALIASES)


@pytest.mark.parametrize(("name", "tag"), _documented())
def test_each_documented_short_name_is_accepted(name: str, tag: str) -> None:
    model = ChatBielik(variant=name)
    assert model.model == tag
    assert model.variant == name


@pytest.mark.parametrize("tag", list(BIELIK_VARIANTS))
def test_each_known_tag_is_accepted_as_a_variant(tag: str) -> None:
    assert ChatBielik(variant=tag).model == tag
    assert ChatBielik(variant=tag.upper()).model == tag
    assert ChatBielik(variant=tag.removeprefix("SpeakLeash/")).model == tag


def test_bielik_11b_is_the_default_tag() -> None:
    assert ChatBielik(variant="bielik-11b").model == BIELIK_DEFAULT_MODEL
    assert ChatBielik(variant="Bielik-11B").model == BIELIK_DEFAULT_MODEL
    assert ChatBielik().model == BIELIK_DEFAULT_MODEL
    assert ChatBielik().variant is None


def test_an_unknown_variant_is_refused_listing_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="unknown Bielik variant 'bielik-7b'") as caught:
        ChatBielik(variant="bielik-7b")
    message = str(caught.value)
    for name in BIELIK_ALIASES:
        assert name in message
    for tag in BIELIK_VARIANTS:
        assert tag in message
    assert "model=<tag>" in message


def test_a_variant_and_another_model_conflict() -> None:
    with pytest.raises(ValueError, match="give one of them"):
        ChatBielik(variant="bielik-4.5b", model=BIELIK_DEFAULT_MODEL)
    with pytest.raises(ValueError, match="give one of them"):
        ChatBielik(variant="bielik-4.5b", model_name=BIELIK_DEFAULT_MODEL)
    same = ChatBielik(variant="bielik-11b", model=BIELIK_DEFAULT_MODEL)
    assert same.model == BIELIK_DEFAULT_MODEL


def test_any_other_tag_still_goes_through_model() -> None:
    assert ChatBielik(model="my-bielik:latest").model == "my-bielik:latest"
    with pytest.raises(ValueError, match="unknown Bielik variant"):
        bielik_tag("my-bielik:latest")


def test_a_variant_model_copies_and_pickles() -> None:
    model = ChatBielik(variant="bielik-1.5b", temperature=0)
    again = pickle.loads(pickle.dumps(model))
    assert (again.model, again.variant) == (model.model, "bielik-1.5b")
    assert model.model_copy(update={"temperature": 1}).model == model.model


def test_a_variant_calls_its_tag(emulator: Emulator) -> None:
    emulator.ollama_models.add("SpeakLeash/bielik-4.5b-v3.0-instruct:Q8_0")
    bielik = ChatBielik(variant="bielik-4.5b", base_url=emulator.ollama_url, max_retries=0)
    assert "Dzień dobry" in str(bielik.invoke("Dzień dobry").content)
    assert bielik.health_check().ok
    chats = [r.json for r in emulator.requests if r.path == "/api/chat"]
    assert [c["model"] for c in chats if isinstance(c, dict)] == [
        "SpeakLeash/bielik-4.5b-v3.0-instruct:Q8_0"
    ]
