"""Switch the import: the same code with langchain-google-genai's class and with polyvox's.

Each test runs one script against the emulator through both
``langchain_google_genai.ChatGoogleGenerativeAI`` and ``polyvox.google.ChatGoogleGenerativeAI``
and compares what the script sees: the result types, the ``response_metadata`` and
``usage_metadata`` keys (and the usage counts), the exceptions its ``except`` clauses catch,
and the thought signatures of a tool loop, which either class sends back for the other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from google.genai import errors as genai_errors
from langchain_core.exceptions import ModelAuthenticationError, ModelInvalidRequestError
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    ToolMessage,
)
from langchain_core.tools import tool

import polyvox.google
from polyvox.core.errors import ProviderErrorMixin
from polyvox.google import ChatGoogleGenerativeAI
from polyvox.testing import Emulator, Fault, Reply, ToolCall, Usage

langchain_google_genai = pytest.importorskip("langchain_google_genai")
from langchain_google_genai import chat_models as theirs_module  # noqa: E402

SIGNATURES = "__gemini_function_call_thought_signatures__"

Factory = Callable[..., Any]


@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


def _factory(cls: type[Any], emulator: Emulator) -> Factory:
    def make(model: str = "gemini-2.5-flash", **fields: Any) -> Any:
        fields.setdefault("max_retries", 0)
        return cls(
            model=model, google_api_key="test-key", base_url=emulator.gemini_base_url, **fields
        )

    return make


CLASSES = {"theirs": langchain_google_genai.ChatGoogleGenerativeAI, "ours": ChatGoogleGenerativeAI}


def _both(emulator: Emulator) -> dict[str, Factory]:
    return {side: _factory(cls, emulator) for side, cls in CLASSES.items()}


def _joined(chunks: list[BaseMessage]) -> AIMessageChunk:
    full = chunks[0]
    for chunk in chunks[1:]:
        full += chunk  # type: ignore[assignment]
    assert isinstance(full, AIMessageChunk)
    return full


def _shared_classes(cls: type[BaseException]) -> list[type]:
    """The classes in ``cls``'s ancestry that code catches: the SDK's and LangChain's."""
    return [c for c in cls.__mro__ if c.__module__.startswith(("google.genai", "langchain_core"))]


# ---- results and metadata ---------------------------------------------------------------


def test_invoke_stream_and_batch_give_the_same_types(emulator: Emulator) -> None:
    seen: dict[str, list[type]] = {}
    for side, make in _both(emulator).items():
        model = make()
        emulator.script("one", "two", "three", "four")
        answer = model.invoke("hello")
        chunks = list(model.stream("hello"))
        batch = model.batch(["a", "b"])
        seen[side] = [type(answer), *{type(c) for c in chunks}, *(type(b) for b in batch)]
        assert answer.content == "one"
        assert _joined(chunks).content == "two"
    assert seen["ours"] == seen["theirs"] == [AIMessage, AIMessageChunk, AIMessage, AIMessage]


@pytest.mark.parametrize("stream", [False, True], ids=["invoke", "stream"])
def test_the_same_metadata_keys_and_usage(emulator: Emulator, stream: bool) -> None:
    """Every key langchain-google-genai sets, polyvox sets; the usage is the same."""
    usage = Usage(prompt_tokens=1200, completion_tokens=40, cached_tokens=1000, reasoning_tokens=30)
    found: dict[str, AIMessage] = {}
    for side, make in _both(emulator).items():
        emulator.script(Reply("Paris", usage=usage))
        model = make()
        found[side] = _joined(list(model.stream("capital?"))) if stream else model.invoke("x")
    theirs, ours = found["theirs"], found["ours"]
    assert set(theirs.response_metadata) <= set(ours.response_metadata), set(
        theirs.response_metadata
    ) - set(ours.response_metadata)
    for key in ("finish_reason", "model_name", "safety_ratings"):
        assert ours.response_metadata[key] == theirs.response_metadata[key], key
    assert ours.usage_metadata == theirs.usage_metadata
    assert ours.usage_metadata == {
        "input_tokens": 1200,
        "output_tokens": 40,
        "total_tokens": 1240,
        "input_token_details": {"cache_read": 1000},
        "output_token_details": {"reasoning": 30},
    }


