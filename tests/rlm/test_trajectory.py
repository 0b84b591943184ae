"""Trajectories: JSON-lines round trip, totals over the tree, and the HTML viewer."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

from polyvox.rlm.trajectory import (
    CellOutcome,
    Step,
    SubCall,
    Trajectory,
    merge_spans,
    read_trajectories,
)

EVIL = "<script>alert('x')</script> & \"quotes\""


def _outcome(code: str, output: str, **kw: object) -> CellOutcome:
    base = CellOutcome(
        code=code,
        output=output,
        error=None,
        truncated=False,
        timed_out=False,
        duration_s=0.01,
        final=None,
        reads=[(0, 10)],
        restored=[],
    )
    base.update(kw)  # type: ignore[typeddict-item]
    return base


def _call(kind: str, depth: int, model: str, cost: str | None, **kw: object) -> SubCall:
    return SubCall(
        kind=kind,  # type: ignore[arg-type]
        depth=depth,
        model=model,
        provider="openai",
        input_tokens=100,
        output_tokens=20,
        cost=Decimal(cost) if cost else None,
        currency="USD" if cost else None,
        cost_usd=Decimal(cost) if cost else None,
        prompt_preview=EVIL,
        response_preview="ok",
        run_id="r-" + kind,
        **kw,  # type: ignore[arg-type]
    )


def _tree() -> Trajectory:
    child = Trajectory(question="child question", context_chars=50, depth=1, model="gpt-4o-mini")
    child.steps.append(
        Step(
            depth=1,
            iteration=1,
            model_text="```repl\nFINAL('c')\n```",
            code_blocks=["FINAL('c')"],
            results=[_outcome("FINAL('c')", "", final="c", reads=[])],
            root_call=_call("root", 1, "gpt-4o-mini", "0.0001"),
            subcalls=[_call("llm_query", 2, "gpt-4o-mini", None)],
            final="c",
        )
    )
    child.answer = "c"
    root = Trajectory(
        question=f"What? {EVIL}",
        context_chars=1000,
        model="gpt-4o",
        documents=2,
        answer=f"answer {EVIL}",
        read_spans=[(0, 10), (20, 30)],
        duration_s=1.5,
    )
    root.steps.append(
        Step(
            depth=0,
            iteration=1,
            model_text=f"Looking. {EVIL}\n```repl\nprint(context[:10])\n```",
            code_blocks=["print(context[:10])"],
            results=[_outcome("print(context[:10])", EVIL, error="ValueError: <b>bad</b>")],
            root_call=_call("root", 0, "gpt-4o", "0.0123"),
            subcalls=[
                _call("llm_query", 1, "gpt-4o-mini", "0.0002"),
                SubCall(kind="rlm_query", depth=1, model="gpt-4o-mini", child=0),
            ],
            feedback=f"[block 1] {EVIL}",
            notes=["FINAL outside code was ignored"],
            duration_s=0.4,
        )
    )
    root.children.append(child)
    return root


def test_calls_walk_the_tree_and_skip_child_pointers() -> None:
    tree = _tree()
    calls = list(tree.calls())
    assert [c.kind for c in calls] == ["root", "llm_query", "root", "llm_query"]
    assert tree.total_tokens == 4 * 120
    assert tree.total_cost_usd == Decimal("0.0123") + Decimal("0.0002") + Decimal("0.0001")


def test_jsonl_round_trip(tmp_path: Path) -> None:
    tree = _tree()
    path = tree.to_jsonl(tmp_path / "run.jsonl")
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [line["record"] for line in lines] == ["trajectory", "step", "trajectory", "step"]
    assert lines[2]["parent"] == "0"
    assert lines[2]["id"] == "0.0"
    back = Trajectory.from_jsonl(path)
    assert back == tree
    assert back.children[0].steps[0].root_call is not None
    assert back.steps[0].root_call.cost_usd == Decimal("0.0123")  # type: ignore[union-attr]
    assert back.steps[0].results[0]["reads"] == [(0, 10)]


def test_jsonl_appends_several_runs(tmp_path: Path) -> None:
    path = tmp_path / "runs.jsonl"
    first, second = _tree(), _tree()
    second.question = "second"
    first.to_jsonl(path)
    second.to_jsonl(path, append=True)
    runs = read_trajectories(path)
    assert [r.question for r in runs] == [first.question, "second"]
    assert all(len(r.children) == 1 for r in runs)


def test_jsonl_errors(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no RLM trajectory"):
        Trajectory.from_jsonl(empty)
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 1 is not JSON"):
        read_trajectories(bad)
    orphan = tmp_path / "orphan.jsonl"
    orphan.write_text(json.dumps({"record": "step", "run": "x", "trajectory": "0"}) + "\n")
    with pytest.raises(ValueError, match="unknown trajectory"):
        read_trajectories(orphan)


def test_html_is_self_contained_and_escaped(tmp_path: Path) -> None:
    tree = _tree()
    page = tree.to_html()
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page  # every model/REPL text is escaped; the page has no script
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "&lt;b&gt;bad&lt;/b&gt;" in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # nothing external
    assert "<style>" in page
    # steps, code, output, sub-calls and the nested child are all shown
    assert "print(context[:10])" in page
    assert "child question" in page
    assert 'href="#t0-0"' in page
    assert 'id="t0-0"' in page
    assert "gpt-4o-mini" in page
    assert "0.012300" in page
    saved = tree.save_html(tmp_path / "run.html", title="My <run>")
    text = saved.read_text(encoding="utf-8")
    assert "<title>My &lt;run&gt;</title>" in text


XSS = "<img src=x onerror=alert(2)>"


@pytest.mark.parametrize(
    ("where", "field", "value"),
    [
        ("step", "iteration", "<script>alert(1)</script>"),
        ("step", "duration_s", XSS),
        ("step", "depth", [XSS]),
        ("step", "notes", [XSS, 3]),
        ("subcall", "depth", XSS),
        ("subcall", "child", XSS),
        ("subcall", "input_tokens", XSS),
        ("subcall", "latency_s", XSS),
        ("subcall", "cost_usd", XSS),
        ("subcall", "kind", XSS),
        ("subcall", "model", {"html": XSS}),
        ("result", "duration_s", XSS),
        ("result", "reads", [[XSS, 1]]),
        ("result", "error", [XSS]),
        ("trajectory", "context_chars", XSS),
        ("trajectory", "depth", XSS),
        ("trajectory", "answer", {"x": XSS}),
        ("trajectory", "read_spans", [[0, XSS]]),
    ],
)
def test_a_tampered_jsonl_field_is_refused(
    tmp_path: Path, where: str, field: str, value: object
) -> None:
    path = _tree().to_jsonl(tmp_path / "run.jsonl")
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    target = {
        "trajectory": lines[0],
        "step": lines[1],
        "subcall": lines[1]["subcalls"][1],
        "result": lines[1]["results"][0],
    }[where]
    target[field] = value
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    with pytest.raises(ValueError, match=field):
        Trajectory.from_jsonl(path)


def test_the_viewer_escapes_numbers_even_when_they_are_not_numbers() -> None:
    # Built in Python, bypassing the JSON reader's checks: the page still holds no markup.
    tree = _tree()
    step = tree.steps[0]
    step.iteration = XSS  # type: ignore[assignment]
    step.subcalls[1].child = XSS  # type: ignore[assignment]
    step.subcalls[1].model = XSS
    tree.depth = XSS  # type: ignore[assignment]
    tree.documents = XSS  # type: ignore[assignment]
    tree.children[0].depth = XSS  # type: ignore[assignment]
    with pytest.raises(TypeError):  # a str child cannot be made into a link number
        tree.to_html()
    step.subcalls[1].child = 0
    page = tree.to_html()
    assert "<img" not in page
    assert page.count("&lt;img src=x onerror=alert(2)&gt;") >= 6


def test_html_of_a_stopped_run() -> None:
    tree = Trajectory(question="q", context_chars=0, stopped="max_iterations")
    page = tree.to_html()
    assert "No answer" in page
    assert "max_iterations" in page


def test_merge_spans() -> None:
    assert merge_spans([(5, 10), (0, 3), (3, 4), (8, 12), (20, 20), (30, 25)]) == [
        (0, 4),
        (5, 12),
    ]
    assert merge_spans([]) == []
