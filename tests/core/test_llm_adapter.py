"""ChatModelLLM: any chat model as a LangChain text-completion LLM."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
from langchain_core.callbacks import BaseCallbackHandler, CallbackManagerForLLMRun
from langchain_core.language_models.fake_chat_models import (
    FakeListChatModel,
    GenericFakeChatModel,
)
from langchain_core.load import dumps
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.outputs import ChatGenerationChunk, ChatResult, LLMResult
from langchain_core.prompts import PromptTemplate
from pydantic import ConfigDict, SecretStr, ValidationError

from polyvox.core.llm import ChatModelLLM, as_llm

USAGE = {"input_tokens": 7, "output_tokens": 3, "total_tokens": 10}


def answer(text: str = "hello brave new world") -> AIMessage:
    return AIMessage(
        content=text,
        usage_metadata=USAGE,
        response_metadata={"model_name": "fake-1", "finish_reason": "stop"},
    )


def fake(*texts: str) -> GenericFakeChatModel:
    return GenericFakeChatModel(messages=iter([answer(t) for t in texts or ("hello brave world",)]))


class RecordingChatModel(GenericFakeChatModel):
    """A fake that records the `stop` words and call kwargs it receives."""

    seen: list[dict[str, Any]] = []

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.seen.append({"stop": stop, "messages": messages, **kwargs})
        return super()._generate(messages, stop=stop, run_manager=run_manager, **kwargs)


class StrictFakeChatModel(GenericFakeChatModel):
    """A provider-like fake: a secret key, a model name, unknown parameters rejected."""

    model_config = ConfigDict(extra="forbid")
    model: str = "strict-fake"
    api_key: SecretStr
    temperature: float | None = None


class StrictFakeLLM(ChatModelLLM):
    chat_model_class = StrictFakeChatModel


class Recorder(BaseCallbackHandler):
    def __init__(self) -> None:
        self.llm_runs: list[UUID] = []
        self.chat_parents: list[UUID | None] = []
        self.tokens: list[tuple[str, UUID]] = []
        self.llm_end: list[LLMResult] = []

    def on_llm_start(
        self, serialized: dict[str, Any], prompts: list[str], *, run_id: UUID, **kwargs: Any
    ) -> None:
        self.llm_runs.append(run_id)

    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[BaseMessage]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        self.chat_parents.append(parent_run_id)

    def on_llm_new_token(self, token: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self.tokens.append((token, run_id))

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        if run_id in self.llm_runs:
            self.llm_end.append(response)


def test_invoke_returns_the_chat_models_text() -> None:
    llm = as_llm(fake("hi there"))
    assert isinstance(llm, ChatModelLLM)
    assert llm.invoke("say hi") == "hi there"


def test_prompt_is_sent_as_one_human_message() -> None:
    model = RecordingChatModel(messages=iter([answer()]), seen=[])
    ChatModelLLM(model).invoke("the prompt")
    (messages,) = [call["messages"] for call in model.seen]
    assert [(m.type, m.content) for m in messages] == [("human", "the prompt")]


def test_generate_surfaces_response_and_usage_metadata() -> None:
    result = as_llm(fake("hello")).generate(["x"])
    generation = result.generations[0][0]
    assert generation.text == "hello"
    assert generation.generation_info is not None
    assert generation.generation_info["usage_metadata"] == USAGE
    assert generation.generation_info["response_metadata"]["model_name"] == "fake-1"
    assert generation.generation_info["finish_reason"] == "stop"
    assert result.llm_output is not None
    assert result.llm_output["usage_metadata"] == USAGE
    assert result.llm_output["token_usage"] == {
        "prompt_tokens": 7,
        "completion_tokens": 3,
        "total_tokens": 10,
    }
    assert result.llm_output["model_name"] == "fake-1"


async def test_agenerate_surfaces_metadata() -> None:
    result = await as_llm(fake("hello")).agenerate(["x"])
    assert result.generations[0][0].text == "hello"
    assert result.llm_output is not None
    assert result.llm_output["usage_metadata"] == USAGE


async def test_ainvoke() -> None:
    assert await as_llm(fake("async hello")).ainvoke("x") == "async hello"


def test_batch_sums_usage_over_prompts() -> None:
    llm = as_llm(fake("one", "two"))
    result = llm.generate(["a", "b"])
    assert sorted(g[0].text for g in result.generations) == ["one", "two"]
    assert result.llm_output is not None
    assert result.llm_output["usage_metadata"]["total_tokens"] == 20


def test_batch() -> None:
    assert sorted(as_llm(fake("one", "two")).batch(["a", "b"])) == ["one", "two"]


async def test_abatch() -> None:
    recorder = Recorder()
    llm = as_llm(fake("one", "two"))
    assert sorted(await llm.abatch(["a", "b"], config={"callbacks": [recorder]})) == ["one", "two"]
    assert sorted(map(str, recorder.chat_parents)) == sorted(map(str, recorder.llm_runs))
    assert len(recorder.llm_runs) == 2


def test_batch_return_exceptions() -> None:
    llm = as_llm(fake("only one"))
    outputs = llm.batch(["a", "b"], return_exceptions=True, config={"max_concurrency": 1})
    assert outputs[0] == "only one"
    assert isinstance(outputs[1], Exception)


def test_stream_yields_text_chunks_and_reports_tokens() -> None:
    recorder = Recorder()
    llm = as_llm(fake("hello brave world"))
    chunks = list(llm.stream("x", config={"callbacks": [recorder]}))
    assert "".join(chunks) == "hello brave world"
    assert len([c for c in chunks if c]) > 1
    (llm_run,) = recorder.llm_runs
    outer_tokens = [token for token, run in recorder.tokens if run == llm_run]
    assert "".join(outer_tokens) == "hello brave world"
    (end,) = recorder.llm_end
    info = end.generations[0][0].generation_info
    assert info is not None
    assert "response_metadata" in info


async def test_astream_yields_text_chunks_and_reports_tokens() -> None:
    recorder = Recorder()
    llm = as_llm(fake("hello brave world"))
    chunks = [c async for c in llm.astream("x", config={"callbacks": [recorder]})]
    assert "".join(chunks) == "hello brave world"
    assert len([c for c in chunks if c]) > 1
    (llm_run,) = recorder.llm_runs
    assert "".join(t for t, run in recorder.tokens if run == llm_run) == "hello brave world"
    assert recorder.chat_parents == [llm_run]


class UsageStreamingChatModel(GenericFakeChatModel):
    """GenericFakeChatModel streams text only; this one ends with a usage chunk."""

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        yield from super()._stream(messages, stop=stop, run_manager=run_manager, **kwargs)
        last = AIMessageChunk(
            content="",
            usage_metadata=USAGE,
            response_metadata={"model_name": "fake-1", "finish_reason": "stop"},
        )
        yield ChatGenerationChunk(message=last)


@pytest.mark.parametrize("use_async", [False, True])
async def test_streamed_generation_info_carries_usage(use_async: bool) -> None:
    model = UsageStreamingChatModel(messages=iter([answer("a b")]))
    recorder = Recorder()
    config: Any = {"callbacks": [recorder]}
    if use_async:
        chunks = [c async for c in as_llm(model).astream("x", config=config)]
    else:
        chunks = list(as_llm(model).stream("x", config=config))
    assert "".join(chunks) == "a b"
    info = recorder.llm_end[0].generations[0][0].generation_info
    assert info is not None
    assert info["usage_metadata"] == USAGE
    assert info["response_metadata"]["model_name"] == "fake-1"
    assert info["finish_reason"] == "stop"


@pytest.mark.parametrize("mode", ["invoke", "stream", "batch"])
def test_callbacks_see_the_inner_chat_model_call(mode: str) -> None:
    recorder = Recorder()
    llm = as_llm(fake("a", "b"))
    config: Any = {"callbacks": [recorder]}
    if mode == "invoke":
        llm.invoke("x", config=config)
    elif mode == "stream":
        list(llm.stream("x", config=config))
    else:
        llm.batch(["x", "y"], config=config)
    assert len(recorder.llm_runs) == (2 if mode == "batch" else 1)
    assert sorted(map(str, recorder.chat_parents)) == sorted(map(str, recorder.llm_runs))


def test_generate_with_several_prompts_parents_inner_calls_to_an_llm_run() -> None:
    # LangChain hands _generate only the first prompt's run manager
    recorder = Recorder()
    handlers: list[BaseCallbackHandler] = [recorder]
    as_llm(fake("a", "b")).generate(["x", "y"], callbacks=handlers)
    assert len(recorder.chat_parents) == 2
    assert set(recorder.chat_parents) <= set(recorder.llm_runs)


async def test_async_callbacks_see_the_inner_chat_model_call() -> None:
    recorder = Recorder()
    await as_llm(fake()).ainvoke("x", config={"callbacks": [recorder]})
    assert recorder.chat_parents == recorder.llm_runs
    assert len(recorder.llm_runs) == 1


@pytest.mark.parametrize("mode", ["invoke", "ainvoke", "stream", "astream"])
async def test_stop_is_passed_through(mode: str) -> None:
    model = RecordingChatModel(messages=iter([answer()]), seen=[])
    llm = ChatModelLLM(chat_model=model)
    if mode == "invoke":
        llm.invoke("x", stop=["END"])
    elif mode == "ainvoke":
        await llm.ainvoke("x", stop=["END"])
    elif mode == "stream":
        list(llm.stream("x", stop=["END"]))
    else:
        [c async for c in llm.astream("x", stop=["END"])]
    assert [call["stop"] for call in model.seen] == [["END"]]


def test_call_kwargs_are_passed_through() -> None:
    model = RecordingChatModel(messages=iter([answer()]), seen=[])
    ChatModelLLM(model).invoke("x", seed=42)
    assert model.seen[0]["seed"] == 42


def test_type_and_identifying_params_delegate() -> None:
    model = fake()
    llm = as_llm(model)
    assert llm._llm_type == f"{model._llm_type}-llm" == "generic-fake-chat-model-llm"
    assert dict(llm._identifying_params) == dict(model._identifying_params)
    params = llm._get_ls_params(stop=["s"])
    assert params["ls_model_type"] == "llm"
    assert params["ls_stop"] == ["s"]


def test_chat_model_class_builds_the_chat_model_from_kwargs() -> None:
    llm = StrictFakeLLM(
        messages=iter([answer("built")]),
        model="m-2",
        api_key="sk-secret-123",
        temperature=0.5,
        tags=["t1"],
        metadata={"k": "v"},
        verbose=False,
        name="my-llm",
    )
    assert isinstance(llm.chat_model, StrictFakeChatModel)
    assert llm.chat_model.model == "m-2"
    assert llm.chat_model.temperature == 0.5
    assert llm.chat_model.api_key.get_secret_value() == "sk-secret-123"
    assert llm.tags == ["t1"]
    assert llm.name == "my-llm"
    assert llm.chat_model.tags is None
    assert llm.invoke("x") == "built"


def test_chat_model_class_rejects_unknown_kwargs() -> None:
    with pytest.raises(ValidationError, match="not_a_param"):
        StrictFakeLLM(messages=iter([]), api_key="k", not_a_param=1)


def test_unknown_kwargs_raise_with_an_explicit_chat_model() -> None:
    with pytest.raises(ValidationError, match="not_a_param"):
        ChatModelLLM(chat_model=fake(), not_a_param=1)


def test_chat_model_is_required_without_chat_model_class() -> None:
    with pytest.raises(ValidationError, match="needs a chat_model"):
        ChatModelLLM()


def test_explicit_chat_model_wins_over_chat_model_class() -> None:
    model = StrictFakeChatModel(messages=iter([answer("explicit")]), api_key=SecretStr("k"))
    assert StrictFakeLLM(chat_model=model).chat_model is model


def test_repr_and_dumps_hide_the_wrapped_api_key() -> None:
    llm = StrictFakeLLM(messages=iter([]), api_key="sk-very-secret")
    assert "sk-very-secret" not in repr(llm)
    assert "sk-very-secret" not in str(llm)
    assert "sk-very-secret" not in dumps(llm)
    assert "sk-very-secret" not in dumps(llm, pretty=True)


def test_lcel_chain() -> None:
    llm = as_llm(FakeListChatModel(responses=["chained answer"]))
    chain = PromptTemplate.from_template("Say {word}") | llm | StrOutputParser()
    assert chain.invoke({"word": "hi"}) == "chained answer"


async def test_lcel_chain_async_stream() -> None:
    llm = as_llm(fake("streamed chain answer"))
    chain = PromptTemplate.from_template("Say {word}") | llm | StrOutputParser()
    chunks = [c async for c in chain.astream({"word": "hi"})]
    assert "".join(chunks) == "streamed chain answer"


def test_get_token_ids_delegates() -> None:
    def ids(text: str) -> list[int]:
        return [len(word) for word in text.split()]

    model = fake()
    model.custom_get_token_ids = ids
    assert as_llm(model).get_num_tokens("one three") == 2
    assert as_llm(model).get_token_ids("one three") == [3, 5]
