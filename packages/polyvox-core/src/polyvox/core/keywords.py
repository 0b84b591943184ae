"""Call keywords: a near miss of a known one is refused before anything is sent.

``model.invoke(prompt, tempreature=0)`` in langchain-openai sends ``tempreature`` to the
provider; through a router, ``sensitivty="confidential"`` would be ignored by the router and
the data would go to any deployment. polyvox refuses a call keyword that is one or two edits
away from a keyword it knows (a model parameter, an API parameter, a router keyword) with a
"did you mean" error, and a router keyword given to a single model (which would send it to
the provider). A keyword that resembles nothing known still passes, as in the LangChain
partner packages, so new API parameters keep working.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "OPENAI_COMPATIBLE_FIELDS",
    "ROUTING_KEYWORDS",
    "STANDARD_CALL_KEYWORDS",
    "UnknownKeywordError",
    "check_call_keywords",
    "near_miss",
]

ROUTING_KEYWORDS: frozenset[str] = frozenset(
    {
        "sensitivity", "tier", "capabilities", "required_capabilities", "max_cost",
        "language", "deployment", "max_latency_ms", "agent_id", "workspace_id",
        "execution_id",
    }
)  # fmt: skip
"""Keywords a ``polyvox.router.Router`` reads as constraints or attribution and never passes
on to a deployment."""

STANDARD_CALL_KEYWORDS: frozenset[str] = frozenset(
    {
        "stop", "tools", "tool_choice", "parallel_tool_calls", "response_format", "stream",
        "stream_usage", "strict", "ls_structured_output_format", "structured_output_format",
        "extra_body", "extra_headers", "extra_query", "model", "max_tokens", "temperature",
        "timeout",
    }
)  # fmt: skip
"""Keywords LangChain and polyvox pass to any chat model's generation methods."""


OPENAI_COMPATIBLE_FIELDS: frozenset[str] = frozenset(
    {
        # OpenRouter
        "provider", "reasoning", "usage", "transforms", "models", "route", "plugins",
        "top_a", "min_p", "top_k", "repetition_penalty",
        # vLLM
        "min_tokens", "guided_json", "guided_choice", "guided_regex", "guided_grammar",
        "guided_decoding_backend", "chat_template_kwargs", "add_generation_prompt",
        "skip_special_tokens", "spaces_between_special_tokens", "include_stop_str_in_output",
        "length_penalty", "use_beam_search", "best_of", "stop_token_ids", "ignore_eos",
        "priority", "truncate_prompt_tokens",
        # llama.cpp's server
        "cache_prompt", "n_predict", "n_probs", "grammar", "json_schema", "id_slot",
        "samplers", "mirostat", "mirostat_tau", "mirostat_eta", "typical_p",
        "repeat_penalty", "repeat_last_n", "dynatemp_range", "dynatemp_exponent",
        "xtc_probability", "xtc_threshold", "dry_multiplier", "dry_base",
        "dry_allowed_length", "n_keep", "return_tokens", "t_max_predict_ms",
        # Together
        "safety_model", "context_length_exceeded_behavior",
    }
)  # fmt: skip
"""Request fields OpenAI-compatible servers add to the chat-completions API (OpenRouter,
vLLM, llama.cpp's server, Together): known call keywords of every OpenAI-protocol model but
OpenAI's own, and what polyvox's emulator accepts from such models."""


class UnknownKeywordError(TypeError):
    """A call keyword that looks like a mistake; the call was not sent."""

    def __init__(self, message: str, *, keyword: str, suggestion: str | None) -> None:
        """Describe the refused keyword.

        Args:
            message: What was wrong and what to do.
            keyword: The keyword as given.
            suggestion: The known keyword it resembles, if any.
        """
        super().__init__(message)
        self.keyword = keyword
        """The keyword as given."""
        self.suggestion = suggestion
        """The known keyword it resembles (``None`` for a router keyword given to a model)."""


def _distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance (a swap of neighbours is one edit), capped."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, char_b in enumerate(b, 1):
            cost = char_a != char_b
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


@functools.lru_cache(maxsize=1024)
def _cached_near_miss(name: str, known: frozenset[str]) -> str | None:
    return near_miss(name, known)


@functools.lru_cache(maxsize=256)
def _with_routing(known: frozenset[str]) -> frozenset[str]:
    return known | ROUTING_KEYWORDS


def near_miss(name: str, known: Iterable[str]) -> str | None:
    """The known keyword ``name`` is probably a misspelling of, or ``None``.

    Two edits (insertions, deletions, substitutions, swaps of neighbours) when both names
    have six characters or more, one when the shorter has three to five, none below; letter
    case and ``-``/``_`` do not count.

    Args:
        name: The keyword given.
        known: The keywords known.

    Returns:
        The closest known keyword within reach, or ``None``.
    """
    folded = name.lower().replace("-", "_")
    best: tuple[int, str] | None = None
    for candidate in known:
        if candidate == name:
            return None
        shorter = min(len(folded), len(candidate))
        limit = 2 if shorter >= 6 else 1 if shorter >= 3 else 0
        distance = _distance(folded, candidate.lower(), limit)
        if distance <= limit and (best is None or (distance, candidate) < best):
            best = (distance, candidate)
    return best[1] if best is not None else None


def check_call_keywords(
    owner: str, kwargs: Mapping[str, Any], known: frozenset[str], *, routes: bool = False
) -> None:
    """Refuse a call keyword that is a near miss of a known one (nothing is sent).

    Args:
        owner: Who is being called, for the message (``"ChatOpenAI"``).
        kwargs: The call's keyword arguments.
        known: Every keyword the callee understands (its own and its API's).
        routes: Whether the callee is a router (router keywords are then known).

    Raises:
        UnknownKeywordError: For a near miss, or a router keyword given to a single model.
    """
    for key in kwargs:
        if key in known or (routes and key in ROUTING_KEYWORDS):
            continue
        if not routes and key in ROUTING_KEYWORDS:
            raise UnknownKeywordError(
                f"{owner} got {key}=..., a router keyword: a single model would send it to the "
                "provider as a request field and apply nothing. Route the call through "
                "polyvox.router.Router, or pass it in config['metadata'] for attribution. "
                "Nothing was sent.",
                keyword=key,
                suggestion=None,
            )
        match = _cached_near_miss(key, _with_routing(known))
        if match is not None:
            raise UnknownKeywordError(
                f"{owner} got an unknown keyword {key!r}: did you mean {match!r}? Nothing was "
                "sent. (A keyword that resembles no known one is passed on to the provider "
                "as it is.)",
                keyword=key,
                suggestion=match,
            )
