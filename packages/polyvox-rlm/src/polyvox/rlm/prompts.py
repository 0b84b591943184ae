"""The messages the RLM loop sends to its root model.

The system prompt explains the REPL (the ``context`` variable and the helpers in it) and the
one way to answer: calling ``FINAL(value)`` or ``FINAL_VAR("name")`` in code that runs. The
first user message carries the question, never the context. After each step the loop sends
the (cut) REPL output back, with a note when something the model wrote was not accepted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from polyvox.rlm.trajectory import CellOutcome

__all__ = [
    "ContextInfo",
    "continue_message",
    "feedback_message",
    "first_message",
    "no_code_message",
    "plain_subcall_prompt",
    "prose_final_note",
    "refused_final_note",
    "skipped_blocks_note",
    "system_prompt",
]


@dataclass(frozen=True)
class ContextInfo:
    """What the root model is told about the context (never its text)."""

    chars: int
    """Length of ``context`` in characters."""
    documents: int
    """How many documents it joins (0 for one plain string)."""
    depth: int
    """Depth of the RLM the prompt is for."""
    can_recurse: bool
    """Whether ``rlm_query`` starts a child RLM (else it is a plain sub-call)."""
    max_iterations: int
    """The iterations the model has."""
    max_output_chars: int
    """How much REPL output it sees per step."""
    subcall_concurrency: int
    """How many batched sub-calls run at once."""
    subcall_chars: int
    """About how many characters one sub-call prompt may hold (the sub-model's window)."""


def system_prompt(info: ContextInfo, instructions: str | None = None) -> str:
    """The system prompt of an RLM's root model.

    Args:
        info: What to say about the context and the limits.
        instructions: Extra text appended at the end.

    Returns:
        The prompt.
    """
    if info.documents:
        shape = (
            f"`context` is a str of {info.chars:,} characters joining {info.documents} "
            "documents; `documents` is a list of dicts {'text', 'metadata', 'start', 'end'} "
            "giving each document's text, metadata and character span in `context`."
        )
    else:
        shape = f"`context` is a str of {info.chars:,} characters."
    if info.can_recurse:
        recurse = (
            "- `rlm_query(prompt, context=None)` starts a child RLM like you, with its own "
            "REPL whose `context` is the text you pass (the prompt itself when None); use it "
            "for a sub-question over a large piece that needs its own exploration. Returns str."
        )
    else:
        recurse = (
            "- `rlm_query(prompt, context=None)` is a plain sub-model call here (no deeper "
            "recursion is allowed): the context, if given, is appended to the prompt."
        )
    text = f"""You answer a question about a long input that you cannot read directly.
The input lives in a persistent Python REPL as the variable `context`. {shape}
You explore it by writing Python code; only the output of your code comes back to you,
cut to {info.max_output_chars:,} characters per step, so print summaries and small slices,
never the whole context.

Write code in fenced blocks tagged repl:
```repl
print(len(context), context[:500])
```
Every repl block in your reply runs, in order, in the same REPL: variables persist between
blocks and between turns. Text outside repl blocks is not run.

Available in the REPL:
- `context` (and `documents` when there are several), as described above.
- `llm_query(prompt)` asks a sub-model and returns its answer as a str. The sub-model sees
  only the prompt you give it, so include the text it must read; keep each prompt under about
  {info.subcall_chars:,} characters (its context window).
- `llm_query_batched(prompts)` asks about a list of prompts concurrently (up to
  {info.subcall_concurrency} at a time) and returns the answers in the same order; prefer it
  to a loop of llm_query calls.
{recurse}
- `search(pattern, flags=0, max_hits=50)` finds a regular expression in `context`: a list of
  dicts {{'match', 'match_start', 'match_end', 'text', 'start', 'end'}}: the matched text and
  its character offsets, and a snippet around it with its offsets.
- `bm25_search(query, k=5, chunk_chars=2000)` ranks chunks of `context` by relevance to the
  words of `query`: a list of dicts {{'start', 'end', 'score', 'text'}}.
- `show_vars()` lists the variables you have defined; `print` shows values.
- Modules such as re, json, math, collections, itertools, statistics can be imported; the
  REPL has no network and no file system outside its own folder.

A good plan: look at the context's size and structure first (a few slices, a search), then
narrow down with search or by splitting it into chunks, send the chunks that matter to
sub-models with llm_query_batched, keep their answers in variables, and combine them in code.

To answer, call `FINAL(answer)` inside a repl block, or build the answer in a variable and
call `FINAL_VAR("variable_name")`. The answer is accepted only when that code actually runs:
writing FINAL(...) in your text, or in code that fails before reaching it, does not count.
You have {info.max_iterations} turns. Think step by step, and do not guess: check in code."""
    if instructions:
        text += "\n\n" + instructions.strip()
    return text


def first_message(question: str, info: ContextInfo) -> str:
    """The first user message: the question, and a reminder that the context is in the REPL.

    Args:
        question: The question.
        info: What to say about the context.

    Returns:
        The message.
    """
    docs = f" ({info.documents} documents)" if info.documents else ""
    return (
        f"Question: {question}\n\n"
        f"The context ({info.chars:,} characters{docs}) is in the REPL variable `context`; "
        "you have not seen it yet. Start by looking at it in a repl block."
    )


def no_code_message(final_in_prose: bool) -> str:
    """The reply to a turn with no runnable code block.

    Args:
        final_in_prose: Whether the turn wrote ``FINAL(...)`` outside a repl block.

    Returns:
        The message.
    """
    if final_in_prose:
        return (
            "Your reply wrote FINAL(...) outside a repl block, so it did not run and no answer "
            "was accepted. If you are sure of the answer, call FINAL(...) inside a repl block; "
            "otherwise keep working in code."
        )
    return (
        "Your reply had no repl block, so nothing ran. Write code in a ```repl block to keep "
        "exploring, and call FINAL(...) in code when you have the answer."
    )


def refused_final_note(block: int, error: str) -> str:
    """The note for a block that mentions FINAL but failed before giving an answer.

    Args:
        block: The block's 1-based number.
        error: Its error.

    Returns:
        The note.
    """
    return (
        f"Block {block} mentions FINAL but raised {error} before an answer was given, so no "
        "answer was accepted."
    )


def skipped_blocks_note(first: int, last: int) -> str:
    """The note for blocks left unrun because an earlier block gave the answer.

    Args:
        first: The first skipped block's 1-based number.
        last: The last block's number.

    Returns:
        The note.
    """
    which = f"Block {first} was" if first == last else f"Blocks {first} to {last} were"
    return f"{which} not run: an earlier block gave the final answer."


def prose_final_note() -> str:
    """The note for a turn that also wrote FINAL(...) outside its code blocks."""
    return (
        "FINAL(...) written outside a repl block was ignored: only FINAL called by code that "
        "runs gives the answer."
    )


def continue_message(remaining: int) -> str:
    """The closing line of a feedback message.

    Args:
        remaining: Turns left after this one.

    Returns:
        The line.
    """
    if remaining <= 1:
        return (
            "This is your last turn: call FINAL(...) in a repl block now with the best answer "
            "your variables support."
        )
    return f"{remaining} turns left. Continue in a repl block, or call FINAL(...) in code."


def plain_subcall_prompt(prompt: str, context: str | None) -> str:
    """The prompt of an ``rlm_query`` that runs as a plain sub-call.

    Args:
        prompt: The code's prompt.
        context: The context the code passed, if any.

    Returns:
        The prompt sent to the sub-model.
    """
    if context is None:
        return prompt
    return f"{prompt}\n\n---\n{context}"


def feedback_message(
    results: Sequence[CellOutcome], notes: Sequence[str], max_chars: int, remaining: int
) -> str:
    """The message that reports a step's REPL output back to the root model.

    Each block gets an equal share of ``max_chars``; output beyond it is cut, and the cut is
    stated, so the model knows to print less.

    Args:
        results: What each block did.
        notes: What the loop refused or noticed in the step.
        max_chars: Most output characters shown for the whole step.
        remaining: Turns left.

    Returns:
        The message.
    """
    share = max(200, max_chars // max(1, len(results)))
    parts: list[str] = []
    for index, result in enumerate(results, 1):
        status = f"error: {result['error']}" if result["error"] else "ok"
        flags = []
        if result["timed_out"]:
            flags.append("timed out")
        if result["restored"]:
            flags.append("restored " + ", ".join(result["restored"]) + " (do not overwrite them)")
        extra = f"; {'; '.join(flags)}" if flags else ""
        head = f"[block {index} of {len(results)}: {status} in {result['duration_s']:.2f}s{extra}]"
        output = result["output"]
        if not output.strip():
            body = "(no output)"
        elif len(output) > share:
            body = (
                f"{output[:share]}\n[output cut: showed {share:,} of {len(output):,} "
                "characters; print less, or print slices]"
            )
        else:
            body = output + ("\n[the REPL cut this output]" if result["truncated"] else "")
        parts.append(f"{head}\n{body}")
    parts.extend(notes)
    parts.append(continue_message(remaining))
    return "\n\n".join(parts)
