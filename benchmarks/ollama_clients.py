"""The three Ollama clients compared, built the same way against one server.

* ``ollama SDK`` (the baseline): ``ollama.Client`` / ``ollama.AsyncClient`` called directly;
* ``polyvox``: ``polyvox.ollama.ChatOllama``;
* ``langchain-ollama``: ``langchain_ollama.ChatOllama``, the package polyvox replaces.

All three send the same ``options.num_ctx``: polyvox asks ``/api/show`` (and ``/api/ps``)
once per process and sends a window sized to the request (8,192 for these short prompts),
so the baseline and langchain-ollama are given that window explicitly and the server does
the same work for each. Each has its own HTTP connection pool (keep-alive); polyvox has no
retries (the others have none to switch off).
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "CLIENTS",
    "LANGCHAIN",
    "MODEL",
    "NUM_CTX",
    "OPTIONS",
    "POLYVOX",
    "RAW",
    "check_wire",
    "clear_log",
    "langchain_model",
    "polyvox_model",
    "raw_async_client",
    "raw_client",
    "sent_chats",
]

MODEL = "llama3.2"
NUM_CTX = 8192
"""The window polyvox sizes these short prompts to (its first step, well within llama3.2's
131,072): what polyvox sends (checked on the wire before timing, see :func:`check_wire`)."""
OPTIONS = {"num_ctx": NUM_CTX}
"""The raw SDK's ``options``."""

RAW = "ollama SDK (baseline)"
POLYVOX = "polyvox"
LANGCHAIN = "langchain-ollama"
CLIENTS = (RAW, POLYVOX, LANGCHAIN)


def raw_client(host: str) -> Any:
    import ollama

    return ollama.Client(host=host)


def raw_async_client(host: str) -> Any:
    import ollama

    return ollama.AsyncClient(host=host)


def polyvox_model(host: str) -> Any:
    from polyvox.ollama import ChatOllama

    return ChatOllama(model=MODEL, base_url=host, max_retries=0)


def langchain_model(host: str) -> Any:
    from langchain_ollama import ChatOllama

    return ChatOllama(model=MODEL, base_url=host, num_ctx=NUM_CTX)


def clear_log(host: str) -> None:
    """Empty the emulator's request log before a probe (``POST /_emulator/reset``).

    This resets the whole emulator (scripted replies, faults and models back to their
    defaults too); the benchmarks use none of those.
    """
    request = urllib.request.Request(f"{host}/_emulator/reset", data=b"{}", method="POST")
    with urllib.request.urlopen(request, timeout=10):
        pass


def sent_chats(host: str) -> list[dict[str, Any]]:
    """The ``/api/chat`` bodies the emulator received since :func:`clear_log`, oldest first."""
    with urllib.request.urlopen(f"{host}/_emulator/requests", timeout=10) as response:
        log = json.loads(response.read())
    return [r["json"] for r in log if r["path"] == "/api/chat"]


def check_wire(host: str, clients: Sequence[str], stream: Mapping[str, bool]) -> None:
    """Check what the probe sent: one ``/api/chat`` per client, all with :data:`OPTIONS`.

    Args:
        host: The emulator.
        clients: The clients the probe called, in its order (one request each).
        stream: Client name → the ``stream`` flag it is expected to send.

    Raises:
        RuntimeError: When a client sent other options (the server would do other work)
            or another ``stream`` flag than expected.
    """
    bodies = sent_chats(host)
    if len(bodies) != len(clients):
        raise RuntimeError(f"expected {len(clients)} /api/chat requests, got {len(bodies)}")
    for name, body in zip(clients, bodies, strict=True):
        if body.get("options") != OPTIONS:
            raise RuntimeError(f"{name} sent options {body.get('options')}, not {OPTIONS}")
        if body.get("stream") is not stream[name]:
            raise RuntimeError(f"{name} sent stream={body.get('stream')}, not {stream[name]}")
