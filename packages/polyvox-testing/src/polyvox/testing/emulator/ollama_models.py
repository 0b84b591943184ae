"""The models an emulated Ollama server has pulled, and plausible descriptions of them.

:class:`OllamaModel` describes one pulled model; :func:`describe_model` guesses a
description from a name (``qwen3:8b``, ``SpeakLeash/bielik-11b-v2.3-instruct:Q4_K_M``);
:class:`OllamaModels` is one emulator's pulled set (:func:`models_for` finds it), seeded
with :data:`DEFAULT_MODELS`; it also knows which models are loaded, with the context
window each was loaded with (what ``/api/ps`` reports), and counts the loads.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import threading
import weakref
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass
from typing import Any

from polyvox.testing.emulator.state import EmulatorState

__all__ = [
    "DEFAULT_CONTEXT_LENGTH",
    "DEFAULT_MODELS",
    "MODIFIED_AT",
    "OllamaModel",
    "OllamaModels",
    "describe_model",
    "full_model_name",
    "model_key",
    "models_for",
]

MODIFIED_AT = "2025-09-18T10:24:31.123456+02:00"
"""The ``modified_at`` of every model (as if all were pulled at once)."""

DEFAULT_CONTEXT_LENGTH = 4096
"""The window a model is loaded with when neither the request (``options.num_ctx``) nor
its Modelfile (``PARAMETER num_ctx``) sets one: Ollama's ``OLLAMA_CONTEXT_LENGTH``
default."""

_CHAT = ("completion", "tools")
_EMBED = ("embedding",)
_BYTES_PER_PARAM = {"Q4_0": 0.56, "Q4_K_M": 0.6, "Q5_K_M": 0.71, "Q8_0": 1.07, "F16": 2.0}
_QUANT = re.compile(r"(?:^|-)(q\d\w*|f16|fp16|bf16)$", re.IGNORECASE)
_SIZE_TAG = re.compile(r"^(\d+(?:\.\d+)?)([bm])$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class OllamaModel:
    """One model pulled on the emulated Ollama server."""

    name: str
    """The full name with its tag (``llama3.2:latest``)."""

    family: str = "llama"
    """The architecture (``llama``, ``qwen3``, ``nomic-bert``): ``model_info`` key prefix."""

    context_length: int = 8192
    """The context window, served as ``model_info["<family>.context_length"]``."""

    embedding_length: int = 4096
    """The hidden size; also the ``/api/embed`` vector size."""

    parameter_size: str = "8.0B"
    """As ``details.parameter_size`` shows it."""

    quantization_level: str = "Q4_K_M"
    """As ``details.quantization_level`` shows it."""

    capabilities: tuple[str, ...] = _CHAT
    """``/api/show`` capabilities: ``completion``, ``tools``, ``thinking``, ``embedding``, ..."""

    num_ctx: int | None = None
    """The Modelfile's ``PARAMETER num_ctx`` (in ``/api/show``'s ``parameters``): the window
    the model is loaded with when a request sets none. ``None``: the server's default."""

    def window(self, requested: Any = None) -> int:
        """The context window Ollama would load this model with for a request.

        The request's ``options.num_ctx`` wins over the Modelfile's, which wins over the
        server's default; a window larger than the model was trained for is cut to it.

        Args:
            requested: The request's ``options.num_ctx`` (ignored unless a positive int).

        Returns:
            The window, in tokens.
        """
        if isinstance(requested, int) and not isinstance(requested, bool) and requested > 0:
            window = requested
        else:
            window = self.num_ctx or DEFAULT_CONTEXT_LENGTH
        return min(window, self.context_length)

    @property
    def digest(self) -> str:
        """The manifest digest: 64 hex digits, stable for a name."""
        return hashlib.sha256(self.name.encode()).hexdigest()

    @property
    def parameter_count(self) -> int:
        """The parameter count ``parameter_size`` stands for."""
        match = re.fullmatch(r"([\d.]+)([KMB]?)", self.parameter_size.upper())
        if match is None:
            return 0
        scale = {"": 1, "K": 10**3, "M": 10**6, "B": 10**9}[match.group(2)]
        return int(float(match.group(1)) * scale)

    @property
    def size(self) -> int:
        """The size on disk in bytes, from the parameter count and the quantization."""
        per_param = _BYTES_PER_PARAM.get(self.quantization_level.upper(), 1.0)
        return int(self.parameter_count * per_param)


