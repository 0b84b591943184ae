"""Out-of-range parameters: refused at construction, per call and when bound, nothing sent;
and the emulator refuses them as OpenAI does, even to the raw SDK."""

from __future__ import annotations

from typing import Any

import openai
import pytest
from langchain_core.tools import tool
from pydantic import ValidationError

from polyvox.core import ParameterRangeError
from polyvox.openai import (
    ChatCloudRu,
    ChatLlamaCpp,
    ChatOpenAI,
    ChatOpenRouter,
    ChatTogether,
    ChatVLLM,
    OpenAILLM,
)
from polyvox.testing import Emulator


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


# ---- construction ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"max_tokens": -5}, "max_tokens=-5"),
        ({"max_completion_tokens": 0}, "max_tokens=0"),
        ({"temperature": 5}, "temperature=5"),
        ({"temperature": -0.1}, "temperature=-0.1"),
        ({"top_p": 1.5}, "top_p=1.5"),
        ({"frequency_penalty": 2.5}, "frequency_penalty=2.5"),
        ({"presence_penalty": -3}, "presence_penalty=-3"),
        ({"model_kwargs": {"n": 0}}, "n=0"),
        ({"model_kwargs": {"top_logprobs": 21}}, "top_logprobs=21"),
    ],
)
def test_construction_refuses_out_of_range(kwargs: dict[str, Any], named: str) -> None:
    with pytest.raises(ValidationError) as caught:
        ChatOpenAI(model="gpt-4o", api_key="k", **kwargs)
    text = str(caught.value)
    assert named in text
    assert "out of range: OpenAI accepts" in text


def test_construction_admits_the_bounds() -> None:
    model = ChatOpenAI(
        model="gpt-4o",
        api_key="k",
        temperature=2,
        top_p=0,
        max_tokens=1,
        frequency_penalty=-2,
        presence_penalty=2,
        model_kwargs={"n": 128, "top_logprobs": 20},
    )
    assert (model.temperature, model.max_tokens) == (2, 1)


def test_each_server_has_its_own_ranges() -> None:
    # vLLM and other compatible servers take a temperature above 2; OpenAI does not
    assert ChatVLLM(model="m", temperature=3).temperature == 3
    assert ChatTogether(model="m", api_key="k", temperature=3).temperature == 3
    assert ChatCloudRu(model="m", api_key="k", temperature=3).temperature == 3
    assert ChatOpenAI(model="m", api_key="k", base_url="http://h/v1", temperature=3)
    with pytest.raises(ValidationError, match="OpenRouter accepts a number from 0 to 2"):
        ChatOpenRouter(model="a/b", api_key="k", temperature=3)
    with pytest.raises(ValidationError, match=r"vLLM accepts a number from 0 \(exclusive\)"):
        ChatVLLM(model="m", top_p=0)
    with pytest.raises(ValidationError, match="an OpenAI-compatible server accepts a number >= 0"):
        ChatOpenAI(model="m", api_key="k", base_url="http://h/v1", temperature=-1)
    with pytest.raises(ValidationError, match="OpenRouter accepts an integer >= 0 for top_k"):
        ChatOpenRouter(model="a/b", api_key="k", model_kwargs={"top_k": -1})
    # llama.cpp reads -1 as "no limit"
    assert ChatLlamaCpp(max_tokens=-1).max_tokens == -1
    with pytest.raises(ValidationError, match="-1: no limit"):
        ChatLlamaCpp(max_tokens=-2)


# ---- per call, bound, and through the LLM adapter: refused before anything is sent -------


@pytest.fixture
def model(emulator: Emulator) -> ChatOpenAI:
    return ChatOpenAI(model="gpt-4o", api_key="k", base_url=emulator.openai_base_url, max_retries=0)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_tokens": -5},
        {"max_tokens": 0},
        {"temperature": 5},
        {"top_p": "0.5"},
        {"max_completion_tokens": 2.5},
        {"seed": 1.5},
        {"extra_body": {"temperature": 7}},
    ],
)
def test_a_call_refuses_out_of_range(
    model: ChatOpenAI, emulator: Emulator, kwargs: dict[str, Any]
) -> None:
    with pytest.raises(ParameterRangeError):
        model.invoke("hi", **kwargs)
    with pytest.raises(ParameterRangeError):
        list(model.stream("hi", **kwargs))
    with pytest.raises(ParameterRangeError):
        model.batch(["hi"], **kwargs)
    assert emulator.requests == []


