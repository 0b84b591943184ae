"""A trajectory as one self-contained HTML page.

The page has its CSS inline and loads nothing (no script, font or image), so it can be
mailed, attached to a ticket or opened offline. Every piece of text from the run (the
question, model replies, code, REPL output, prompts) and every number is HTML-escaped as
it is written into the page, so a trajectory read back from an edited JSON-lines file
cannot inject markup (the reader also type-checks every field). Steps and child RLMs
are ``<details>`` elements, so the page folds without JavaScript.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from decimal import Decimal
from html import escape
from typing import TYPE_CHECKING, Protocol

from polyvox.rlm.sandbox.text import printable

if TYPE_CHECKING:
    from polyvox.rlm.sandbox.isolation import SandboxReport
    from polyvox.rlm.steps import CellOutcome, Step, SubCall

__all__ = ["RenderedRun", "render_html"]


class RenderedRun(Protocol):
    """What the page shows of a run: a :class:`~polyvox.rlm.trajectory.Trajectory` is one."""

    @property
    def question(self) -> str:
        """The question the run answered."""

    @property
    def context_chars(self) -> int:
        """Length of its context."""

    @property
    def depth(self) -> int:
        """Its depth (0 for the root)."""

    @property
    def model(self) -> str:
        """Its root model."""

    @property
    def documents(self) -> int:
        """How many documents the context was made of."""

    @property
    def steps(self) -> Sequence[Step]:
        """The iterations, in order."""

    @property
    def answer(self) -> str | None:
        """The accepted final answer."""

    @property
    def stopped(self) -> str | None:
        """Why the run stopped without an answer."""

    @property
    def children(self) -> Sequence[RenderedRun]:
        """The child runs."""

    @property
    def read_spans(self) -> Sequence[tuple[int, int]]:
        """Merged character spans of the context that code read."""

    @property
    def duration_s(self) -> float:
        """Wall time of the run."""

    @property
    def sandbox(self) -> SandboxReport | None:
        """The isolation layers its REPL's worker applied."""

    def calls(self) -> Iterator[SubCall]:
        """Every model call of the tree."""


