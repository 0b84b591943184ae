"""``OpenAILLM``: the LangChain text ``LLM`` over ``ChatOpenAI``, against the emulator."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
from langchain_core.caches import InMemoryCache
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models import BaseLLM
from langchain_core.messages import BaseMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.outputs import LLMResult
from langchain_core.prompts import PromptTemplate
from pydantic import ValidationError

from polyvox.core import TokenEstimateWarning
from polyvox.openai import ChatOpenAI, ChatOpenRouter, OpenAIAPIError, OpenAILLM
from polyvox.testing import Emulator, Fault, Reply, Usage


@pytest.fixture
def llm(emulator: Emulator) -> OpenAILLM:
    return OpenAILLM(
        model="gpt-4o-mini", api_key="sk-test", base_url=emulator.openai_base_url, max_retries=0
    )


def _chat_requests(emulator: Emulator) -> list[dict[str, Any]]:
    return [r.json for r in emulator.requests if r.path == "/v1/chat/completions"]


def _user_texts(emulator: Emulator) -> list[str]:
    return [b["messages"][-1]["content"] for b in _chat_requests(emulator)]


class Recorder(BaseCallbackHandler):
    """Records the LLM and chat-model runs a call makes, with their parents."""

    def __init__(self) -> None:
        self.llm_starts: list[dict[str, Any]] = []
        self.chat_starts: list[dict[str, Any]] = []
        self.ends: dict[UUID, LLMResult] = {}
        self.tokens: list[tuple[str, UUID]] = []

    def on_llm_start(
        self,
        serialized: dict[str, Any],
        prompts: list[str],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self.llm_starts.append(
            {
                "run_id": run_id,
                "parent": parent_run_id,
                "prompts": prompts,
                "tags": tags or [],
                "metadata": metadata or {},
            }
        )

    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[BaseMessage]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self.chat_starts.append(
            {
                "run_id": run_id,
                "parent": parent_run_id,
                "messages": messages,
                "tags": tags or [],
                "metadata": metadata or {},
            }
        )

    def on_llm_new_token(self, token: str, *, run_id: UUID, **kwargs: Any) -> None:
        self.tokens.append((token, run_id))

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        self.ends[run_id] = response


# -- construction -----------------------------------------------------------------------------


def test_builds_chat_openai_from_keywords(llm: OpenAILLM) -> None:
    assert isinstance(llm, BaseLLM)
    assert type(llm.chat_model) is ChatOpenAI
    assert llm.chat_model.model == "gpt-4o-mini"
    assert llm.chat_model.max_retries == 0
    assert llm._llm_type == f"{llm.chat_model._llm_type}-llm"
    assert llm._identifying_params["model"] == "gpt-4o-mini"
    assert "sk-test" not in repr(llm)


def test_unknown_keyword_raises() -> None:
    with pytest.raises(ValidationError, match="no_such_option"):
        OpenAILLM(model="gpt-4o-mini", api_key="sk-test", no_such_option=True)


def test_unknown_keyword_with_wrapped_model_raises(emulator: Emulator) -> None:
    chat = ChatOpenAI(model="gpt-4o", api_key="sk-test", base_url=emulator.openai_base_url)
    with pytest.raises(ValueError, match="temperature"):
        OpenAILLM(chat, temperature=0.3)


def test_llm_level_fields_stay_on_the_llm(emulator: Emulator) -> None:
    llm = OpenAILLM(
        model="gpt-4o-mini",
        api_key="sk-test",
        base_url=emulator.openai_base_url,
        tags=["outer"],
        metadata={"team": "search"},
        temperature=0.5,
    )
    assert llm.tags == ["outer"]
    assert llm.metadata is not None
    assert llm.metadata["team"] == "search"
    assert llm.chat_model.temperature == 0.5


# -- calling ----------------------------------------------------------------------------------


def test_invoke(llm: OpenAILLM, emulator: Emulator) -> None:
    assert llm.invoke("The capital of Poland is") == "You said: The capital of Poland is"
    (body,) = _chat_requests(emulator)
    assert body["model"] == "gpt-4o-mini"
    assert body["messages"] == [{"role": "user", "content": "The capital of Poland is"}]
    assert "stream" not in body


async def test_ainvoke(llm: OpenAILLM, emulator: Emulator) -> None:
    assert await llm.ainvoke("Hello async") == "You said: Hello async"
    assert _user_texts(emulator) == ["Hello async"]


def test_stream(llm: OpenAILLM, emulator: Emulator) -> None:
    pieces = list(llm.stream("Count one two three four five"))
    assert len(pieces) > 3, pieces
    assert "".join(pieces) == "You said: Count one two three four five"
    (body,) = _chat_requests(emulator)
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}


async def test_astream(llm: OpenAILLM, emulator: Emulator) -> None:
    pieces = [p async for p in llm.astream("Count one two three four five")]
    assert len(pieces) > 3, pieces
    assert "".join(pieces) == "You said: Count one two three four five"
    assert _chat_requests(emulator)[0]["stream"] is True


def test_batch(llm: OpenAILLM, emulator: Emulator) -> None:
    prompts = ["first prompt", "second prompt", "third prompt"]
    assert llm.batch(prompts) == [f"You said: {p}" for p in prompts]
    assert sorted(_user_texts(emulator)) == sorted(prompts)


async def test_abatch(llm: OpenAILLM, emulator: Emulator) -> None:
    prompts = ["first prompt", "second prompt", "third prompt"]
    assert await llm.abatch(prompts) == [f"You said: {p}" for p in prompts]
    assert sorted(_user_texts(emulator)) == sorted(prompts)


def test_batch_return_exceptions(llm: OpenAILLM, emulator: Emulator) -> None:
    emulator.fail(Fault.server_error(500), times=1)
    results = llm.batch(["only prompt"], return_exceptions=True)
    assert isinstance(results[0], OpenAIAPIError)
    assert llm.batch(["again"]) == ["You said: again"]


def test_errors_propagate_mapped(llm: OpenAILLM, emulator: Emulator) -> None:
    emulator.fail(Fault.server_error(502), times=None)
    with pytest.raises(OpenAIAPIError) as excinfo:
        llm.invoke("hi")
    assert excinfo.value.status_code == 502


# -- stop -------------------------------------------------------------------------------------


def test_stop_is_sent_and_applied(llm: OpenAILLM, emulator: Emulator) -> None:
    answer = llm.invoke("alpha beta gamma delta", stop=["gamma"])
    assert answer == "You said: alpha beta "
    assert _chat_requests(emulator)[0]["stop"] == ["gamma"]


def test_stop_in_stream_and_batch(llm: OpenAILLM, emulator: Emulator) -> None:
    assert "".join(llm.stream("one two three four", stop=["three"])) == "You said: one two "
    assert llm.batch(["red green blue", "green blue red"], stop=["blue"]) == [
        "You said: red green ",
        "You said: green ",
    ]
    assert [b["stop"] for b in _chat_requests(emulator)] == [["three"], ["blue"], ["blue"]]


async def test_stop_async(llm: OpenAILLM, emulator: Emulator) -> None:
    assert await llm.ainvoke("one two three", stop=["two"]) == "You said: one "
    assert _chat_requests(emulator)[0]["stop"] == ["two"]


def test_model_level_stop_and_call_override(emulator: Emulator) -> None:
    llm = OpenAILLM(
        model="gpt-4o-mini", api_key="sk-test", base_url=emulator.openai_base_url, stop=["END"]
    )
    assert llm.invoke("before END after") == "You said: before "
    assert llm.invoke("before END after", stop=["after"]) == "You said: before END "
    assert [b["stop"] for b in _chat_requests(emulator)] == [["END"], ["after"]]


def test_bound_stop_in_chain(llm: OpenAILLM, emulator: Emulator) -> None:
    chain = PromptTemplate.from_template("List: {items}") | llm.bind(stop=["cherry"])
    assert chain.invoke({"items": "apple banana cherry"}) == "You said: List: apple banana "
    assert _chat_requests(emulator)[0]["stop"] == ["cherry"]


# -- chains -----------------------------------------------------------------------------------


def test_prompt_template_chain(llm: OpenAILLM, emulator: Emulator) -> None:
    chain = PromptTemplate.from_template("Translate to Polish: {text}") | llm | StrOutputParser()
    assert chain.invoke({"text": "good morning"}) == "You said: Translate to Polish: good morning"
    assert _user_texts(emulator) == ["Translate to Polish: good morning"]
    pieces = list(chain.stream({"text": "good night"}))
    assert len(pieces) > 3
    assert "".join(pieces) == "You said: Translate to Polish: good night"


async def test_prompt_template_chain_async(llm: OpenAILLM, emulator: Emulator) -> None:
    chain = PromptTemplate.from_template("Say {word}") | llm | StrOutputParser()
    assert await chain.ainvoke({"word": "cześć"}) == "You said: Say cześć"
    assert await chain.abatch([{"word": "a1"}, {"word": "b2"}]) == [
        "You said: Say a1",
        "You said: Say b2",
    ]
    assert sorted(_user_texts(emulator)) == ["Say a1", "Say b2", "Say cześć"]


def test_scripted_answer(llm: OpenAILLM, emulator: Emulator) -> None:
    emulator.script("Warsaw.")
    assert llm.invoke("The capital of Poland is") == "Warsaw."


# -- usage and metadata -----------------------------------------------------------------------


def test_generate_surfaces_usage(llm: OpenAILLM, emulator: Emulator) -> None:
    emulator.script(Reply("Warsaw.", usage=Usage(prompt_tokens=11, completion_tokens=3)))
    result = llm.generate(["The capital of Poland is"])
    assert result.generations[0][0].text == "Warsaw."
    assert result.llm_output is not None
    assert result.llm_output["token_usage"] == {
        "prompt_tokens": 11,
        "completion_tokens": 3,
        "total_tokens": 14,
    }
    assert result.llm_output["usage_metadata"]["input_tokens"] == 11
    assert result.llm_output["model_name"] == "gpt-4o-mini"
    info = result.generations[0][0].generation_info
    assert info is not None
    assert info["usage_metadata"]["output_tokens"] == 3
    assert info["finish_reason"] == "stop"
    assert info["response_metadata"]["model_provider"] == "openai"


def test_generate_several_prompts_sums_usage(llm: OpenAILLM, emulator: Emulator) -> None:
    emulator.script(
        Reply("A", usage=Usage(prompt_tokens=10, completion_tokens=1)),
        Reply("B", usage=Usage(prompt_tokens=20, completion_tokens=2)),
    )
    result = llm.generate(["first", "second"])
    assert sorted(g[0].text for g in result.generations) == ["A", "B"]
    assert result.llm_output is not None
    assert result.llm_output["token_usage"]["total_tokens"] == 33


async def test_agenerate_surfaces_usage(llm: OpenAILLM) -> None:
    result = await llm.agenerate(["Tell me something"])
    assert result.llm_output is not None
    usage = result.llm_output["token_usage"]
    assert usage["prompt_tokens"] > 0
    assert usage["completion_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_stream_usage_reaches_on_llm_end(llm: OpenAILLM) -> None:
    recorder = Recorder()
    text = "".join(llm.stream("stream with usage please", config={"callbacks": [recorder]}))
    assert text == "You said: stream with usage please"
    (llm_run,) = recorder.llm_starts
    generation = recorder.ends[llm_run["run_id"]].generations[0][0]
    assert generation.text == text
    assert generation.generation_info is not None
    usage = generation.generation_info["usage_metadata"]
    assert usage["input_tokens"] > 0
    assert usage["output_tokens"] > 0
    assert generation.generation_info["finish_reason"] == "stop"


def test_cache_skips_the_second_request(emulator: Emulator) -> None:
    llm = OpenAILLM(
        model="gpt-4o-mini",
        api_key="sk-test",
        base_url=emulator.openai_base_url,
        cache=InMemoryCache(),
    )
    assert llm.invoke("cache me") == "You said: cache me"
    assert llm.invoke("cache me") == "You said: cache me"
    assert len(_chat_requests(emulator)) == 1


# -- wrapping a preset ------------------------------------------------------------------------


def test_wraps_a_preset_positionally(emulator: Emulator) -> None:
    preset = ChatOpenRouter(
        model="openai/gpt-4.1",
        api_key="sk-or-test",
        base_url=emulator.openai_base_url,
        app_name="polyvox-tests",
        max_tokens=50,
        max_retries=0,
    )
    llm = OpenAILLM(preset)
    assert llm.chat_model is preset
    result = llm.generate(["hello router"])
    assert result.generations[0][0].text == "You said: hello router"
    info = result.generations[0][0].generation_info
    assert info is not None
    assert info["response_metadata"]["model_provider"] == "openrouter"
    request = emulator.requests[-1]
    assert request.headers["authorization"] == "Bearer sk-or-test"
    assert request.headers["x-title"] == "polyvox-tests"
    assert request.json["model"] == "openai/gpt-4.1"
    assert request.json["max_tokens"] == 50
    assert "max_completion_tokens" not in request.json
    assert "".join(llm.stream("stream router")) == "You said: stream router"


def test_wraps_a_preset_by_keyword(emulator: Emulator) -> None:
    preset = ChatOpenRouter(model="openai/gpt-4.1", api_key="k", base_url=emulator.openai_base_url)
    assert OpenAILLM(chat_model=preset).invoke("kw") == "You said: kw"


# -- callbacks --------------------------------------------------------------------------------


def _assert_nested(recorder: Recorder, prompt: str) -> None:
    (llm_run,) = recorder.llm_starts
    (chat_run,) = recorder.chat_starts
    assert llm_run["prompts"] == [prompt]
    assert chat_run["parent"] == llm_run["run_id"]
    assert [m.text for m in chat_run["messages"][0]] == [prompt]
    assert llm_run["metadata"]["ls_model_type"] == "llm"
    assert llm_run["metadata"]["ls_provider"] == "openai"
    assert chat_run["metadata"]["ls_model_type"] == "chat"
    assert chat_run["metadata"]["ls_model_name"] == "gpt-4o-mini"
    chat_end = recorder.ends[chat_run["run_id"]]
    assert chat_end.generations[0][0].text == f"You said: {prompt}"


def test_callbacks_see_the_inner_chat_call(llm: OpenAILLM) -> None:
    recorder = Recorder()
    llm.invoke("traced prompt", config={"callbacks": [recorder], "tags": ["t1"]})
    _assert_nested(recorder, "traced prompt")
    assert "t1" in recorder.llm_starts[0]["tags"]
    assert "t1" in recorder.chat_starts[0]["tags"]


async def test_callbacks_see_the_inner_chat_call_async(llm: OpenAILLM) -> None:
    recorder = Recorder()
    await llm.ainvoke("traced async", config={"callbacks": [recorder]})
    _assert_nested(recorder, "traced async")


def test_callbacks_stream_tokens(llm: OpenAILLM) -> None:
    recorder = Recorder()
    pieces = list(llm.stream("traced stream words", config={"callbacks": [recorder]}))
    _assert_nested(recorder, "traced stream words")
    llm_run_id = recorder.llm_starts[0]["run_id"]
    llm_tokens = [t for t, run in recorder.tokens if run == llm_run_id]
    assert "".join(llm_tokens) == "".join(pieces) == "You said: traced stream words"


def test_callbacks_in_batch_nest_per_prompt(llm: OpenAILLM) -> None:
    recorder = Recorder()
    llm.batch(["p one", "p two", "p three"], config={"callbacks": [recorder]})
    assert len(recorder.llm_starts) == 3
    assert len(recorder.chat_starts) == 3
    parent_of = {run["messages"][0][0].text: run["parent"] for run in recorder.chat_starts}
    llm_run_of = {run["prompts"][0]: run["run_id"] for run in recorder.llm_starts}
    assert parent_of == llm_run_of


def test_callbacks_in_generate_nest_per_prompt(llm: OpenAILLM) -> None:
    recorder = Recorder()
    llm.generate(["g one", "g two"], callbacks=[recorder])
    parent_of = {run["messages"][0][0].text: run["parent"] for run in recorder.chat_starts}
    llm_run_of = {run["prompts"][0]: run["run_id"] for run in recorder.llm_starts}
    assert len(llm_run_of) == 2
    assert parent_of == llm_run_of


async def test_callbacks_in_agenerate_nest_per_prompt(llm: OpenAILLM) -> None:
    recorder = Recorder()
    await llm.agenerate(["a one", "a two", "a three"], callbacks=[recorder])
    parent_of = {run["messages"][0][0].text: run["parent"] for run in recorder.chat_starts}
    llm_run_of = {run["prompts"][0]: run["run_id"] for run in recorder.llm_starts}
    assert len(llm_run_of) == 3
    assert parent_of == llm_run_of


@pytest.mark.usefixtures("tiktoken_offline")
def test_get_num_tokens(llm: OpenAILLM) -> None:
    # offline, gpt-4o-mini's o200k_base cannot be downloaded: the estimate, said once, and
    # never LangChain's GPT-2 fallback asking for transformers
    with pytest.warns(TokenEstimateWarning, match="o200k_base"):
        assert llm.get_num_tokens("hello world") == 4


@pytest.mark.usefixtures("encodings_cached")
def test_get_num_tokens_exact(emulator: Emulator) -> None:
    llm = OpenAILLM(model="gpt-4", api_key="sk-test", base_url=emulator.openai_base_url)
    assert llm.get_num_tokens("hello world") == 2
    assert llm.get_token_ids("hello world") == [15339, 1917]
