"""llama.cpp two ways: a running ``llama-server`` (``base_url``) or a GGUF in this process.

:class:`LlamaCppLocal` adds the in-process settings to ``ChatLlamaCpp`` and
:class:`LlamaCppEmbeddings`: given ``model_path``, the model's ``openai`` clients talk to a
:class:`~polyvox.openai.llamacpp_local.LoadedModel` through the in-process transports
(:mod:`polyvox.openai.inprocess`) instead of a socket, and everything else (messages, tools,
structured output, streams, usage, errors) is the OpenAI-compatible code both ways share.
The in-process way needs the ``llamacpp`` extra (``pip install "polyvox-openai[llamacpp]"``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Self, cast

from pydantic import BaseModel, Field, PrivateAttr, model_validator

from polyvox.core.lifecycle import ClientsMixin
from polyvox.openai._sdk import sdk
from polyvox.openai.embeddings import OpenAIEmbeddings
from polyvox.openai.llamacpp_local import LlamaCppSettings, LoadedModel, check_gguf

if TYPE_CHECKING:
    import openai

__all__ = ["LlamaCppEmbeddings", "LlamaCppLocal"]


class LlamaCppLocal(BaseModel):
    """The in-process settings of the llama.cpp classes (used when ``model_path`` is set).

    Instances with the same file and settings share one loaded model, loaded on the first
    call; ``close()`` on the last of them unloads it.
    """

    embedding_server: ClassVar[bool] = False
    """Whether the loaded model computes embeddings (the embeddings class sets it)."""

    client_attributes: ClassVar[tuple[str, ...]] = (
        *ClientsMixin.client_attributes,
        "_local",
    )

    model_path: str | None = None
    """A GGUF file to run in this process; ``None`` talks to ``llama-server`` at ``base_url``."""

    n_ctx: int = Field(default=4096, ge=0)
    """Context size in tokens (shared by the ``n_parallel`` slots); 0 takes the model's own."""

    n_gpu_layers: int | None = None
    """Layers offloaded to the GPU (GPU builds of xllamacpp); 0 keeps everything on the CPU,
    ``None`` leaves llama.cpp's default (as many as fit)."""

    n_threads: int | None = Field(default=None, gt=0)
    """CPU threads for generation and prompt processing; ``None`` lets llama.cpp choose."""

    n_parallel: int = Field(default=1, gt=0)
    """Requests decoded at once; more wait their turn."""

    chat_template: str | None = None
    """A Jinja chat template instead of the GGUF's own (``None``: the GGUF's)."""

    verbose: bool = False
    """Let llama.cpp log at info level (it prints only errors otherwise)."""

    _local: Any = PrivateAttr(default=None)  # the LoadedModel this instance holds a lease on

    if TYPE_CHECKING:  # the concrete classes' fields (defaults: so none reads as required)
        model: str = "local"
        base_url: str | None = None
        _client: Any
        _async_client: Any

        def _lease_client(self, key: Any, build: Any) -> Any: ...

    @model_validator(mode="before")
    @classmethod
    def _one_way(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("model_path") and data.get("base_url"):
            msg = (
                f"{cls.__name__} got both model_path (a GGUF run in this process) and base_url "
                "(a running llama-server): pass one of them"
            )
            raise ValueError(msg)
        return data

    @model_validator(mode="after")
    def _in_process(self) -> Self:
        if self.model_path is None:
            return self
        self.model_path = str(check_gguf(self.model_path))
        self.base_url = None  # no endpoint: the router counts it local
        if self.model == "local":
            self.model = Path(self.model_path).stem
        return self

    @property
    def in_process(self) -> bool:
        """Whether this model runs a GGUF in this process (``model_path`` is set)."""
        return self.model_path is not None

    def local_settings(self) -> LlamaCppSettings:
        """The settings the GGUF is loaded with (equal ones share a loaded model).

        Raises:
            ValueError: The model talks to a server (no ``model_path``).
        """
        if self.model_path is None:
            msg = f"this {type(self).__name__} talks to {self.base_url}; it has no model_path"
            raise ValueError(msg)
        return LlamaCppSettings(
            model_path=self.model_path,
            n_ctx=self.n_ctx,
            n_gpu_layers=self.n_gpu_layers,
            n_threads=self.n_threads,
            n_parallel=self.n_parallel,
            embedding=type(self).embedding_server,
            chat_template=self.chat_template,
            alias=self.model,
            verbose=self.verbose,
        )

    @property
    def loaded_model(self) -> LoadedModel:
        """This instance's share of the loaded model (not loaded before the first call).

        Raises:
            ModelClosedError: The model was closed.
            ValueError: The model talks to a server (no ``model_path``).
        """
        if self._local is None:
            settings = self.local_settings()
            self._local = self._lease_client(("xllamacpp", settings), lambda: LoadedModel(settings))
        return cast("LoadedModel", self._local)

    @property
    def client(self) -> openai.OpenAI:
        """The ``openai.OpenAI`` client: in process with ``model_path``, else llama-server's.

        Raises:
            ModelClosedError: The model was closed.
        """
        if not self.in_process:
            return cast("openai.OpenAI", super().client)  # type: ignore[misc]
        if self._client is None:
            import httpx2

            from polyvox.openai.inprocess import IN_PROCESS_URL, InProcessTransport

            transport = InProcessTransport(self.loaded_model)
            self._client = sdk().OpenAI(
                api_key="in-process",
                base_url=IN_PROCESS_URL,
                max_retries=0,  # nothing transient to retry: no network, no server to restart
                http_client=httpx2.Client(transport=transport, timeout=None),
            )
        return cast("openai.OpenAI", self._client)

    @property
    def async_client(self) -> openai.AsyncOpenAI:
        """The ``openai.AsyncOpenAI`` client: in process with ``model_path``, else per loop.

        In process one client serves every event loop: its transport has no connection
        pool, and it posts each answer to the loop that asked.

        Raises:
            ModelClosedError: The model was closed.
        """
        if not self.in_process:
            return cast("openai.AsyncOpenAI", super().async_client)  # type: ignore[misc]
        if self._async_client is None:
            import httpx2

            from polyvox.openai.inprocess import IN_PROCESS_URL, AsyncInProcessTransport

            transport = AsyncInProcessTransport(self.loaded_model)
            self._async_client = sdk().AsyncOpenAI(
                api_key="in-process",
                base_url=IN_PROCESS_URL,
                max_retries=0,
                http_client=httpx2.AsyncClient(transport=transport, timeout=None),
            )
        return cast("openai.AsyncOpenAI", self._async_client)


class LlamaCppEmbeddings(LlamaCppLocal, OpenAIEmbeddings):
    """Embeddings from llama.cpp: a GGUF in process, or ``llama-server --embeddings``.

    In process (``model_path``), the model is loaded with embeddings on (mean pooling),
    separately from a chat model on the same file. Against a server, start it with
    ``llama-server -m model.gguf --embeddings --pooling mean``.

    Example:
        .. code-block:: python

            from polyvox.openai import LlamaCppEmbeddings

            emb = LlamaCppEmbeddings(model_path="models/nomic-embed-text-v1.5.Q4_K_M.gguf")
            vector = emb.embed_query("hello")
    """

    provider: ClassVar[str] = "llamacpp"
    api_key_env: ClassVar[str | None] = "LLAMACPP_API_KEY"
    base_url_env: ClassVar[str | None] = "LLAMACPP_BASE_URL"
    default_base_url: ClassVar[str | None] = "http://127.0.0.1:8080/v1"
    requires_api_key: ClassVar[bool] = False
    is_local: ClassVar[bool] = True
    embedding_server: ClassVar[bool] = True

    model: str = "local"
    """The model name (the server embeds with the one model it has)."""
