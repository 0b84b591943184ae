"""The three GigaChat clients compared, built the same way against one server.

* ``gigachat SDK`` (the baseline): ``gigachat.GigaChat`` (``chat``/``stream`` and
  ``achat``) called directly;
* ``polyvox``: ``polyvox.gigachat.GigaChat``;
* ``langchain-gigachat``: ``langchain_gigachat.GigaChat``, the package polyvox replaces.

Each has its own SDK client and so its own connection pool (keep-alive) and OAuth token;
all three exchange the same authorization key for a token once, at the first call (the
warm-up), and reuse it. polyvox has no retries (``max_retries=0``); the SDK's own retries
act only on a failure, which these runs have none of. The emulator is plain HTTP on
loopback, so no TLS handshake is in any figure.
"""

from __future__ import annotations

import base64
from typing import Any

__all__ = [
    "CLIENTS",
    "CREDENTIALS",
    "LANGCHAIN",
    "MODEL",
    "POLYVOX",
    "RAW",
    "auth_url",
    "base_url",
    "langchain_model",
    "polyvox_model",
    "raw_client",
]

MODEL = "GigaChat-2"
CREDENTIALS = base64.b64encode(b"bench-client:bench-secret").decode()
"""An authorization key (base64 ``client_id:client_secret``); the emulator takes any."""

RAW = "gigachat SDK (baseline)"
POLYVOX = "polyvox"
LANGCHAIN = "langchain-gigachat"
CLIENTS = (RAW, POLYVOX, LANGCHAIN)


def base_url(root: str) -> str:
    """The emulator's GigaChat API root (``{root}/api/v1``)."""
    return f"{root}/api/v1"


def auth_url(root: str) -> str:
    """The emulator's OAuth endpoint (``{root}/api/v2/oauth``)."""
    return f"{root}/api/v2/oauth"


def _connection(root: str) -> dict[str, Any]:
    return {"credentials": CREDENTIALS, "base_url": base_url(root), "auth_url": auth_url(root)}


def raw_client(root: str) -> Any:
    """A ``gigachat.GigaChat`` for the emulator at ``root`` (sync and async methods)."""
    from gigachat import GigaChat

    return GigaChat(model=MODEL, **_connection(root))


def polyvox_model(root: str) -> Any:
    """polyvox's chat model for the emulator at ``root``."""
    from polyvox.gigachat import GigaChat

    return GigaChat(model=MODEL, max_retries=0, **_connection(root))


def langchain_model(root: str, **fields: Any) -> Any:
    """langchain-gigachat's chat model for the emulator at ``root`` (``fields`` added)."""
    from langchain_gigachat import GigaChat

    return GigaChat(model=MODEL, **_connection(root), **fields)
