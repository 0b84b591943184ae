"""Fixtures of the RLM engine tests: emulated models, an RLM built from them, a ledger."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from polyvox.openai import ChatOpenAI
from polyvox.rlm.rlm import RecursiveLanguageModel
from polyvox.testing import Emulator, Reply

ROOT = "gpt-4o"
"""The root model's name (priced in the catalog)."""
SUB = "gpt-4o-mini"
"""The sub-model's name (priced)."""


@pytest.fixture
def chat(emulator: Emulator) -> Callable[[str], ChatOpenAI]:
    """Make an emulated OpenAI chat model by name."""

    def make(name: str) -> ChatOpenAI:
        return ChatOpenAI(
            model=name, api_key="sk-test", base_url=emulator.openai_base_url, max_retries=0
        )

    return make


@pytest.fixture
def make_rlm(chat: Callable[[str], ChatOpenAI]) -> Callable[..., RecursiveLanguageModel]:
    """Build an RLM with the emulated root (``ROOT``) and sub (``SUB``) models by default."""

    def make(**fields: Any) -> RecursiveLanguageModel:
        fields.setdefault("root", chat(ROOT))
        fields.setdefault("sub", chat(SUB))
        return RecursiveLanguageModel(**fields)

    return make


def repl(code: str, prose: str = "Next step.") -> Reply:
    """A root-model reply: some prose, then one ``repl`` block."""
    return Reply(f"{prose}\n```repl\n{code}\n```")
