"""The model's own tokenizer: ``tiktoken`` for OpenAI models, ``/tokenize`` for servers.

OpenAI publishes its models' encodings (``o200k_base``, ``cl100k_base``) through
``tiktoken``, an optional dependency (``pip install "polyvox-openai[tiktoken]"``) imported on
the first count, never at import. ``tiktoken`` downloads an encoding on its first use and
caches it (in the folder ``TIKTOKEN_CACHE_DIR`` names, else a temporary one); offline, an
encoding not in that folder cannot be had. Either way the count falls back to the estimate
of :mod:`polyvox.core.token_counting` with a warning once, never an ``ImportError``; a
failed load is not retried in the same process.

Both servers tokenize at ``POST /tokenize`` under the server root (not under ``/v1``):
llama.cpp takes ``{"content", "add_special"}`` and vLLM ``{"model", "prompt",
"add_special_tokens"}``; both answer ``{"tokens": [...]}``. The count is then the served
model's own. A server without the endpoint (404: another OpenAI-compatible server behind
``ChatVLLM``, say) is remembered, and counts for it are estimated, with a warning once.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal

from polyvox.core.token_counting import EstimateCounter, TokenCounter
from polyvox.openai._sdk import sdk

if TYPE_CHECKING:
    import openai
    import tiktoken

__all__ = ["ServerTokenCounter", "TiktokenCounter", "server_root", "tiktoken_counter"]


class TiktokenCounter(TokenCounter):
    """Exact counts with a ``tiktoken`` encoding (special-token text counts as plain text)."""

    exact = True

    def __init__(self, encoding: tiktoken.Encoding) -> None:
        """Count with ``encoding``.

        Args:
            encoding: A loaded ``tiktoken`` encoding.
        """
        self.encoding = encoding
        """The encoding."""

    def encode(self, text: str) -> list[int]:
        """The token ids of ``text``.

        Args:
            text: The text.

        Returns:
            The ids.
        """
        return self.encoding.encode_ordinary(text)

    def count(self, texts: Sequence[str]) -> int:
        """The tokens of ``texts``.

        Args:
            texts: The texts.

        Returns:
            The total.
        """
        encode = self.encoding.encode_ordinary
        return sum(len(encode(t)) for t in texts if t)


_NOT_INSTALLED = "tiktoken is not installed (install polyvox-openai[tiktoken] for exact counts)"


@functools.cache
def _encoding(name: str) -> tiktoken.Encoding | str:
    """The loaded encoding, or why it could not be had (looked up once per process)."""
    import tiktoken

    try:
        return tiktoken.get_encoding(name)
    except Exception as exc:  # offline: requests' connection error; a bad cache: ValueError
        return (
            f"tiktoken could not load the {name} encoding ({type(exc).__name__}; it downloads "
            "the encoding on first use: offline, put the file in the folder TIKTOKEN_CACHE_DIR "
            "names)"
        )


@functools.lru_cache(maxsize=256)
def _encoding_name(model: str) -> str | None:
    import tiktoken

    try:
        return tiktoken.encoding_name_for_model(model)
    except KeyError:
        return None


@functools.cache
def _has_tiktoken() -> bool:
    try:
        import tiktoken  # noqa: F401
    except ImportError:
        return False
    return True


def tiktoken_counter(model: str, *, default_encoding: str | None = None) -> TokenCounter:
    """A counter for an OpenAI model: its ``tiktoken`` encoding, else the estimate.

    ``tiktoken`` is imported on the first count, never at import. An encoding that cannot
    be loaded (offline without the cached file) is tried once per process; the estimate
    then applies, with a warning once, as it does without ``tiktoken``.

    Args:
        model: The model id (``"gpt-4o"``).
        default_encoding: The encoding for a model ``tiktoken`` does not know (``None``:
            estimate for it).

    Returns:
        The counter.
    """
    if not _has_tiktoken():
        return EstimateCounter(_NOT_INSTALLED)
    name = _encoding_name(model) or default_encoding
    if name is None:
        return EstimateCounter(f"tiktoken knows no encoding for the model {model!r}")
    loaded = _encoding(name)
    if isinstance(loaded, str):
        return EstimateCounter(loaded)
    return TiktokenCounter(loaded)


_missing: set[str] = set()
"""Server roots that answered 404 to ``/tokenize``."""
_missing_lock = threading.Lock()


def server_root(base_url: str) -> str:
    """The server root of an OpenAI-style base URL (``http://host:8080/v1`` → ``http://host:8080``).

    Args:
        base_url: The base URL.

    Returns:
        The root, without a trailing slash.
    """
    root = base_url.rstrip("/")
    return root.removesuffix("/v1")


class ServerTokenCounter(TokenCounter):
    """Tokenizes with the server (one request per :meth:`encode` or :meth:`count`)."""

    exact = True

    def __init__(
        self,
        *,
        client: Callable[[], openai.OpenAI],
        base_url: str,
        model: str,
        fail: Callable[[openai.OpenAIError], Exception],
        style: Literal["llamacpp", "vllm"],
    ) -> None:
        """Tokenize with a model's server.

        Args:
            client: The model's SDK client (asked for on each request).
            base_url: The model's base URL (``.../v1``).
            model: The model id (vLLM's request names it).
            fail: Maps an SDK error to the model's error class.
            style: Whose request form to send.
        """
        self.client = client
        """The model's SDK client."""
        self.model = model
        """The model id."""
        self.fail = fail
        """Maps an SDK error to the model's error class."""
        self.style = style
        """Whose request form is sent."""
        self.url = f"{server_root(base_url)}/tokenize"
        """The endpoint."""

    def _body(self, text: str) -> dict[str, Any]:
        if self.style == "llamacpp":
            return {"content": text, "add_special": False}
        return {"model": self.model, "prompt": text, "add_special_tokens": False}

    def encode(self, text: str) -> list[int] | None:
        """The server's token ids for ``text`` (``None`` when it has no ``/tokenize``).

        Args:
            text: The text.

        Returns:
            The ids, or ``None``.

        Raises:
            Exception: The model's mapped provider error when the request fails otherwise
                (connection refused, 5xx, ...).
        """
        if self.url in _missing:
            return None
        openai = sdk()
        try:
            data = self.client().post(self.url, cast_to=object, body=self._body(text))
        except openai.NotFoundError:
            with _missing_lock:
                _missing.add(self.url)
            return None
        except openai.OpenAIError as exc:
            raise self.fail(exc) from exc
        tokens = data.get("tokens") if isinstance(data, dict) else None
        if not isinstance(tokens, list):
            return None
        # llama.cpp's with_pieces form gives {"id", "piece"} objects
        return [int(t["id"]) if isinstance(t, dict) else int(t) for t in tokens]

    def count(self, texts: Sequence[str]) -> int:
        """The tokens of ``texts``, tokenized together in one request (joined by newlines).

        Args:
            texts: The texts.

        Returns:
            The server's count, or the estimate when it has no ``/tokenize``.
        """
        texts = [t for t in texts if t]
        if not texts:
            return 0
        ids = self.encode("\n".join(texts))
        if ids is None:
            reason = f"the server at {self.url.removesuffix('/tokenize')} has no /tokenize"
            return EstimateCounter(reason).count(texts)
        return len(ids)
