"""ChatHuggingFace, HuggingFaceEndpoint and the embeddings against the emulator: routing,
503-loading waits, 429s, the SDK's exception classes, TGI details and stop sequences."""

from __future__ import annotations

import time

import pytest
from huggingface_hub.errors import BadRequestError, HfHubHTTPError, ValidationError
from langchain_core.exceptions import (
    ModelAPIError,
    ModelAuthenticationError,
    ModelInvalidRequestError,
    ModelNotFoundError,
    ModelRateLimitError,
)

from polyvox.huggingface import (
    ChatHuggingFace,
    HuggingFaceEndpoint,
    HuggingFaceEndpointEmbeddings,
    get_model_info,
    list_models,
)
from polyvox.huggingface.model_info import clear_model_info_cache
from polyvox.huggingface.responses import ThinkSplitter, split_think
from polyvox.testing import Emulator, Fault, Reply
from polyvox.testing.emulator.huggingface_protocol import model_loading


def _chat(emulator: Emulator, **kwargs: object) -> ChatHuggingFace:
    params: dict[str, object] = {
        "model": "meta-llama/Llama-3.3-70B-Instruct",
        "api_key": "hf_test",
        "base_url": f"{emulator.url}/huggingface/router/v1",
        "max_retries": 0,
    }
    params.update(kwargs)
    return ChatHuggingFace(**params)  # type: ignore[arg-type]


def _tgi(emulator: Emulator) -> str:
    return f"{emulator.url}/huggingface/tgi"


def test_named_provider_is_sent_as_the_routers_suffix(emulator: Emulator) -> None:
    _chat(emulator, provider="fireworks-ai").invoke("hi")
    sent = emulator.last_request
    assert sent is not None
    assert sent.json is not None
    assert sent.json["model"] == "meta-llama/Llama-3.3-70B-Instruct:fireworks-ai"
    assert sent.headers["authorization"] == "Bearer hf_test"
    with pytest.raises(BadRequestError, match="Provider 'groq' is not supported"):
        _chat(emulator, provider="groq").invoke("hi")


def test_auto_sends_the_model_alone_and_bill_to_its_header(emulator: Emulator) -> None:
    _chat(emulator, bill_to="my-org").invoke("hi")
    sent = emulator.last_request
    assert sent is not None
    assert sent.json is not None
    assert sent.json["model"] == "meta-llama/Llama-3.3-70B-Instruct"
    assert sent.headers["x-hf-bill-to"] == "my-org"


def test_the_router_needs_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HF_TOKEN", "HUGGINGFACEHUB_API_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ValueError, match="HF_TOKEN"):
        ChatHuggingFace(model="x/y")
    assert ChatHuggingFace(endpoint_url="http://127.0.0.1:9").api_key is None


def test_drop_in_llm_form(emulator: Emulator) -> None:
    llm = HuggingFaceEndpoint(endpoint_url=_tgi(emulator), max_new_tokens=32, temperature=0.5)
    chat = ChatHuggingFace(llm=llm)
    assert (chat.endpoint_url, chat.max_tokens, chat.temperature) == (_tgi(emulator), 32, 0.5)
    assert chat.invoke("ping").content == "You said: ping"
    assert emulator.last_request is not None
    assert emulator.last_request.path == "/huggingface/tgi/v1/chat/completions"


def test_waits_for_a_loading_model(emulator: Emulator) -> None:
    emulator.fail(model_loading(0.05), times=2)
    started = time.monotonic()
    assert _chat(emulator).invoke("hi").content == "You said: hi"
    assert time.monotonic() - started >= 0.1


async def test_waits_for_a_loading_model_async_stream(emulator: Emulator) -> None:
    emulator.fail(model_loading(0.05))
    chunks = [c.content async for c in _chat(emulator).astream("hi")]
    assert "".join(str(c) for c in chunks) == "You said: hi"


def test_the_wait_for_loading_is_bounded(emulator: Emulator) -> None:
    emulator.fail(model_loading(0.05), times=None)
    model = _chat(emulator, model_loading_timeout=0.2, max_retries=3)
    started = time.monotonic()
    with pytest.raises(ModelAPIError, match="still loading after waiting") as info:
        model.invoke("hi")
    assert time.monotonic() - started < 2
    assert isinstance(info.value, HfHubHTTPError)
    assert info.value.response.status_code == 503


def test_429_is_retried_after_retry_after(emulator: Emulator) -> None:
    emulator.fail(Fault.rate_limit(0.01))
    assert _chat(emulator, max_retries=1).invoke("hi").content == "You said: hi"
    emulator.fail(Fault.rate_limit(0.01))
    with pytest.raises(ModelRateLimitError) as info:
        _chat(emulator).invoke("hi")
    assert isinstance(info.value, HfHubHTTPError)
    assert info.value.retry_after == pytest.approx(0.01)


