"""``num_ctx`` sized to each request: steps, growth only, loaded and Modelfile windows, overflow.

The emulator loads a model with the window each request asks for and reloads it when the
window changes, as Ollama does; ``ollama_models.load_count`` counts the loads.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import ollama
import pytest
from langchain_core.exceptions import ContextOverflowError
from langchain_core.messages import HumanMessage

from polyvox.ollama import ChatBielik, ChatOllama, context
from polyvox.ollama.context import (
    IMAGE_TOKENS,
    MIN_WINDOW,
    OUTPUT_RESERVE,
    PS_TTL,
    estimate_tokens,
    modelfile_num_ctx,
    window_step,
)
from polyvox.testing import Emulator
from tests.modes import MODES, call_as

SHORT = "What is the capital of France?"
MEDIUM = "word " * 6_000  # 30,000 characters: a high estimate of ~10,000 tokens
LONG = "word " * 20_000  # 100,000 characters: ~33,000 tokens


def _windows(emulator: Emulator, model: str | None = None) -> list[int]:
    """The ``num_ctx`` of each ``/api/chat`` request, in order (the request log)."""
    bodies = [r.json for r in emulator.requests if r.path == "/api/chat"]
    return [
        b["options"]["num_ctx"]
        for b in bodies
        if isinstance(b, dict) and (model is None or b["model"] == model)
    ]


def _count(emulator: Emulator, path: str) -> int:
    return len([r for r in emulator.requests if r.path == path])


def _model(emulator: Emulator, name: str = "llama3.2", **kwargs: Any) -> ChatOllama:
    return ChatOllama(model=name, base_url=emulator.ollama_url, max_retries=0, **kwargs)


@pytest.fixture(autouse=True)
def _short_answers(emulator: Emulator) -> None:
    """Answer "ok" rather than echo the long prompts (streams stay short)."""
    emulator.script(*["ok"] * 40)


# ---- the pieces ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("need", "maximum", "window"),
    [
        (1, None, 8192),
        (8192, 131072, 8192),
        (8193, 131072, 16384),
        (20_000, 131072, 32768),
        (100_000, 131072, 131072),
        (100_000, 32768, 32768),  # never beyond the model's length
        (1, 4096, 4096),  # a model smaller than the first step
        (300_000, None, 524288),  # unknown length: no cap
    ],
)
def test_the_steps_double_from_8k_up_to_the_models_length(
    need: int, maximum: int | None, window: int
) -> None:
    assert window_step(need, maximum) == window


def test_the_estimate_is_high_on_purpose() -> None:
    english = {"messages": [{"role": "user", "content": "a" * 3000}], "options": {}}
    assert estimate_tokens(english) == 1000 + 8  # 3 bytes a token, 8 for the template
    polish = {"messages": [{"role": "user", "content": "ż" * 3000}], "options": {}}
    assert estimate_tokens(polish) == 2000 + 8  # 2 bytes a letter
    seen = {"messages": [{"role": "user", "content": "", "images": ["aGk=", "aGk="]}]}
    assert estimate_tokens(seen) == 2 * IMAGE_TOKENS + 8
    tools = [{"type": "function", "function": {"name": "f" * 300}}]
    assert estimate_tokens({"messages": [], "tools": tools}) > 100


def test_the_modelfile_num_ctx_is_read_from_the_parameters() -> None:
    assert modelfile_num_ctx('num_ctx                        16384\nstop    "x"') == 16384
    assert modelfile_num_ctx('temperature                    0.7\nstop "<|end|>"') is None
    assert modelfile_num_ctx(None) is None
    assert modelfile_num_ctx("num_ctx abc") is None


# ---- against the emulator ------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_a_short_request_gets_the_first_step(emulator: Emulator, mode: str) -> None:
    await call_as(_model(emulator), mode, SHORT)
    assert _windows(emulator) == [8192]  # not llama3.2's whole 131,072
    assert emulator.ollama_models.loaded_window("llama3.2") == 8192


@pytest.mark.parametrize("mode", MODES)
async def test_the_window_grows_and_never_shrinks(emulator: Emulator, mode: str) -> None:
    model = _model(emulator)
    for prompt in (SHORT, MEDIUM, SHORT, LONG, MEDIUM, SHORT):
        await call_as(model, mode, prompt)
    assert _windows(emulator) == [8192, 16384, 16384, 65536, 65536, 65536]
    assert emulator.ollama_models.load_count("llama3.2") == 3, "one load per growth, no more"


async def test_the_output_limit_counts(emulator: Emulator) -> None:
    model = _model(emulator)
    await model.ainvoke(SHORT, max_tokens=12_000)
    await model.ainvoke(SHORT, num_predict=20_000)
    assert _windows(emulator) == [16384, 32768]
    assert OUTPUT_RESERVE < MIN_WINDOW  # without a limit, a short prompt fits the first step


def test_instances_share_the_chosen_window(emulator: Emulator) -> None:
    _model(emulator, temperature=0).invoke(MEDIUM)
    _model(emulator, seed=1).invoke(SHORT)
    assert _windows(emulator) == [16384, 16384]
    _model(emulator, "qwen3:8b").invoke(SHORT)
    assert _windows(emulator, "qwen3:8b") == [8192], "another model has its own"


@pytest.mark.parametrize("mode", MODES)
async def test_the_loaded_window_is_reused_without_a_reload(emulator: Emulator, mode: str) -> None:
    emulator.ollama_models.mark_loaded("llama3.2", num_ctx=32768)  # another client loaded it
    model = _model(emulator)
    await call_as(model, mode, SHORT)
    await call_as(model, mode, MEDIUM)
    assert _windows(emulator) == [32768, 32768]
    assert emulator.ollama_models.load_count("llama3.2") == 1, "no reload"


async def test_a_loaded_window_too_small_is_grown_from(emulator: Emulator) -> None:
    emulator.ollama_models.mark_loaded("llama3.2")  # by a client that set no num_ctx
    assert emulator.ollama_models.loaded_window("llama3.2") == 4096
    await _model(emulator).ainvoke(SHORT)  # the prompt and 4,096 for the answer: 8,192
    assert _windows(emulator) == [8192]
    assert emulator.ollama_models.loaded_window("llama3.2") == 8192


@pytest.mark.parametrize("mode", MODES)
async def test_the_modelfile_window_is_used_when_it_holds_the_request(
    emulator: Emulator, mode: str
) -> None:
    emulator.ollama_models.add("mine:8b", context_length=131072, num_ctx=16384)
    model = _model(emulator, "mine:8b")
    await call_as(model, mode, SHORT)
    await call_as(model, mode, MEDIUM)
    assert _windows(emulator) == [16384, 16384]
    assert emulator.ollama_models.load_count("mine:8b") == 1
    await call_as(model, mode, LONG)  # beyond the Modelfile's: a per-request window
    assert _windows(emulator)[-1] == 65536
    assert emulator.ollama_models.loaded_window("mine:8b") == 65536


async def test_the_loaded_window_comes_before_the_modelfiles(emulator: Emulator) -> None:
    emulator.ollama_models.add("mine:8b", context_length=131072, num_ctx=16384)
    emulator.ollama_models.mark_loaded("mine:8b", num_ctx=8192)
    await _model(emulator, "mine:8b").ainvoke(SHORT)
    assert _windows(emulator) == [8192]
    assert emulator.ollama_models.load_count("mine:8b") == 1


@pytest.mark.parametrize("mode", MODES)
async def test_an_explicit_num_ctx_wins(emulator: Emulator, mode: str) -> None:
    await call_as(_model(emulator, num_ctx=4096), mode, SHORT)
    await call_as(_model(emulator), mode, SHORT, num_ctx=65536)
    await call_as(_model(emulator, options={"num_ctx": 2048}), mode, SHORT)
    await call_as(_model(emulator, num_ctx=4096), mode, SHORT, options={"num_ctx": 12000})
    assert _windows(emulator) == [4096, 65536, 2048, 12000]
    assert _count(emulator, "/api/show") == _count(emulator, "/api/ps") == 0, "nothing to size"


@pytest.mark.parametrize("mode", MODES)
async def test_a_prompt_beyond_the_models_length_raises_before_sending(
    emulator: Emulator, mode: str
) -> None:
    emulator.ollama_models.add("small:1b", context_length=8192)
    model = _model(emulator, "small:1b")
    with pytest.raises(ContextOverflowError, match="context window of 8192 tokens"):
        await call_as(model, mode, "word " * 8_000)  # at least 10,000 tokens
    assert _count(emulator, "/api/chat") == 0
    assert _count(emulator, "/api/ps") == 0
    await call_as(model, mode, SHORT)  # it did not grow anything
    assert _windows(emulator) == [8192]


async def test_a_prompt_near_the_models_length_gets_all_of_it(emulator: Emulator) -> None:
    emulator.ollama_models.add("small:1b", context_length=8192)
    await _model(emulator, "small:1b").ainvoke("word " * 5_000)  # 6,250+ tokens, and more
    assert _windows(emulator) == [8192]


@pytest.fixture
def ps_ttl(monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    """Set how long an ``/api/ps`` answer is reused (a slow machine must not expire it)."""
    return lambda seconds: monkeypatch.setattr(context._running, "_ttl", seconds)


def test_ps_is_asked_first_and_when_growing(
    emulator: Emulator, ps_ttl: Callable[[float], None]
) -> None:
    ps_ttl(60)
    model = _model(emulator)
    for _ in range(10):
        model.invoke(SHORT)
    assert _count(emulator, "/api/ps") == 1, "not on every request"
    assert _count(emulator, "/api/show") == 1
    model.invoke(MEDIUM)
    assert _count(emulator, "/api/ps") == 1, "growing within PS_TTL reuses the answer"
    ps_ttl(0)
    model.invoke(LONG)
    assert _count(emulator, "/api/ps") == 2, "growing after PS_TTL asks again"
    model.invoke(SHORT)
    assert _count(emulator, "/api/ps") == 2
    assert PS_TTL > 0


def test_a_server_without_ps_still_gets_sized_windows(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    def missing(self: ollama.Client) -> Any:
        raise ollama.ResponseError("404 page not found", 404)

    monkeypatch.setattr(ollama.Client, "ps", missing)
    model = _model(emulator)
    model.invoke(SHORT)
    model.invoke(MEDIUM)
    assert _windows(emulator) == [8192, 16384]


def test_concurrent_threads_only_grow_the_window(emulator: Emulator) -> None:
    model = _model(emulator)
    prompts = [SHORT, MEDIUM, LONG, SHORT] * 6
    with ThreadPoolExecutor(12) as pool:
        list(pool.map(model.invoke, prompts))
    sent = _windows(emulator)
    assert set(sent) <= {8192, 16384, 65536}
    assert sorted(sent)[-6:] == [65536] * 6, "every LONG prompt got a window that holds it"
    model.invoke(SHORT)
    assert _windows(emulator)[-1] == 65536, "the window ends at the largest, never shrinks"
    assert _count(emulator, "/api/show") == 1


async def test_concurrent_tasks_only_grow_the_window(
    emulator: Emulator, ps_ttl: Callable[[float], None]
) -> None:
    ps_ttl(60)
    model = _model(emulator)
    await asyncio.gather(*(model.ainvoke(p) for p in [SHORT, MEDIUM, LONG, SHORT] * 6))
    sent = _windows(emulator)
    assert set(sent) <= {8192, 16384, 65536}
    assert sorted(sent)[-6:] == [65536] * 6
    await model.ainvoke(SHORT)
    assert _windows(emulator)[-1] == 65536
    assert _count(emulator, "/api/show") == 1
    assert _count(emulator, "/api/ps") == 1, "concurrent first lookups share one /api/ps"


def test_concurrent_first_requests_of_threads_share_one_ps(emulator: Emulator) -> None:
    models = [_model(emulator) for _ in range(8)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda m: m.invoke(SHORT), models))
    assert _count(emulator, "/api/ps") == 1
    assert _windows(emulator) == [8192] * 8


def test_images_count_toward_the_window(emulator: Emulator) -> None:
    emulator.ollama_models.add("gemma3:4b")
    image = {"type": "image", "base64": "aGk=", "mime_type": "image/png"}
    message = HumanMessage([{"type": "text", "text": "What is this?"}, *[image] * 5])
    _model(emulator, "gemma3:4b").invoke([message])
    assert _windows(emulator) == [16384]  # 5 x 1,024 for the images and 4,096 for the answer


def test_bielik_gets_a_sized_window(emulator: Emulator) -> None:
    bielik = ChatBielik(base_url=emulator.ollama_url, max_retries=0)
    bielik.invoke("Jaka jest stolica Polski?")
    bielik.invoke("słowo " * 20_000)  # 140,000 bytes: beyond 32,768 by the high estimate
    assert _windows(emulator) == [8192, 32768]
