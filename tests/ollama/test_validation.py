"""Ollama parameters out of range: refused by ChatOllama before sending; the emulator, like
Ollama itself, refuses only wrong option types and ``top_logprobs`` outside 0..20."""

from __future__ import annotations

from typing import Any

import ollama
import pytest
from pydantic import ValidationError

from polyvox.core import ParameterRangeError
from polyvox.ollama import ChatBielik, ChatOllama, OllamaLLM
from polyvox.testing import Emulator


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"max_tokens": 0}, "max_tokens=0"),
        ({"max_tokens": -3}, "max_tokens=-3"),
        ({"temperature": -1}, "temperature=-1"),
        ({"top_p": 1.5}, "top_p=1.5"),
        ({"top_k": -1}, "top_k=-1"),
        ({"num_ctx": 0}, "num_ctx=0"),
        ({"repeat_penalty": -0.5}, "repeat_penalty=-0.5"),
        ({"options": {"num_predict": -5}}, "num_predict=-5"),
        ({"options": {"mirostat": 3}}, "mirostat=3"),
        ({"options": {"min_p": 2}}, "min_p=2"),
    ],
)
def test_construction_refuses_out_of_range(kwargs: dict[str, Any], named: str) -> None:
    with pytest.raises(ValidationError) as caught:
        ChatOllama(model="llama3.2", **kwargs)
    assert named in str(caught.value)
    assert "out of range: Ollama accepts" in str(caught.value)


def test_construction_admits_ollamas_special_values() -> None:
    assert ChatOllama(model="m", max_tokens=-1).max_tokens == -1  # no limit
    assert ChatOllama(model="m", max_tokens=-2).max_tokens == -2  # until the context is full
    model = ChatOllama(model="m", temperature=0, top_p=1, options={"repeat_last_n": -1})
    assert model.temperature == 0
    with pytest.raises(ValidationError, match="temperature=-1"):
        ChatBielik(temperature=-1)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"num_predict": -3},
        {"max_tokens": 0},
        {"temperature": -0.5},
        {"options": {"top_p": 2}},
        {"num_ctx": "big"},
        {"seed": 1.5},
    ],
)
def test_a_call_refuses_out_of_range(
    ollama_chat: ChatOllama, emulator: Emulator, kwargs: dict[str, Any]
) -> None:
    with pytest.raises(ParameterRangeError):
        ollama_chat.invoke("hi", **kwargs)
    with pytest.raises(ParameterRangeError):
        list(ollama_chat.stream("hi", **kwargs))
    assert [r.path for r in emulator.requests if r.path == "/api/chat"] == []


async def test_async_bound_and_adapter_calls_refuse(
    ollama_chat: ChatOllama, emulator: Emulator
) -> None:
    with pytest.raises(ParameterRangeError, match="temperature=-1"):
        await ollama_chat.ainvoke("hi", temperature=-1)
    with pytest.raises(ParameterRangeError, match="top_k=-4"):
        await ollama_chat.bind(top_k=-4).ainvoke("hi")
    llm = OllamaLLM(model="llama3.2", base_url=emulator.ollama_url, max_retries=0)
    with pytest.raises(ParameterRangeError, match="num_predict=-9"):
        llm.invoke("hi", num_predict=-9)
    assert [r.path for r in emulator.requests if r.path == "/api/chat"] == []


def test_valid_values_are_sent(ollama_chat: ChatOllama, emulator: Emulator) -> None:
    ollama_chat.invoke("hi", num_predict=-2, temperature=0, options={"top_p": 1})
    body = emulator.requests[-1].json
    assert isinstance(body, dict)
    assert body["options"]["num_predict"] == -2
    assert (body["options"]["temperature"], body["options"]["top_p"]) == (0, 1)


# ---- the emulator, through the raw ollama SDK -----------------------------------------------


@pytest.fixture
def client(emulator: Emulator) -> ollama.Client:
    return ollama.Client(host=emulator.ollama_url)


def test_the_emulator_accepts_out_of_range_options_as_ollama_does(client: ollama.Client) -> None:
    # Ollama hands these to its runner, which clamps or misreads them: no error
    reply = client.chat(
        model="llama3.2",
        messages=[{"role": "user", "content": "hi"}],
        options={"temperature": -1, "top_p": 7, "num_ctx": 0},
    )
    assert reply.message.role == "assistant"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"num_predict": "many"}, 'option "num_predict" must be of type integer'),
        ({"temperature": "hot"}, 'option "temperature" must be of type float32'),
        ({"top_k": True}, 'option "top_k" must be of type integer'),
        ({"use_mmap": 1}, 'option "use_mmap" must be of type boolean'),
        ({"stop": "END"}, 'option "stop" must be of type array'),
        ({"stop": ["END", 3]}, 'option "stop" must be of an array of strings'),
    ],
)
def test_the_emulator_refuses_wrong_option_types_as_ollama_does(
    client: ollama.Client, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ollama.ResponseError) as caught:
        client.chat(model="llama3.2", messages=[{"role": "user", "content": "hi"}], options=options)
    assert caught.value.status_code == 500  # Ollama's scheduler fails the request
    assert caught.value.error == message


@pytest.mark.parametrize("top", [-1, 21])
def test_the_emulator_refuses_top_logprobs_out_of_range(client: ollama.Client, top: int) -> None:
    with pytest.raises(ollama.ResponseError) as caught:
        client.chat(
            model="llama3.2",
            messages=[{"role": "user", "content": "hi"}],
            logprobs=True,
            top_logprobs=top,
        )
    assert caught.value.status_code == 400
    assert caught.value.error == "top_logprobs must be between 0 and 20"
    with pytest.raises(ollama.ResponseError, match="top_logprobs must be between 0 and 20"):
        client.generate(model="llama3.2", prompt="hi", logprobs=True, top_logprobs=top)
