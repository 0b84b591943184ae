"""Drop-in use: code written for langchain-gigachat keeps working with polyvox's classes.

``langchain_gigachat.GigaChat`` (0.5, on the same ``gigachat`` 0.2 SDK: both install side by
side) and ``polyvox.gigachat.GigaChat`` take the same keywords and talk to the emulator; the
tests compare what code reads from them (metadata, usage, ``additional_kwargs``, the
exceptions ``except`` clauses catch) and run polyvox's in an LCEL chain, a ``create_agent``
tool loop, structured output, a router deployment and the cost ledger (roubles).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import gigachat.exceptions
import pytest
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.tools import tool
from pydantic import BaseModel

from polyvox.costs.ledger import Ledger
from polyvox.costs.tracking import CostCallbackHandler
from polyvox.gigachat import GigaChat, GigaChatEmbeddings
from polyvox.router.router import Router
from polyvox.testing import Emulator, Fault, Reply, ToolCall, Usage
from tests.gigachat.conftest import connection

langchain_gigachat = pytest.importorskip("langchain_gigachat")


def _pair(emulator: Emulator, **fields: Any) -> tuple[Any, GigaChat]:
    """The same keywords, given to both classes (a scope and TLS settings included)."""
    kwargs = {"model": "GigaChat-2-Max", "scope": "GIGACHAT_API_PERS", "max_retries": 0,
              "profanity_check": False, **connection(emulator), **fields}  # fmt: skip
    return langchain_gigachat.GigaChat(**kwargs), GigaChat(**kwargs)


def test_same_metadata_and_usage(emulator: Emulator) -> None:
    theirs, ours = _pair(emulator)
    usage = Usage(prompt_tokens=40, completion_tokens=5, cached_tokens=12)
    emulator.script(Reply("один", usage=usage), Reply("один", usage=usage))
    a, b = theirs.invoke("привет"), ours.invoke("привет")
    assert a.content == b.content == "один"
    assert a.usage_metadata == b.usage_metadata
    for key in ("finish_reason", "model_name", "token_usage", "x_headers"):
        assert a.response_metadata.get(key) == b.response_metadata.get(key), key
    sent = [r.json for r in emulator.requests if r.path.endswith("/chat/completions")]
    theirs_body = {k: v for k, v in sent[0].items() if v != []}  # they send "functions": []
    assert theirs_body == sent[1]  # otherwise the same request body


def test_same_function_call_and_state(emulator: Emulator) -> None:
    def get_weather(city: str) -> str:
        """Get the weather.

        Args:
            city: The city.
        """
        return "sunny"

    theirs, ours = _pair(emulator)
    call = Reply(tool_calls=[ToolCall("get_weather", {"city": "Сочи"})])
    emulator.script(call, call)
    a = theirs.bind_tools([get_weather]).invoke("погода в Сочи?")
    b = ours.bind_tools([get_weather]).invoke("погода в Сочи?")
    assert [(c["name"], c["args"]) for c in a.tool_calls] == [
        (c["name"], c["args"]) for c in b.tool_calls
    ]
    assert set(a.additional_kwargs) == set(b.additional_kwargs) == {
        "function_call", "functions_state_id"
    }  # fmt: skip
    assert a.additional_kwargs["function_call"] == b.additional_kwargs["function_call"]


def test_same_embeddings(emulator: Emulator) -> None:
    fields = connection(emulator)
    theirs = langchain_gigachat.GigaChatEmbeddings(model="Embeddings", **fields)
    ours = GigaChatEmbeddings(model="Embeddings", **fields)
    assert theirs.embed_documents(["a", "b"]) == ours.embed_documents(["a", "b"])


@pytest.mark.parametrize(
    ("fault", "sdk_class"),
    [
        (Fault(status=400, message="bad"), gigachat.exceptions.BadRequestError),
        (Fault(status=404, message="No such model"), gigachat.exceptions.NotFoundError),
        (Fault(status=422, message="Invalid params"), gigachat.exceptions.UnprocessableEntityError),
        (Fault.rate_limit(retry_after=2), gigachat.exceptions.RateLimitError),
        (Fault.server_error(500), gigachat.exceptions.ServerError),
        (Fault.server_error(503), gigachat.exceptions.ResponseError),
    ],
)
def test_the_same_except_clauses_catch(
    emulator: Emulator, fault: Fault, sdk_class: type[Exception]
) -> None:
    for model in _pair(emulator):
        emulator.fail(fault)
        with pytest.raises(sdk_class) as caught:
            model.invoke("hello")
        if isinstance(caught.value, gigachat.exceptions.RateLimitError):
            assert caught.value.retry_after == 2.0


def test_lcel_chain(emulator: Emulator) -> None:
    _, ours = _pair(emulator)
    prompt = ChatPromptTemplate.from_messages([("system", "Ты {role}."), ("human", "{q}")])
    chain = prompt | ours | StrOutputParser()
    assert chain.invoke({"role": "гид", "q": "Казань?"}) == "You said: Казань?"
    body = emulator.requests[-1].json
    assert body["messages"] == [
        {"role": "system", "content": "Ты гид."}, {"role": "user", "content": "Казань?"}
    ]  # fmt: skip


def test_create_agent_tool_loop(emulator: Emulator) -> None:
    _, ours = _pair(emulator)

    @tool
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    agent = create_agent(ours, tools=[add], system_prompt="Ты калькулятор.")
    result = agent.invoke({"messages": [HumanMessage("Сколько будет 17 плюс 25?")]})
    messages = result["messages"]
    assert isinstance(messages[1], AIMessage)
    assert messages[1].tool_calls[0]["args"] == {"a": 17, "b": 25}
    assert isinstance(messages[2], ToolMessage)
    assert messages[2].content == "42"
    assert "42" in messages[-1].text
    second = emulator.requests[-1].json["messages"]
    assert second[-1] == {"role": "function", "name": "add", "content": '{"result": 42}'}
    assert second[-2]["function_call"] == {"name": "add", "arguments": {"a": 17, "b": 25}}


class City(BaseModel):
    """A city."""

    name: str
    population: int


@pytest.mark.parametrize("method", ["function_calling", "json_schema"])
def test_structured_output(emulator: Emulator, method: str) -> None:
    _, ours = _pair(emulator)
    city = ours.with_structured_output(City, method=method).invoke("Москва, 13 млн")
    assert isinstance(city, City)
    body = emulator.requests[-1].json
    if method == "function_calling":
        assert body["function_call"] == {"name": "City"}
    else:
        assert body["response_format"]["type"] == "json_schema"


def test_a_router_deployment_and_a_priced_ledger_row(emulator: Emulator, ledger: Ledger) -> None:
    _, ours = _pair(emulator)
    router = Router([ours])
    emulator.script(Reply("ответ", usage=Usage(prompt_tokens=1000, completion_tokens=1000)))
    answer = router.invoke("вопрос", config={"callbacks": [CostCallbackHandler(ledger)]})
    assert answer.content == "ответ"
    ledger.flush()
    [record] = ledger.records()
    assert (record.provider, record.currency) == ("gigachat", "RUB")
    assert record.cost == Decimal("1.3")  # 0.65 RUB per 1K tokens, in and out, GigaChat-2-Max


def test_a_confidential_request_never_reaches_gigachat(emulator: Emulator, ledger: Ledger) -> None:
    """GigaChat is a cloud deployment: confidential data stays on the local model.

    (A Russian request goes to GigaChat, the Russian specialist; with no language given or
    detected, the router would try it after the general model.)
    """
    from polyvox.ollama import ChatOllama

    _, ours = _pair(emulator)
    local = ChatOllama(model="llama3.2", base_url=emulator.ollama_url, max_retries=0)
    router = Router(
        [ours, local],
        strategy=lambda candidates, request, stats: sorted(candidates, key=lambda d: d.local),
        max_retries=0,
    )
    handler = CostCallbackHandler(ledger)
    emulator.script(Reply("Москва", usage=Usage(prompt_tokens=2000, completion_tokens=0)))
    public = router.invoke("Столица России?", language="ru", config={"callbacks": [handler]})
    assert public.response_metadata["router"]["deployment"] == "gigachat/GigaChat-2-Max"
    secret = router.invoke(
        "зарплатная ведомость",
        language="ru",
        sensitivity="confidential",
        config={"callbacks": [handler]},
    )
    assert secret.response_metadata["router"]["deployment"] == "ollama/llama3.2"
    sent = [r.json for r in emulator.requests if r.path.endswith("/chat/completions")]
    assert len(sent) == 1, "the confidential request never reached GigaChat"
    assert "зарплатная" not in str(sent)
    ledger.flush()
    rows = {r.provider: r for r in ledger.records()}
    assert (rows["gigachat"].cost, rows["gigachat"].currency) == (Decimal("1.3"), "RUB")
    assert rows["ollama"].cost == Decimal(0)


def test_the_router_treats_gigachat_as_a_russian_specialist(emulator: Emulator) -> None:
    from polyvox.router.languages import specialist_languages

    _, ours = _pair(emulator)
    router = Router([ours])
    [deployment] = router.deployments
    assert specialist_languages(deployment) == frozenset({"ru"})