_CATALOG: tuple[tuple[str, dict[str, Any]], ...] = (
    ("bielik-11b", {"context_length": 32768, "parameter_size": "11.2B"}),
    ("bielik-4.5b", {"family": "qwen2", "context_length": 32768, "parameter_size": "4.8B"}),
    ("bielik-1.5b", {"family": "qwen2", "context_length": 32768, "parameter_size": "1.6B"}),
    ("llama3.2", {"context_length": 131072, "embedding_length": 3072, "parameter_size": "3.2B"}),
    ("llama3.1", {"context_length": 131072}),
    ("llama3.3", {"context_length": 131072, "embedding_length": 8192, "parameter_size": "70.6B"}),
    ("llama3", {}),
    ("qwen3", {"family": "qwen3", "context_length": 40960, "parameter_size": "8.2B"}),
    ("qwen2.5", {"family": "qwen2", "context_length": 32768, "parameter_size": "7.6B"}),
    ("mistral", {"context_length": 32768, "parameter_size": "7.2B"}),
    ("gemma3", {"family": "gemma3", "context_length": 131072, "parameter_size": "4.3B"}),
    ("deepseek-r1", {"family": "qwen2", "context_length": 131072, "parameter_size": "7.6B"}),
    ("nomic-embed-text", {"family": "nomic-bert", "context_length": 2048, "embedding_length": 768}),
    ("mxbai-embed-large", {"family": "bert", "context_length": 512, "embedding_length": 1024}),
    ("all-minilm", {"family": "bert", "context_length": 512, "embedding_length": 384}),
    ("bge-m3", {"family": "bert", "context_length": 8192, "embedding_length": 1024}),
)
_SPECIAL_CAPABILITIES = {
    "qwen3": ("completion", "tools", "thinking"),
    "deepseek-r1": ("completion", "thinking"),
    "gemma3": ("completion", "vision"),
}
_EMBED_SIZES = {"nomic-embed-text": "137M", "mxbai-embed-large": "334M", "all-minilm": "23M"}


def describe_model(name: str) -> OllamaModel:
    """Guess a plausible description of a model from its name (for pulls and defaults).

    Known families (Llama 3.x, Qwen, Mistral, Gemma 3, Bielik, the common embedding
    models) get their real context length and architecture; a size tag (``:8b``) sets
    the parameter size and a quantization tag (``:Q8_0``) the quantization level.

    Args:
        name: The full model name, tag included.

    Returns:
        The description.
    """
    base, _, tag = name.lower().rpartition(":")
    key, fields = next(((k, f) for k, f in _CATALOG if k in base), ("", {}))
    model = OllamaModel(name=name, **fields)
    if model.family in ("bert", "nomic-bert"):
        size = _EMBED_SIZES.get(key, "567M")
        model = dataclasses.replace(
            model, capabilities=_EMBED, parameter_size=size, quantization_level="F16"
        )
    if key in _SPECIAL_CAPABILITIES:
        model = dataclasses.replace(model, capabilities=_SPECIAL_CAPABILITIES[key])
    if size_tag := _SIZE_TAG.match(tag):
        number, unit = float(size_tag.group(1)), size_tag.group(2).upper()
        size = f"{number:.1f}B" if unit == "B" else f"{number:.0f}M"
        if round(model.parameter_count / 10**9) != round(number) or unit == "M":
            model = dataclasses.replace(model, parameter_size=size)
    if quant := _QUANT.search(tag):
        model = dataclasses.replace(model, quantization_level=quant.group(1).upper())
    return model


DEFAULT_MODELS = (
    describe_model("llama3.2:latest"),
    describe_model("qwen3:8b"),
    describe_model("nomic-embed-text:latest"),
    describe_model("SpeakLeash/bielik-11b-v2.3-instruct:Q4_K_M"),
)
"""The models every emulator starts with (and returns to on reset)."""


def model_key(name: str) -> str:
    """Return the lookup key of a model name (lower case, ``:latest`` when untagged).

    Args:
        name: The name.

    Returns:
        The key.
    """
    name = name.strip().removeprefix("registry.ollama.ai/").removeprefix("library/")
    return (name if ":" in name.rpartition("/")[2] else f"{name}:latest").lower()


def full_model_name(name: str) -> str:
    """Return a model name with its tag (``:latest`` when it has none).

    Args:
        name: The name.

    Returns:
        The full name.
    """
    name = name.strip()
    return name if ":" in name.rpartition("/")[2] else f"{name}:latest"


