"""The RLM Runnable end to end: scripted root model, emulated sub-model, the real REPL."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any
from uuid import UUID

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.documents import Document
from langchain_core.messages import BaseMessage

from polyvox.rlm.errors import RLMError
from polyvox.rlm.rlm import RecursiveLanguageModel
from polyvox.testing import Emulator, Fault, Reply
from tests.rlm.conftest import ROOT, SUB, repl

Make = Callable[..., RecursiveLanguageModel]

SECRET = "The launch code is 4711."


def _haystack(size: int = 200_000) -> str:
    line = "Nothing to see in this line of the report, just filler text.\n"
    filler = line * (size // len(line))
    middle = len(filler) // 2
    return filler[:middle] + SECRET + "\n" + filler[middle:]


class _Watcher(BaseCallbackHandler):
    """Sees every chat-model start: its metadata, its parent run, and how many run at once."""

    def __init__(self) -> None:
        self.starts: list[dict[str, Any]] = []
        self.chains: dict[UUID, str] = {}
        self.in_flight = 0
        self.most_in_flight = 0

    def on_chain_start(self, serialized: Any, inputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self.chains[run_id] = str(kwargs.get("name"))

    def on_chat_model_start(
        self,
        serialized: Any,
        messages: list[list[BaseMessage]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self.starts.append({"metadata": dict(metadata or {}), "parent": parent_run_id})
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)

    def on_llm_end(self, response: Any, **kwargs: Any) -> None:
        self.in_flight -= 1

    def on_llm_error(self, error: BaseException, **kwargs: Any) -> None:
        self.in_flight -= 1


def _script_multi_step(emulator: Emulator) -> None:
    emulator.script(
        repl("print(len(context))\nprint(context[:120])", "First, the size and the start."),
        repl(
            "hits = search(r'launch code is \\d+')\nprint(len(hits), hits[0]['match'])\n"
            "top = bm25_search('launch code', k=2)\n"
            "print(top[0]['start'] <= hits[0]['match_start'])"
        ),
        repl(
            "size = len(context) // 4\n"
            "chunks = [context[i * size:(i + 1) * size] for i in range(4)]\n"
            "notes = llm_query_batched(['Summarise: ' + c[:40] for c in chunks])\n"
            "answer = hits[0]['match'].split()[-1]\nprint(len(notes), notes[0][:30])"
        ),
        repl("FINAL(answer)", "The code found it."),
        model=ROOT,
    )


async def test_multi_step_run_async(emulator: Emulator, make_rlm: Make) -> None:
    _script_multi_step(emulator)
    context = _haystack()
    watcher = _Watcher()
    result = await make_rlm().ainvoke(
        {"question": "What is the launch code?", "context": context},
        {"callbacks": [watcher], "metadata": {"workspace_id": "w1"}},
    )
    assert result.answer == "4711"
    steps = result.trajectory.steps
    assert len(steps) == 4
    assert steps[-1].final == "4711"
    assert steps[0].results[0]["output"].startswith(f"{len(context)}\n")
    assert "1 launch code is 4711" in steps[1].results[0]["output"]
    assert steps[2].results[0]["output"].startswith("4 You said: Summarise:")
    assert [c.kind for c in steps[2].subcalls] == ["llm_query"] * 4
    # usage per depth: four root turns at depth 0, four sub-calls at depth 1
    usage = result.usage
    assert {d: t.calls for d, t in usage.by_depth.items()} == {0: 4, 1: 4}
    assert set(usage.by_model) == {f"openai/{ROOT}", f"openai/{SUB}"}
    assert usage.total_cost_usd is not None
    assert usage.total_cost_usd > 0
    # the context never entered the root model's prompt: only the question and outputs did
    root_requests = [r for r in emulator.requests if r.json.get("model") == ROOT]
    assert len(root_requests) == 4
    assert all(len(str(r.json["messages"])) < 20_000 for r in root_requests)
    # the spans read: the first 120 characters, the search hit and the chunks
    assert result.read_spans
    assert result.read_spans[0][0] == 0
    # every model call is a child of an RLM chain run, with the run's metadata and its depth
    assert len(watcher.starts) == 8
    assert all(s["parent"] in watcher.chains for s in watcher.starts)
    assert all(s["metadata"]["workspace_id"] == "w1" for s in watcher.starts)
    assert sorted(s["metadata"]["rlm_depth"] for s in watcher.starts) == [0] * 4 + [1] * 4


def test_multi_step_run_sync(emulator: Emulator, make_rlm: Make) -> None:
    _script_multi_step(emulator)
    result = make_rlm().invoke({"question": "What is the launch code?", "context": _haystack()})
    assert result.answer == "4711"
    assert result.usage.calls == 8
    # printing the result shows a summary, never the 200,000 characters of the context
    for shown in (repr(result), str(result)):
        assert len(shown) < 400
        assert "Nothing to see" not in shown
        assert shown.startswith("RLMResult(answer='4711', context=199,9")
        assert "steps=4, sub_calls=4" in shown
        assert "calls=8, tokens=" in shown


def test_a_printed_result_cuts_a_long_answer(emulator: Emulator, make_rlm: Make) -> None:
    emulator.script(repl("FINAL(context * 3)"), model=ROOT)
    result = make_rlm().invoke({"question": "q", "context": ["x" * 400, "y"]})
    assert len(result.answer) > 1000
    shown = repr(result)
    assert "x" * 200 + f"... ({len(result.answer):,} chars)" in shown
    assert "x" * 201 not in shown
    assert "in 2 documents" in shown


async def test_sync_invoke_inside_a_running_event_loop(emulator: Emulator, make_rlm: Make) -> None:
    emulator.script(repl("FINAL(context.upper())"), model=ROOT)
    # a plain asyncio.run would refuse here; invoke runs on its own loop in a worker thread
    result = make_rlm().invoke({"question": "q", "context": "abc"})
    assert result.answer == "ABC"


async def test_documents_keep_their_metadata(emulator: Emulator, make_rlm: Make) -> None:
    docs = [
        Document(page_content="Alpha report.", metadata={"source": "a.txt", "page": 1}),
        Document(page_content="Beta report: revenue 12.", metadata={"source": "b.txt"}),
    ]
    emulator.script(
        repl(
            "d = documents[1]\nprint(d['metadata']['source'], context[d['start']:d['end']])\n"
            "FINAL(d['metadata']['source'] + ':' + context[d['start']:d['end']].split()[-1])"
        ),
        model=ROOT,
    )
    result = await make_rlm().ainvoke({"question": "Where is revenue?", "context": docs})
    assert result.answer == "b.txt:12."
    assert result.trajectory.documents == 2
    assert result.context is not None
    assert result.context.metadata == (
        {"source": "a.txt", "page": 1},
        {"source": "b.txt"},
    )


async def test_batched_subcalls_run_concurrently_up_to_the_limit(
    emulator: Emulator, make_rlm: Make
) -> None:
    emulator.fail(Fault.slow(0.2), times=None, model=SUB)
    emulator.script(
        repl("r = llm_query_batched([f'item {i}' for i in range(6)])\nFINAL(' | '.join(r))"),
        model=ROOT,
    )
    watcher = _Watcher()
    started = time.perf_counter()
    result = await make_rlm(subcall_concurrency=2).ainvoke(
        {"question": "q", "context": "x"}, {"callbacks": [watcher]}
    )
    elapsed = time.perf_counter() - started
    assert result.answer == " | ".join(f"You said: item {i}" for i in range(6))
    assert watcher.most_in_flight == 2  # bounded by subcall_concurrency, and concurrent
    assert elapsed >= 0.55  # three waves of 0.2 s


async def test_subcall_failure_reaches_the_code(emulator: Emulator, make_rlm: Make) -> None:
    emulator.fail(Fault.server_error(500), times=1, model=SUB)
    emulator.script(
        repl(
            "try:\n    llm_query('hello')\nexcept Exception as exc:\n    print('failed:', exc)\n"
            "FINAL(llm_query('again'))"
        ),
        model=ROOT,
    )
    result = await make_rlm().ainvoke({"question": "q", "context": "x"})
    assert result.answer == "You said: again"
    step = result.trajectory.steps[0]
    assert "failed:" in step.results[0]["output"]
    assert [c.error is not None for c in step.subcalls] == [True, False]
    assert result.usage.total.errors == 1


async def test_rlm_query_is_a_plain_call_beyond_max_depth(
    emulator: Emulator, make_rlm: Make
) -> None:
    emulator.script(repl("FINAL(rlm_query('Summarise', context='the piece'))"), model=ROOT)
    result = await make_rlm(max_depth=0).ainvoke({"question": "q", "context": "x"})
    assert result.answer == "You said: Summarise\n\n---\nthe piece"
    [call] = result.trajectory.steps[0].subcalls
    assert call.kind == "rlm_query"
    assert call.child is None
    assert not result.trajectory.children


async def test_no_code_is_answered_with_a_nudge(emulator: Emulator, make_rlm: Make) -> None:
    emulator.script(Reply("I think I should look first."), repl("FINAL(len(context))"), model=ROOT)
    result = await make_rlm().ainvoke({"question": "q", "context": "12345"})
    assert result.answer == "5"
    second = [r for r in emulator.requests if r.json.get("model") == ROOT][1]
    assert "had no repl block" in second.json["messages"][-1]["content"]


async def test_output_is_cut_to_the_step_budget(emulator: Emulator, make_rlm: Make) -> None:
    emulator.script(repl("print('y' * 5000)"), repl("FINAL('done')"), model=ROOT)
    result = await make_rlm(max_output_chars=1000).ainvoke({"question": "q", "context": "x"})
    feedback = result.trajectory.steps[0].feedback
    assert "output cut: showed 1,000 of 5,001 characters" in feedback
    assert len(feedback) < 1500


@pytest.mark.parametrize(
    "bad",
    [
        {"question": "q"},
        {"question": "q", "context": 42},
        {"question": "q", "context": []},
        "just a string",
    ],
)
async def test_bad_input_is_refused(make_rlm: Make, bad: Any) -> None:
    with pytest.raises((RLMError, ValueError)):
        await make_rlm().ainvoke(bad)


def test_models_and_settings_per_depth(chat: Callable[[str], Any]) -> None:
    from polyvox.rlm.settings import RLMSettings

    root, sub, deep = chat(ROOT), chat(SUB), chat("gpt-4.1-mini")
    rlm = RecursiveLanguageModel(
        root=root,
        sub=sub,
        models_by_depth={2: deep},
        max_iterations=7,
        depth_settings={1: RLMSettings(max_iterations=3)},
    )
    assert [rlm.model_for(d) for d in range(4)] == [root, sub, deep, sub]
    assert rlm.settings_for(0).max_iterations == 7
    assert rlm.settings_for(1).max_iterations == 3
    assert RecursiveLanguageModel(root=root).model_for(1) is root
    assert rlm.InputType.__name__ == "RLMInput"
    assert "question" in rlm.get_input_jsonschema()["properties"]


async def test_astream_events_show_every_model_call(emulator: Emulator, make_rlm: Make) -> None:
    emulator.script(repl("FINAL(llm_query('hi'))"), model=ROOT)
    events = [
        e async for e in make_rlm().astream_events({"question": "q", "context": "x"}, version="v2")
    ]
    starts = [e for e in events if e["event"] == "on_chat_model_start"]
    assert [e["metadata"]["rlm_depth"] for e in starts] == [0, 1]
    assert events[-1]["event"] == "on_chain_end"
    assert events[-1]["data"]["output"]["answer"] == "You said: hi"


def test_asyncio_is_not_left_running(emulator: Emulator, make_rlm: Make) -> None:
    emulator.script(repl("FINAL(1)"), model=ROOT)
    make_rlm().invoke({"question": "q", "context": "x"})
    with pytest.raises(RuntimeError):
        asyncio.get_running_loop()


def test_inside_a_sync_chain_runs_are_nested(emulator: Emulator, make_rlm: Make) -> None:
    from langchain_core.runnables import RunnableLambda

    emulator.script(repl("FINAL(llm_query(context))"), model=ROOT)
    watcher = _Watcher()
    chain = RunnableLambda(lambda text: {"question": "Echo it", "context": text}) | make_rlm()
    result = chain.invoke("hello", {"callbacks": [watcher], "run_name": "outer"})
    assert result.answer == "You said: hello"
    assert "outer" in watcher.chains.values()
    assert "RecursiveLanguageModel" in watcher.chains.values()
    assert all(s["parent"] in watcher.chains for s in watcher.starts)


async def test_the_root_is_told_about_the_repl_not_shown_the_context(
    emulator: Emulator, make_rlm: Make
) -> None:
    emulator.script(repl("FINAL('ok')"), model=ROOT)
    docs = [Document(page_content="SECRET-ALPHA " * 100), Document(page_content="beta")]
    await make_rlm(max_depth=0).ainvoke({"question": "Which secret?", "context": docs})
    [request] = [r for r in emulator.requests if r.json and r.json.get("model") == ROOT]
    system, first = (m["content"] for m in request.json["messages"])
    assert "SECRET-ALPHA" not in system + first
    assert "joining 2 documents" in system
    assert "`documents`" in system
    assert "FINAL_VAR" in system
    assert "llm_query_batched" in system
    assert "bm25_search" in system
    assert "plain sub-model call here" in system  # max_depth=0: no child RLMs
    assert "307,200 characters (its context window)" in system  # 0.8 x 128K tokens x 3
    assert first.startswith("Question: Which secret?")
