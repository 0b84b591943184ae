"""Reading the root model's reply: the code blocks to run and any answer claimed in prose.

Code is taken from fenced blocks tagged ``repl`` (the tag the system prompt asks for) or
``python``/``py``/``python3``; untagged and other fences are prose and never run. A
``FINAL(...)`` written outside a code block is not an answer: it is only detected, so the
loop can tell the model that nothing was accepted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["CODE_TAGS", "ParsedReply", "mentions_final", "parse_reply"]

CODE_TAGS = frozenset({"repl", "python", "py", "python3"})
"""Fence tags whose blocks are run in the REPL."""

_FENCE = re.compile(
    r"^[ \t]*(?P<fence>`{3,}|~{3,})[ \t]*(?P<tag>[^\s`]*)[^\n]*\n"  # opening fence and tag
    r"(?P<body>.*?)^[ \t]*(?P=fence)[ \t]*$",  # body, then the same fence on its own line
    re.DOTALL | re.MULTILINE,
)
_FINAL_CALL = re.compile(r"\bFINAL(?:_VAR)?\s*\(")


@dataclass(frozen=True)
class ParsedReply:
    """A root-model reply split into what runs and what does not."""

    code_blocks: tuple[str, ...]
    """The code of each runnable block, in order."""

    prose: str
    """The text outside every fenced block."""

    other_blocks: tuple[str, ...]
    """Fenced blocks that do not run (untagged or another language)."""

    @property
    def final_in_prose(self) -> bool:
        """Whether the prose (or a block that does not run) claims an answer with FINAL."""
        return mentions_final(self.prose) or any(mentions_final(b) for b in self.other_blocks)


def mentions_final(text: str) -> bool:
    """Tell whether ``text`` contains a ``FINAL(`` or ``FINAL_VAR(`` call.

    Args:
        text: Any text or code.

    Returns:
        True when a call to either is written in it.
    """
    return _FINAL_CALL.search(text) is not None


def parse_reply(text: str) -> ParsedReply:
    """Split a reply into runnable code blocks, other blocks and prose.

    Args:
        text: The root model's reply.

    Returns:
        The parts; a block left unclosed at the end of the reply is treated as prose.
    """
    code: list[str] = []
    other: list[str] = []
    prose: list[str] = []
    last = 0
    for match in _FENCE.finditer(text):
        prose.append(text[last : match.start()])
        last = match.end()
        body = match.group("body")
        if match.group("tag").lower() in CODE_TAGS:
            if body.strip():
                code.append(body)
        else:
            other.append(body)
    prose.append(text[last:])
    return ParsedReply(tuple(code), "".join(prose), tuple(other))