class OllamaModels(MutableMapping[str, OllamaModel]):
    """The models pulled on one emulator (thread-safe): name → :class:`OllamaModel`."""

    def __init__(self) -> None:
        """Start with :data:`DEFAULT_MODELS`."""
        self._lock = threading.Lock()
        self._models: dict[str, OllamaModel] = {}
        self._loaded: dict[str, int] = {}  # key -> the window it was loaded with
        self._loads: dict[str, int] = {}  # key -> how many times it was loaded
        self.reset()

    def reset(self) -> None:
        """Go back to :data:`DEFAULT_MODELS`, none loaded, no loads counted."""
        with self._lock:
            self._models = {model_key(m.name): m for m in DEFAULT_MODELS}
            self._loaded.clear()
            self._loads.clear()

    def __getitem__(self, name: str) -> OllamaModel:
        with self._lock:
            return self._models[model_key(name)]

    def __setitem__(self, name: str, model: OllamaModel) -> None:
        with self._lock:
            self._models[model_key(name)] = dataclasses.replace(model, name=full_model_name(name))

    def __delitem__(self, name: str) -> None:
        with self._lock:
            del self._models[model_key(name)]
            self._loaded.pop(model_key(name), None)

    def __contains__(self, name: object) -> bool:
        with self._lock:
            return isinstance(name, str) and model_key(name) in self._models

    def __iter__(self) -> Iterator[str]:
        with self._lock:
            return iter([m.name for m in self._models.values()])

    def __len__(self) -> int:
        with self._lock:
            return len(self._models)

    def add(
        self,
        name: str,
        *,
        context_length: int | None = None,
        family: str | None = None,
        embedding_length: int | None = None,
        parameter_size: str | None = None,
        quantization_level: str | None = None,
        capabilities: tuple[str, ...] | None = None,
        num_ctx: int | None = None,
    ) -> OllamaModel:
        """Pull a model: add (or replace) it; fields left ``None`` are guessed from the name.

        Args:
            name: The model name (``:latest`` is added when it has no tag).
            context_length: The context window (``/api/show``'s ``<family>.context_length``).
            family: The architecture (``llama``, ``qwen2``, ``qwen3``, ``nomic-bert``, ...).
            embedding_length: The hidden size, also the embedding vector size.
            parameter_size: ``details.parameter_size`` (``"11.2B"``).
            quantization_level: ``details.quantization_level`` (``"Q4_K_M"``).
            capabilities: ``completion``, ``tools``, ``thinking``, ``embedding``, ``vision``.
            num_ctx: The Modelfile's ``PARAMETER num_ctx`` (none by default).

        Returns:
            The model as stored.
        """
        given: dict[str, Any] = {
            "num_ctx": num_ctx,
            "context_length": context_length,
            "family": family,
            "embedding_length": embedding_length,
            "parameter_size": parameter_size,
            "quantization_level": quantization_level,
            "capabilities": capabilities,
        }
        model = dataclasses.replace(
            describe_model(full_model_name(name)),
            **{k: v for k, v in given.items() if v is not None},
        )
        self[name] = model
        return self[name]

    def remove(self, name: str) -> None:
        """Delete a model; nothing happens when it is not there.

        Args:
            name: The model name.
        """
        with self._lock:
            self._models.pop(model_key(name), None)
            self._loaded.pop(model_key(name), None)

    def mark_loaded(self, name: str, loaded: bool = True, *, num_ctx: int | None = None) -> bool:
        """Record that a model was used (or, with ``loaded=False``, unloaded).

        A model not in memory is loaded with the window :meth:`OllamaModel.window` gives
        for ``num_ctx``; one in memory with another window is reloaded (Ollama restarts
        its runner to change the KV cache); one in memory with that window is reused.

        Args:
            name: The model name.
            loaded: Whether it is now in memory.
            num_ctx: The request's ``options.num_ctx`` (``None``: the Modelfile's or the
                server's default).

        Returns:
            Whether the model was loaded or reloaded by this use.
        """
        key = model_key(name)
        with self._lock:
            if not loaded:
                self._loaded.pop(key, None)
                return False
            model = self._models.get(key)
            if model is None:
                return False
            window = model.window(num_ctx)
            if self._loaded.get(key) == window:
                return False
            self._loaded.pop(key, None)
            self._loaded[key] = window
            self._loads[key] = self._loads.get(key, 0) + 1
            return True

    def loaded(self) -> list[OllamaModel]:
        """Return the models in memory (``/api/ps``), least recently loaded first."""
        return [model for model, _ in self.running()]

    def running(self) -> list[tuple[OllamaModel, int]]:
        """Return the models in memory with the window each was loaded with (``/api/ps``).

        Returns:
            ``(model, context length)`` pairs, least recently loaded first.
        """
        with self._lock:
            return [(self._models[k], n) for k, n in self._loaded.items() if k in self._models]

    def loaded_window(self, name: str) -> int | None:
        """Return the window a model is loaded with, or ``None`` when it is not loaded.

        Args:
            name: The model name.
        """
        with self._lock:
            return self._loaded.get(model_key(name))

    def load_count(self, name: str) -> int:
        """Return how many times a model was loaded since the last reset.

        A request with another window than the loaded one counts: it reloads the model.

        Args:
            name: The model name.
        """
        with self._lock:
            return self._loads.get(model_key(name), 0)


_registries: weakref.WeakKeyDictionary[EmulatorState, OllamaModels] = weakref.WeakKeyDictionary()
_registries_lock = threading.Lock()


def models_for(state: EmulatorState) -> OllamaModels:
    """Return the pulled-model set of an emulator's state (made on first use).

    Args:
        state: The emulator's state.

    Returns:
        Its models.
    """
    with _registries_lock:
        models = _registries.get(state)
        if models is None:
            models = _registries[state] = OllamaModels()
        return models
