"""The three Anthropic clients compared, built the same way against one server.

* ``anthropic SDK`` (the baseline): ``anthropic.Anthropic`` / ``anthropic.AsyncAnthropic``
  called directly;
* ``polyvox``: ``polyvox.anthropic.ChatAnthropic``;
* ``langchain-anthropic``: ``langchain_anthropic.ChatAnthropic``, the package polyvox
  replaces.

All three: no retries, the same model, the same ``max_tokens`` (the API requires one; the
chat models would otherwise send their own defaults, which change nothing for the server
but make the requests differ), and their own HTTP connection pool (keep-alive), so none
shares warm connections with another. The SDK takes the emulator's root as its
``base_url`` and adds ``/v1/messages`` itself.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "CLIENTS",
    "KEY",
    "LANGCHAIN",
    "MAX_TOKENS",
    "MODEL",
    "POLYVOX",
    "RAW",
    "langchain_model",
    "polyvox_model",
    "raw_async_client",
    "raw_client",
]

MODEL = "claude-haiku-4-5"
KEY = "sk-ant-benchmark"
MAX_TOKENS = 1024

RAW = "anthropic SDK (baseline)"
POLYVOX = "polyvox"
LANGCHAIN = "langchain-anthropic"
CLIENTS = (RAW, POLYVOX, LANGCHAIN)


def raw_client(base_url: str) -> Any:
    import anthropic

    return anthropic.Anthropic(api_key=KEY, base_url=base_url, max_retries=0)


def raw_async_client(base_url: str) -> Any:
    import anthropic

    return anthropic.AsyncAnthropic(api_key=KEY, base_url=base_url, max_retries=0)


def polyvox_model(base_url: str) -> Any:
    from polyvox.anthropic import ChatAnthropic

    return ChatAnthropic(
        model=MODEL, api_key=KEY, base_url=base_url, max_retries=0, max_tokens=MAX_TOKENS
    )


def langchain_model(base_url: str) -> Any:
    from langchain_anthropic import ChatAnthropic

    return ChatAnthropic(  # type: ignore[call-arg]
        model=MODEL,
        api_key=KEY,
        base_url=base_url,
        max_retries=0,
        max_tokens=MAX_TOKENS,
    )