async def test_an_async_call_refuses_out_of_range(model: ChatOpenAI, emulator: Emulator) -> None:
    with pytest.raises(ParameterRangeError, match="temperature=9"):
        await model.ainvoke("hi", temperature=9)
    with pytest.raises(ParameterRangeError, match="max_tokens=-1"):
        async for _ in model.astream("hi", max_tokens=-1):
            pass
    assert emulator.requests == []


def test_bound_values_are_refused(model: ChatOpenAI, emulator: Emulator) -> None:
    bound = model.bind(temperature=5)
    with pytest.raises(ParameterRangeError) as caught:
        bound.invoke("hi")
    assert (caught.value.parameter, caught.value.value) == ("temperature", 5)
    with pytest.raises(ParameterRangeError, match="top_p=3"):
        model.bind_tools([add], top_p=3)  # refused when bound, not at the first call
    assert emulator.requests == []


def test_valid_call_values_are_sent(model: ChatOpenAI, emulator: Emulator) -> None:
    model.bind(temperature=0).invoke("hi", max_tokens=1, top_p=1)
    body = emulator.requests[-1].json
    assert isinstance(body, dict)
    assert (body["temperature"], body["max_completion_tokens"], body["top_p"]) == (0, 1, 1)


def test_the_llm_adapter_refuses_too(emulator: Emulator) -> None:
    llm = OpenAILLM(model="gpt-4o", api_key="k", base_url=emulator.openai_base_url)
    with pytest.raises(ParameterRangeError, match="max_tokens=-5"):
        llm.invoke("hi", max_tokens=-5)
    with pytest.raises(ValidationError, match="temperature=5"):
        OpenAILLM(model="gpt-4o", api_key="k", temperature=5)
    assert emulator.requests == []


def test_a_compatible_server_gets_what_it_admits(emulator: Emulator) -> None:
    vllm = ChatVLLM(model="qwen", base_url=emulator.openai_base_url, max_retries=0)
    vllm.invoke("hi", temperature=3, top_k=-1)
    with pytest.raises(ParameterRangeError, match="vLLM accepts an integer >= -1 for top_k"):
        vllm.invoke("hi", top_k=-2)


# ---- the emulator, through the raw SDK: OpenAI's own 400 ----------------------------------


@pytest.fixture
def sdk(emulator: Emulator) -> openai.OpenAI:
    return openai.OpenAI(api_key="sk-test", base_url=emulator.openai_base_url, max_retries=0)


@pytest.mark.parametrize(
    ("kwargs", "param", "code"),
    [
        ({"max_tokens": -5}, "max_tokens", "integer_below_min_value"),
        ({"max_completion_tokens": 0}, "max_completion_tokens", "integer_below_min_value"),
        ({"temperature": 5}, "temperature", "decimal_above_max_value"),
        ({"top_p": -1}, "top_p", "decimal_below_min_value"),
        ({"presence_penalty": 2.5}, "presence_penalty", "decimal_above_max_value"),
        ({"n": 0}, "n", "integer_below_min_value"),
        ({"top_logprobs": 21, "logprobs": True}, "top_logprobs", "integer_above_max_value"),
        ({"max_tokens": 1.5}, "max_tokens", "invalid_type"),
    ],
)
def test_the_emulator_refuses_as_openai_does(
    sdk: openai.OpenAI, kwargs: dict[str, Any], param: str, code: str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}], **kwargs
        )
    error = caught.value
    assert error.status_code == 400
    assert (error.param, error.code, error.type) == (param, code, "invalid_request_error")
    assert "Invalid" in error.message


def test_the_emulator_wording_for_temperature(sdk: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], temperature=5
        )
    body = caught.value.body
    assert isinstance(body, dict)
    assert body["message"] == (
        "Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got 5 "
        "instead."
    )


def test_the_emulator_still_refuses_unknown_fields(sdk: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match="Unrecognized request argument supplied"):
        sdk.chat.completions.create(
            model="gpt-4o",
            messages=[{"role": "user", "content": "hi"}],
            extra_body={"tempreature": 0},
        )


def test_the_emulator_admits_in_range_values_and_other_servers(sdk: openai.OpenAI) -> None:
    messages: Any = [{"role": "user", "content": "hi"}]
    done = sdk.chat.completions.create(
        model="gpt-4o", messages=messages, temperature=2, top_p=0, max_tokens=1, n=1
    )
    assert done.choices
    # another server's model (vLLM, llama.cpp...): OpenAI's ranges are not its own
    other = sdk.chat.completions.create(model="qwen3", messages=messages, temperature=3)
    assert other.choices