def test_usage_without_a_cache_has_the_same_keys(emulator: Emulator) -> None:
    """The API leaves ``cachedContentTokenCount`` out when nothing was cached: both say 0."""
    found = {side: make().invoke("hi").usage_metadata for side, make in _both(emulator).items()}
    assert found["ours"] == found["theirs"]
    assert found["ours"] is not None
    assert found["ours"]["input_token_details"] == {"cache_read": 0}


def test_tool_calls_read_the_same(emulator: Emulator) -> None:
    found: dict[str, AIMessage] = {}
    for side, make in _both(emulator).items():
        emulator.script(
            Reply(
                tool_calls=[
                    ToolCall("get_weather", {"city": "Paris"}),
                    ToolCall("get_weather", {"city": "Rome"}),
                ]
            )
        )
        found[side] = make().bind_tools([get_weather]).invoke("weather in Paris and Rome?")
    strip = [{k: v for k, v in c.items() if k != "id"} for c in found["ours"].tool_calls]
    assert strip == [{k: v for k, v in c.items() if k != "id"} for c in found["theirs"].tool_calls]
    assert len({c["id"] for c in found["ours"].tool_calls}) == 2
    # Gemini signs the first function call of a parallel set only
    first = found["ours"].tool_calls[0]["id"]
    assert list(found["ours"].additional_kwargs[SIGNATURES]) == [first]
    assert len(found["theirs"].additional_kwargs[SIGNATURES]) == 1


# ---- exceptions ------------------------------------------------------------------------------

OVERFLOW = "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576)."
"""The Gemini API's wording, which langchain-google-genai also reads as an overflow."""

FAILURES: dict[str, Fault] = {
    "401": Fault.unauthorized(),
    "400 API_KEY_INVALID": Fault(status=400, code="API_KEY_INVALID", message="API key not valid."),
    "403": Fault(status=403),
    "404": Fault(status=404),
    "429": Fault.rate_limit(retry_after=None),
    "400": Fault(status=400),
    "400 overflow": Fault(status=400, message=OVERFLOW),
    "500": Fault.server_error(500),
    "503": Fault.server_error(503),
}


def _catch(model: Any, fault: Fault, emulator: Emulator, *, stream: bool = False) -> BaseException:
    emulator.fail(fault)
    try:
        if stream:
            list(model.stream("hi"))
        else:
            model.invoke("hi")
    except Exception as exc:  # what the caller's ``except`` would see
        return exc
    raise AssertionError("no error was raised")


@pytest.mark.parametrize("stream", [False, True], ids=["invoke", "stream"])
@pytest.mark.parametrize("failure", list(FAILURES))
def test_switch_the_import_catches_the_same(emulator: Emulator, failure: str, stream: bool) -> None:
    """Every ``except`` that caught langchain-google-genai's error catches polyvox's."""
    makers = _both(emulator)
    theirs = _catch(makers["theirs"](), FAILURES[failure], emulator, stream=stream)
    ours = _catch(makers["ours"](), FAILURES[failure], emulator, stream=stream)
    assert isinstance(ours, ProviderErrorMixin)
    if isinstance(theirs, theirs_module.ChatGoogleGenerativeAIError):
        assert isinstance(ours, polyvox.google.ChatGoogleGenerativeAIError)
    if failure == "400 API_KEY_INVALID":
        # The one deliberate difference: langchain-google-genai reads the status alone (a bad
        # request); polyvox reads the ErrorInfo reason, as the issue asks (a bad key).
        assert isinstance(theirs, ModelInvalidRequestError)
        assert isinstance(ours, ModelAuthenticationError)
        assert isinstance(ours, polyvox.google.GoogleAuthenticationError)
        return
    missing = [c for c in _shared_classes(type(theirs)) if not isinstance(ours, c)]
    assert not missing, f"{type(ours).__mro__} lacks {missing}"
    # the class of the same name, imported from polyvox.google, catches it
    assert isinstance(ours, getattr(polyvox.google, type(theirs).__name__))


