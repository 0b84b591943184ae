"""Audit: no field missing or null in a real response ever crashes an OpenAI-format parser.

Every recorded OpenAI-format response (OpenAI, OpenRouter, Ollama, Hugging Face, Yandex;
chat, streamed chat and embeddings) is taken apart one field at a time, recursively: each
key is deleted, then set to ``null``; each list item is removed, then set to ``null``. The
damaged body goes through the parser the real classes use. Whatever the damage, the parser
either copes or raises polyvox's ``ProviderResponseError`` (or, for a stream, the SDK's
error the model maps): never a ``KeyError``, ``TypeError`` or ``AttributeError``.

A stream is damaged one chunk at a time, the other chunks left as they are; of chunks with
the same shape (the same fields, of the same types) only the first is damaged.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import httpx
import openai
import pytest
from langchain_core.messages import AIMessageChunk

from polyvox.core.errors import ProviderResponseError
from polyvox.openai import ChatOpenAI, OpenAIEmbeddings
from polyvox.openai.streaming import ChatStreamReader
from tests.conftest import RECORDED
from tests.openai.conftest import LOCAL_RECORDED

ALLOWED = (ProviderResponseError, openai.APIError)
"""What a parser may raise for a body it cannot use."""

Path = tuple[str | int, ...]
_DELETE = "deleted"
_NULL = "null"


def _openai_format_recordings() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for folder in (RECORDED, LOCAL_RECORDED):  # the repository's copy wins
        for path in sorted(folder.glob("*.json")):
            data = json.loads(path.read_text(encoding="utf-8"))
            protocol, status = data["protocol"], data["response"]["status"]
            if protocol in ("openai-chat", "openai-embeddings") and status == 200:
                found[path.stem] = data
    return found


RECORDINGS = _openai_format_recordings()


def _is_stream(rec: dict[str, Any]) -> bool:
    return "event-stream" in rec["response"]["content_type"]


def _mutations(value: Any, path: Path = ()) -> Iterator[tuple[Path, str]]:
    """Every (path, damage) for the fields under ``value``."""
    items: Any
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return
    for key, child in items:
        here = (*path, key)
        yield here, _DELETE
        if child is not None:
            yield here, _NULL
        yield from _mutations(child, here)


def _damaged(value: Any, path: Path, damage: str) -> Any:
    """A copy of ``value`` with the field at ``path`` deleted or nulled (copying only the path)."""
    key, rest = path[0], path[1:]
    if isinstance(value, dict):
        out: Any = dict(value)
    else:
        out = list(value)
    if rest:
        out[key] = _damaged(value[key], rest, damage)
    elif damage == _DELETE:
        del out[key]
    else:
        out[key] = None
    return out


def _shape(value: Any, path: Path = ()) -> Iterator[tuple[Path, str]]:
    yield path, type(value).__name__
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _shape(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _shape(child, (*path, index))


def _chat(text: str) -> None:
    model = ChatOpenAI(model="m", api_key="sk-test", base_url="http://127.0.0.1:9/v1")
    result = model._result(SimpleNamespace(http_response=SimpleNamespace(text=text)))
    message = result.generations[0].message
    _ = (message.tool_calls, message.invalid_tool_calls, message.text)


def _stream(lines: list[str]) -> None:
    request = httpx.Request("POST", "http://127.0.0.1:9/v1/chat/completions")
    reader = ChatStreamReader(provider="openai", model="m", request=request)
    total: AIMessageChunk | None = None
    chunks = [chunk for line in lines for chunk in reader.feed(line)] + reader.finish()
    for chunk in chunks:
        message = chunk.message
        assert isinstance(message, AIMessageChunk)
        total = message if total is None else total + message
    assert total is not None
    _ = (total.tool_calls, total.invalid_tool_calls, total.usage_metadata, total.text)


def _embeddings(text: str) -> None:
    model = OpenAIEmbeddings(api_key="sk-test", base_url="http://127.0.0.1:9/v1")
    model._vectors(SimpleNamespace(http_response=SimpleNamespace(text=text)))


def _crashes(parse: Callable[[], None], where: str) -> list[str]:
    try:
        parse()
    except ALLOWED:
        return []
    except Exception as exc:  # the audit's whole point: report anything else
        return [f"{where}: {type(exc).__name__}: {exc}"]
    return []


def _audit_body(rec: dict[str, Any]) -> list[str]:
    body = json.loads(rec["response"]["body"])
    parse = _embeddings if rec["protocol"] == "openai-embeddings" else _chat
    failures = _crashes(lambda: parse(rec["response"]["body"]), "as recorded")
    for path, damage in _mutations(body):
        text = json.dumps(_damaged(body, path, damage))
        failures += _crashes(lambda text=text: parse(text), f"{list(path)} {damage}")  # type: ignore[misc]
    return failures


def _audit_stream(rec: dict[str, Any]) -> list[str]:
    lines = rec["response"]["body"].splitlines()
    failures = _crashes(lambda: _stream(lines), "as recorded")
    seen: set[frozenset[tuple[Path, str]]] = set()
    for number, line in enumerate(lines):
        if not line.startswith("data:") or line[5:].strip() == "[DONE]":
            continue
        payload = json.loads(line[5:])
        shape = frozenset(_shape(payload))
        if shape in seen:
            continue
        seen.add(shape)
        for path, damage in _mutations(payload):
            damaged = [*lines]
            damaged[number] = "data: " + json.dumps(_damaged(payload, path, damage))
            where = f"line {number + 1} {list(path)} {damage}"
            failures += _crashes(lambda damaged=damaged: _stream(damaged), where)  # type: ignore[misc]
    return failures


def test_the_audit_sees_every_kind_of_recording() -> None:
    kinds = {(rec["protocol"], _is_stream(rec)) for rec in RECORDINGS.values()}
    assert kinds == {("openai-chat", False), ("openai-chat", True), ("openai-embeddings", False)}
    assert {"openrouter__tool_call_no_arguments", "openai__stream_tool_call"} <= set(RECORDINGS)


@pytest.mark.parametrize("name", sorted(RECORDINGS))
def test_no_missing_or_null_field_crashes_the_parser(name: str) -> None:
    rec = RECORDINGS[name]
    failures = _audit_stream(rec) if _is_stream(rec) else _audit_body(rec)
    assert not failures, f"{len(failures)} crashes:\n" + "\n".join(failures[:40])
