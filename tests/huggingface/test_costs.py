"""Hugging Face calls recorded in the cost ledger, and ChatHuggingFace as a router deployment.

Inference Providers bill what each provider charges (passed through, per provider and per
model), and dedicated endpoints bill per hour, so polyvox's catalog has no per-token price
for a Hugging Face model: a call is recorded with its tokens and an *unknown* cost (``None``),
never 0. A user who knows their provider's price registers it; a model the catalog does not
know gets an entry from the Hub (:meth:`HubModelInfo.catalog_fields`), priced ``None`` until
then. A router with a Hugging Face deployment (cloud: never given confidential data) routes
to it and records the call.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from polyvox.costs.catalog import ModelCatalog, ModelEntry, default_catalog
from polyvox.costs.ledger import Ledger
from polyvox.costs.tracking import CostCallbackHandler
from polyvox.huggingface import ChatHuggingFace, get_model_info
from polyvox.huggingface.model_info import clear_model_info_cache
from polyvox.huggingface.profiles import HUGGINGFACE_PROFILES
from polyvox.ollama import ChatOllama
from polyvox.router.router import Router
from polyvox.testing import Emulator, Reply, Usage

MODEL = "meta-llama/Llama-3.3-70B-Instruct"
MILLION = Decimal(1_000_000)


def _chat(emulator: Emulator, model: str = MODEL, **kwargs: Any) -> ChatHuggingFace:
    return ChatHuggingFace(
        model=model,
        api_key="hf_test",
        base_url=f"{emulator.url}/huggingface/router/v1",
        max_retries=0,
        **kwargs,
    )


def _row(ledger: Ledger) -> Any:
    ledger.flush()
    (record,) = ledger.records()
    return record


@pytest.mark.parametrize("model", sorted(HUGGINGFACE_PROFILES))
def test_no_profiled_model_has_a_made_up_price(model: str) -> None:
    assert default_catalog().price_for("huggingface", model) is None


@pytest.mark.parametrize("mode", ["invoke", "stream", "ainvoke", "astream"])
async def test_a_call_is_recorded_unpriced_never_free(
    emulator: Emulator, ledger: Ledger, mode: str
) -> None:
    model = _chat(emulator, provider="together")
    emulator.script(Reply("ok", usage=Usage(prompt_tokens=1_000, completion_tokens=200)))
    config: Any = {"callbacks": [CostCallbackHandler(ledger)]}
    if mode == "invoke":
        model.invoke("hi", config=config)
    elif mode == "stream":
        list(model.stream("hi", config=config))
    elif mode == "ainvoke":
        await model.ainvoke("hi", config=config)
    else:
        [c async for c in model.astream("hi", config=config)]
    record = _row(ledger)
    assert (record.provider, record.model, record.outcome) == ("huggingface", MODEL, "ok")
    assert (record.input_tokens, record.output_tokens) == (1_000, 200)
    assert record.cost is None  # unpriced: unknown, not 0


def test_a_price_the_user_registers_prices_the_row(emulator: Emulator, ledger: Ledger) -> None:
    """Together's published price for Llama 3.3 70B, registered by the user: $0.88 per 1M."""
    catalog = ModelCatalog.builtin()
    catalog.register(ModelEntry("huggingface", MODEL, context_window=131_072))
    catalog.override(MODEL, "huggingface", price={"currency": "USD", "input": 0.88, "output": 0.88})
    emulator.script(Reply("ok", usage=Usage(prompt_tokens=1_000, completion_tokens=200)))
    _chat(emulator).invoke("hi", config={"callbacks": [CostCallbackHandler(ledger, catalog)]})
    record = _row(ledger)
    assert (record.cost, record.currency) == (1_200 * Decimal("0.88") / MILLION, "USD")


def test_a_hub_model_the_catalog_lacks_is_registered_priced_none(
    emulator: Emulator, ledger: Ledger
) -> None:
    clear_model_info_cache()
    model = "deepseek-ai/DeepSeek-R1"
    catalog = ModelCatalog.builtin()
    assert catalog.find(model, "huggingface") is None
    info = get_model_info(model, hub_url=f"{emulator.url}/huggingface/hub")
    entry = catalog.register(ModelEntry(**info.catalog_fields()))
    assert (entry.id, entry.context_window, entry.price, entry.priced) == (
        f"huggingface/{model}",
        32_768,
        None,
        False,
    )
    assert catalog.get(model, "huggingface").supports("streaming")
    emulator.script(Reply("ok", usage=Usage(prompt_tokens=50, completion_tokens=5)))
    handler = CostCallbackHandler(ledger, catalog)
    _chat(emulator, model).invoke("hi", config={"callbacks": [handler]})
    record = _row(ledger)
    assert (record.model, record.input_tokens, record.output_tokens) == (model, 50, 5)
    assert record.cost is None


def test_a_router_with_a_hugging_face_deployment_routes_and_records(
    emulator: Emulator, ledger: Ledger
) -> None:
    """Inference Providers (cloud) answer ordinary requests; confidential ones stay local."""
    local = ChatOllama(model="llama3.2", base_url=emulator.ollama_url, max_retries=0)
    router = Router(
        [_chat(emulator), local],
        strategy=lambda candidates, request, stats: sorted(candidates, key=lambda d: d.local),
        max_retries=0,
    )
    emulator.script(Reply("Paris", usage=Usage(prompt_tokens=1_000, completion_tokens=200)))
    handler = CostCallbackHandler(ledger)
    answer = router.invoke("Capital of France?", config={"callbacks": [handler]})
    assert answer.content == "Paris"
    assert answer.response_metadata["router"]["deployment"] == f"huggingface/{MODEL}"
    secret = router.invoke(
        "salary review notes", sensitivity="confidential", config={"callbacks": [handler]}
    )
    assert secret.response_metadata["router"]["deployment"] == "ollama/llama3.2"
    routed = [r for r in emulator.requests if r.path.startswith("/huggingface/router")]
    assert len(routed) == 1, "the confidential request never reached Hugging Face"
    ledger.flush()
    records = {r.provider: r for r in ledger.records()}
    assert set(records) == {"huggingface", "ollama"}
    hf = records["huggingface"]
    assert (hf.model, hf.input_tokens, hf.output_tokens, hf.cost) == (MODEL, 1_000, 200, None)
    assert records["ollama"].cost == Decimal(0)