@pytest.mark.parametrize(
    "name",
    [
        "GoogleAuthenticationError",
        "GooglePermissionDeniedError",
        "GoogleInvalidRequestError",
        "GoogleModelNotFoundError",
        "GoogleRateLimitError",
        "GoogleAPIError",
        "GoogleContextOverflowError",
    ],
)
def test_each_class_has_the_bases_of_langchain_google_genais(name: str) -> None:
    theirs, ours = getattr(theirs_module, name), getattr(polyvox.google, name)
    for cls in _shared_classes(theirs):
        assert issubclass(ours, cls), cls
    if issubclass(theirs, theirs_module.ChatGoogleGenerativeAIError):
        assert issubclass(ours, polyvox.google.ChatGoogleGenerativeAIError)
    assert issubclass(ours, genai_errors.APIError), "polyvox also keeps the SDK's class"


# ---- thought signatures across the two ----------------------------------------------------


@pytest.mark.parametrize("first", ["theirs", "ours"])
def test_thought_signatures_move_between_the_two(emulator: Emulator, first: str) -> None:
    """A Gemini 3 tool loop started with one class finishes with the other.

    The emulator refuses a function call sent back without the signature it came with, as
    the API does for Gemini 3.
    """
    makers = _both(emulator)
    second = "ours" if first == "theirs" else "theirs"
    model_a = makers[first]("gemini-3-pro-preview").bind_tools([get_weather])
    model_b = makers[second]("gemini-3-pro-preview").bind_tools([get_weather])
    emulator.script(
        Reply(
            tool_calls=[
                ToolCall("get_weather", {"city": "Paris"}),
                ToolCall("get_weather", {"city": "Rome"}),
            ]
        ),
        Reply("Sunny in both."),
    )
    question = HumanMessage("weather in Paris and Rome?")
    call = model_a.invoke([question])
    signatures = call.additional_kwargs[SIGNATURES]
    assert list(signatures) == [call.tool_calls[0]["id"]]  # Gemini signs the first call only
    results = [
        ToolMessage(get_weather.invoke(c["args"]), tool_call_id=c["id"]) for c in call.tool_calls
    ]
    answer = model_b.invoke([question, call, *results])
    assert answer.text == "Sunny in both."
    request = emulator.last_request
    assert request is not None
    sent = [p.get("thoughtSignature") for p in request.json["contents"][1]["parts"]]
    assert sent == [signatures.get(c["id"]) for c in call.tool_calls]
    assert sent[0]


@pytest.mark.parametrize("first", ["theirs", "ours"])
def test_a_streamed_tool_call_keeps_its_signature_for_the_other(
    emulator: Emulator, first: str
) -> None:
    makers = _both(emulator)
    second = "ours" if first == "theirs" else "theirs"
    emulator.script(Reply(tool_calls=[ToolCall("get_weather", {"city": "Oslo"})]), Reply("Cold."))
    question = HumanMessage("weather in Oslo?")
    streamed = _joined(
        list(makers[first]("gemini-3-pro-preview").bind_tools([get_weather]).stream([question]))
    )
    call = AIMessage(
        content=streamed.content,
        tool_calls=streamed.tool_calls,
        additional_kwargs=streamed.additional_kwargs,
        response_metadata=streamed.response_metadata,
    )
    result = ToolMessage("cold", tool_call_id=call.tool_calls[0]["id"])
    answer = (
        makers[second]("gemini-3-pro-preview")
        .bind_tools([get_weather])
        .invoke([question, call, result])
    )
    assert answer.text == "Cold."