def test_errors_are_the_sdks_classes(emulator: Emulator) -> None:
    with pytest.raises(ModelNotFoundError) as missing:
        _chat(emulator, model="no-such-model").invoke("hi")
    assert isinstance(missing.value, HfHubHTTPError)
    assert "Model no-such-model does not exist" in str(missing.value)
    with pytest.raises(ModelAuthenticationError, match="hf_"):
        _chat(emulator, api_key="not-an-hf-token").invoke("hi")
    emulator.fail(Fault(status=400, message="bad input"))
    with pytest.raises(BadRequestError) as bad:
        _chat(emulator).invoke("hi")
    assert isinstance(bad.value, ModelInvalidRequestError)


def test_tgi_validation_error_is_the_sdks_validation_error(emulator: Emulator) -> None:
    llm = HuggingFaceEndpoint(endpoint_url=_tgi(emulator), temperature=0.5, max_retries=0)
    with pytest.raises(ValidationError) as info:
        llm.invoke("hi", stop=["a", "b", "c", "d", "e"])
    assert isinstance(info.value, ModelInvalidRequestError)
    assert "supports up to 4 stop sequences" in str(info.value)


def test_endpoint_details_and_stop_sequences(emulator: Emulator) -> None:
    llm = HuggingFaceEndpoint(endpoint_url=_tgi(emulator), max_new_tokens=20)
    result = llm.generate(["hello world"], stop=["world"])
    generation = result.generations[0][0]
    assert generation.text == "You said: hello "
    assert generation.generation_info is not None
    assert generation.generation_info["finish_reason"] == "stop_sequence"
    sent = emulator.last_request
    assert sent is not None
    assert sent.json is not None
    assert sent.json["parameters"] == {"max_new_tokens": 20, "stop": ["world"], "details": True}
    assert "".join(llm.stream("hello there")) == "You said: hello there"


async def test_endpoint_async(emulator: Emulator) -> None:
    llm = HuggingFaceEndpoint(endpoint_url=_tgi(emulator), max_new_tokens=3)
    assert await llm.ainvoke("one two three four") == "You said:"
    chunks = [c async for c in llm.astream("one two", max_new_tokens=20)]
    assert "".join(chunks) == "You said: one two"


def test_embeddings_options_reach_tei(emulator: Emulator) -> None:
    emb = HuggingFaceEndpointEmbeddings(
        model=f"{emulator.url}/huggingface/tei", normalize=False, truncate=True
    )
    vectors = emb.embed_documents(["a b", "c"])
    assert [len(v) for v in vectors] == [768, 768]
    assert sum(x * x for x in vectors[0]) == pytest.approx(9.0)  # not unit length
    sent = emulator.last_request
    assert sent is not None
    assert sent.json == {
        "inputs": ["a b", "c"],
        "normalize": False,
        "truncate": True,
    }


def test_model_info_is_cached(emulator: Emulator) -> None:
    clear_model_info_cache()
    hub = f"{emulator.url}/huggingface/hub"
    info = get_model_info("deepseek-ai/DeepSeek-R1", hub_url=hub)
    assert (info.pipeline_tag, info.license, info.context_length) == (
        "text-generation",
        "apache-2.0",
        32768,
    )
    assert info.inference_providers["novita"]["provider_id"] == "deepseek-ai/deepseek-r1"
    assert info.catalog_fields()["price"] is None
    count = len(emulator.requests)
    assert get_model_info("deepseek-ai/DeepSeek-R1", hub_url=hub) is info
    assert len(emulator.requests) == count
    with pytest.raises(ModelNotFoundError):
        get_model_info("no-such-org/model", hub_url=hub)
    found = list_models(task="feature-extraction", provider="hf-inference", hub_url=hub)
    assert [m.model for m in found] == ["sentence-transformers/all-MiniLM-L6-v2", "BAAI/bge-m3"]


def test_think_splitting() -> None:
    assert split_think("<think>a</think>\n\nb") == ("a", "b")
    assert split_think("plain") == (None, "plain")
    splitter = ThinkSplitter()
    pieces = [splitter.feed(p) for p in ["<th", "ink>x y</th", "ink>", "\n", "answer"]]
    pieces.append(splitter.flush())
    assert "".join(r for r, _ in pieces) == "x y"
    assert "".join(a for _, a in pieces) == "answer"


def test_scripted_think_stream(emulator: Emulator) -> None:
    emulator.script(Reply(content="<think>plan</think>\nDone."))
    chunks = list(_chat(emulator).stream("go"))
    total = chunks[0]
    for chunk in chunks[1:]:
        total += chunk
    assert total.content == "Done."
    assert total.additional_kwargs["reasoning_content"] == "plan"


def test_endpoint_url_from_the_environment(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_INFERENCE_ENDPOINT", _tgi(emulator))
    assert HuggingFaceEndpoint().invoke("ping") == "You said: ping"
    monkeypatch.delenv("HF_INFERENCE_ENDPOINT")
    with pytest.raises(ValueError, match="HF_INFERENCE_ENDPOINT"):
        HuggingFaceEndpoint()
