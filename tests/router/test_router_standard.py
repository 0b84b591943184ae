"""LangChain's standard test suites (langchain-tests, pinned) for the Router.

The router is tested as the chat model users see: a Router over emulator deployments
(``ChatOpenAI`` on two catalog models of the emulator's OpenAI protocol), so every call
goes through routing, the attempt loop and a real deployment over HTTP on loopback.
"""

from __future__ import annotations

from typing import Any, Literal

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_tests.integration_tests import ChatModelIntegrationTests
from langchain_tests.unit_tests import ChatModelUnitTests

from polyvox.openai import ChatOpenAI
from polyvox.router.router import Router
from polyvox.testing import shared_emulator

NESTED_RUN_REASON = (
    "the suite expects exactly one on_chat_model_start per call; the router's run has the "
    "deployment's run nested under it (by design: cost tracking and tracing must see the "
    "real provider and model), so there are two. The router's own run, the first, carries "
    "ls_structured_output_format as the suite requires: "
    "test_dropin.py::test_structured_output_format_is_reported checks it"
)


def _deployments() -> list[ChatOpenAI]:
    url = shared_emulator().openai_base_url
    return [
        ChatOpenAI(model=name, api_key="sk-test", base_url=url, max_retries=0)
        for name in ("gpt-4o-mini", "gpt-4.1")
    ]


class TestRouterUnit(ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[Router]:
        return Router

    @property
    def standard_chat_model_params(self) -> dict[str, Any]:
        """The standard parameters, less ``api_key``.

        A router holds no credentials: each deployment has its own key, so it refuses an
        ``api_key`` like any unknown parameter. Every other standard parameter is a router
        field (``timeout`` is the whole call's deadline).
        """
        params = super().standard_chat_model_params
        del params["api_key"]
        return params

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"deployments": _deployments(), "strategy": "cost"}


class TestRouterIntegration(ChatModelIntegrationTests):
    """The standard integration suite through the router.

    Skipped by the suite itself, with reason: the PDF, audio, image, image/PDF tool-message
    and Anthropic-input tests download their media from the internet, which no test here may
    reach (test_router_constraints.py routes image content locally); test_stream_time needs
    VCR cassettes of a real API; model override is not offered (the router picks the model).
    """

    @property
    def chat_model_class(self) -> type[Router]:
        return Router

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"deployments": _deployments(), "strategy": "cost"}

    @property
    def supports_json_mode(self) -> bool:
        return True

    @property
    def supported_usage_metadata_details(self) -> dict[Any, list[Any]]:
        return {"invoke": [], "stream": []}

    @pytest.mark.xfail(reason=NESTED_RUN_REASON, strict=True, raises=AssertionError)
    @pytest.mark.parametrize("schema_type", ["pydantic", "typeddict", "json_schema"])
    def test_structured_output(
        self,
        model: BaseChatModel,
        schema_type: Literal["pydantic", "typeddict", "json_schema"],
    ) -> None:
        super().test_structured_output(model, schema_type)

    @pytest.mark.xfail(reason=NESTED_RUN_REASON, strict=True, raises=AssertionError)
    @pytest.mark.parametrize("schema_type", ["pydantic", "typeddict", "json_schema"])
    async def test_structured_output_async(
        self,
        model: BaseChatModel,
        schema_type: Literal["pydantic", "typeddict", "json_schema"],
    ) -> None:
        await super().test_structured_output_async(model, schema_type)