_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:1.5em;
color:#1d1d1f;background:#fafafa}
h1{font-size:1.35em;margin:.2em 0 .6em}h2{font-size:1.1em;margin:1.2em 0 .4em}
pre{background:#fff;border:1px solid #ddd;border-radius:4px;padding:.6em;overflow-x:auto;
white-space:pre-wrap;word-break:break-word;margin:.3em 0}
pre.code{background:#f4f7fb;border-color:#c8d6e8}pre.err{background:#fff3f3;border-color:#e5b4b4}
details{border:1px solid #ddd;border-radius:6px;background:#fff;margin:.5em 0;padding:.3em .7em}
details.child{border-left:4px solid #7a9cc6;background:#f7f9fc}
summary{cursor:pointer;font-weight:600}
table{border-collapse:collapse;margin:.4em 0;font-size:.92em}
th,td{border:1px solid #ddd;padding:.2em .5em;text-align:left;vertical-align:top}
th{background:#f0f0f0}.ok{color:#17692b}.bad{color:#a11}.muted{color:#666}
.answer{border-left:4px solid #17692b;padding:.4em .8em;background:#eef8f0}
.stopped{border-left:4px solid #a11;padding:.4em .8em;background:#fbeeee}
.note{color:#8a5a00}.label{font-size:.85em;color:#555;margin-top:.6em}
"""


def render_html(trajectory: RenderedRun, *, title: str | None = None) -> str:
    """Render a trajectory tree as a standalone HTML page.

    Args:
        trajectory: The root trajectory.
        title: The page title (the question by default).

    Returns:
        The page.
    """
    heading = title if title is not None else f"RLM: {_clip(trajectory.question, 120)}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(heading)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(heading)}</h1>",
        _summary(trajectory),
        _tree(trajectory, "t0"),
        "</body></html>",
    ]
    return "\n".join(parts)


def _summary(t: RenderedRun) -> str:
    out = ['<div class="label">Question</div>', f"<pre>{_e(t.question)}</pre>"]
    if t.answer is not None:
        out.append(f'<div class="answer"><b>Answer</b><pre>{_e(t.answer)}</pre></div>')
    else:
        out.append(f'<div class="stopped"><b>No answer</b>: {_e(t.stopped or "")}</div>')
    by_depth: dict[int, list[SubCall]] = defaultdict(list)
    for call in t.calls():
        by_depth[call.depth].append(call)
    rows = [
        _row(
            _e(depth),
            _e(len(calls)),
            _e(sum(c.input_tokens for c in calls)),
            _e(sum(c.output_tokens for c in calls)),
            _e(_money([c.cost_usd for c in calls])),
        )
        for depth, calls in sorted(by_depth.items())
    ]
    everything = list(t.calls())
    rows.append(
        _row(
            "<b>all</b>",
            _e(len(everything)),
            _e(sum(c.input_tokens for c in everything)),
            _e(sum(c.output_tokens for c in everything)),
            _e(_money([c.cost_usd for c in everything])),
        )
    )
    read = sum(b - a for a, b in t.read_spans)
    share = f"{100 * read / t.context_chars:.1f}%" if t.context_chars else "n/a"
    out.append(
        f'<p class="muted">{_e(f"{t.context_chars:,}")} context characters, '
        f"{_e(t.documents)} documents, {_e(share)} read; {_e(len(t.steps))} steps; "
        f"{_e(f'{t.duration_s:.2f}')} s</p>"
    )
    if t.sandbox is not None:
        layers = ", ".join(t.sandbox.layers)
        out.append(
            f'<p class="muted">Sandbox ({_e(t.sandbox.isolation)} isolation): {_e(layers)}'
            + "".join(f"<br>not in force: {_e(m)}" for m in t.sandbox.missing)
            + "</p>"
        )
    out.append(
        "<table><tr><th>depth</th><th>calls</th><th>input tokens</th><th>output tokens</th>"
        "<th>cost (USD)</th></tr>" + "".join(rows) + "</table>"
    )
    return "\n".join(out)


def _tree(t: RenderedRun, anchor: str) -> str:
    out = [
        f'<h2 id="{_e(anchor)}">Depth {_e(t.depth)} &middot; {_e(t.model)} &middot; '
        f"{_e(f'{t.context_chars:,}')} chars</h2>"
    ]
    for step in t.steps:
        out.append(_step(step, anchor))
    if t.stopped:
        out.append(f'<p class="bad">Stopped: {_e(t.stopped)}</p>')
    for index, child in enumerate(t.children):
        child_anchor = f"{anchor}-{index}"
        out.append(
            f'<details class="child" open><summary>Child RLM {index + 1} '
            f"(depth {_e(child.depth)}): {_e(_clip(child.question, 100))}</summary>"
        )
        out.append(_summary(child))
        out.append(_tree(child, child_anchor))
        out.append("</details>")
    return "\n".join(out)


def _step(step: Step, anchor: str) -> str:
    head = (
        f"Step {_e(step.iteration)}: {len(step.code_blocks)} code block(s), "
        f"{len(step.subcalls)} sub-call(s), {_e(f'{step.duration_s:.2f}')} s"
    )
    if step.final is not None:
        head += " &middot; final answer"
    out = [f"<details open><summary>{head}</summary>"]
    out.append('<div class="label">Root model</div>')
    out.append(f"<pre>{_e(step.model_text)}</pre>")
    for index, result in enumerate(step.results, 1):
        out.append(_cell(index, result))
    for note in step.notes:
        out.append(f'<p class="note">{_e(note)}</p>')
    if step.subcalls:
        out.append(_subcalls(step.subcalls, anchor))
    if step.feedback:
        out.append(
            "<details><summary>Message sent back to the root model</summary>"
            f"<pre>{_e(step.feedback)}</pre></details>"
        )
    out.append("</details>")
    return "\n".join(out)


def _cell(index: int, result: CellOutcome) -> str:
    status = '<span class="ok">ok</span>'
    if result["error"]:
        status = f'<span class="bad">{_e(result["error"])}</span>'
    extras = []
    if result["timed_out"]:
        extras.append("timed out")
    if result["truncated"]:
        extras.append("output cut")
    if result["restored"]:
        extras.append("restored: " + ", ".join(result["restored"]))
    reads = sum(b - a for a, b in result["reads"])
    extras.append(f"read {reads:,} chars in {len(result['reads'])} span(s)")
    seconds = f"{result['duration_s']:.2f}"
    out = [
        f'<div class="label">Block {index} &middot; {status} &middot; '
        f"{_e(seconds)} s &middot; {_e('; '.join(extras))}</div>",
        f'<pre class="code">{_e(result["code"])}</pre>',
    ]
    if result["output"]:
        css = "err" if result["error"] else ""
        out.append(f'<pre class="{css}">{_e(result["output"])}</pre>')
    if result["final"] is not None:
        out.append(f'<div class="answer"><b>FINAL</b><pre>{_e(result["final"])}</pre></div>')
    return "\n".join(out)


def _subcalls(calls: list[SubCall], anchor: str) -> str:
    rows = []
    for call in calls:
        kind = _e(call.kind)
        if call.child is not None:
            target = _e(f"#{anchor}-{call.child}")
            kind = f'<a href="{target}">{kind} &rarr; child {_e(call.child + 1)}</a>'
        status = f'<span class="bad">{_e(call.error)}</span>' if call.error else "ok"
        rows.append(
            _row(
                kind,
                _e(call.model),
                _e(call.depth),
                _e(f"{call.input_tokens}/{call.output_tokens}"),
                _e(_money([call.cost_usd])),
                _e(f"{call.latency_s:.2f}"),
                status,
                f"<pre>{_e(call.prompt_preview)}</pre>",
                f"<pre>{_e(call.response_preview)}</pre>",
            )
        )
    return (
        "<table><tr><th>kind</th><th>model</th><th>depth</th><th>tokens in/out</th>"
        "<th>cost</th><th>s</th><th>status</th><th>prompt</th><th>response</th></tr>"
        + "".join(rows)
        + "</table>"
    )


def _e(value: object) -> str:
    """Any value as escaped HTML text (numbers too: a tampered file may hold anything)."""
    return escape(printable(str(value)))


def _row(*cells: str) -> str:
    """A table row of cells that are already HTML (built with :func:`_e`)."""
    return "<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"


def _money(values: list[Decimal | None]) -> str:
    known = [v for v in values if v is not None]
    if not known:
        return "unpriced" if values else "0"
    text = f"{sum(known, Decimal(0)):.6f}"
    return text + (" +unpriced" if len(known) < len(values) else "")


def _clip(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "\u2026"
