"""What the Hub says about a model (``get_model_info``), and the models of a task (``list_models``).

Both go through the SDK's ``HfApi`` (``GET /api/models/{id}?expand[]=...`` and
``GET /api/models``). Answers are cached for ``ttl`` seconds per Hub URL and model, so a
model's facts and its inference providers are read once, not on every call. The Hub is
``hub_url``, else ``HF_ENDPOINT``, else ``https://huggingface.co``.

A model the catalog does not know gets its entry's fields from :meth:`HubModelInfo.catalog_fields`
(the context window from the model's config, priced ``None``: Inference Providers bill per
provider, so no price is ever made up, and never 0).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["HubModelInfo", "clear_model_info_cache", "get_model_info", "list_models"]

_EXPAND = [
    "pipeline_tag", "library_name", "gated", "private", "cardData", "downloads", "likes",
    "tags", "config", "inferenceProviderMapping",
]  # fmt: skip
_CONTEXT_KEYS = ("max_position_embeddings", "n_positions", "max_seq_len", "seq_length")
_cache: dict[tuple[str, str], tuple[float, HubModelInfo]] = {}
_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class HubModelInfo:
    """A model as the Hub describes it."""

    model: str
    """The Hub model id."""
    pipeline_tag: str | None = None
    """The task (``text-generation``, ``feature-extraction``...)."""
    library: str | None = None
    """The library its weights are for (``transformers``, ``sentence-transformers``...)."""
    gated: bool | str = False
    """Whether its weights need accepting terms (``"auto"``/``"manual"`` when they do)."""
    private: bool = False
    """Whether the repository is private."""
    license: str | None = None
    """The licence its card declares."""
    downloads: int | None = None
    """Downloads in the last month."""
    likes: int | None = None
    """Likes."""
    context_length: int | None = None
    """The context window its config declares, when it does."""
    inference_providers: dict[str, dict[str, str]] = field(default_factory=dict)
    """Provider → ``{"provider_id", "status", "task"}`` for the providers serving it."""
    tags: tuple[str, ...] = ()
    """Its Hub tags."""

    def catalog_fields(self) -> dict[str, Any]:
        """The fields of a ``polyvox-costs`` catalog entry for this model (priced ``None``).

        ``ModelCatalog.register(ModelEntry(**info.catalog_fields()))`` adds it; no price is
        given, so the catalog reports the cost as unknown, never 0.

        Returns:
            ``provider``, ``model``, ``context_window`` (8192 when the config says nothing),
            ``capabilities`` and ``price`` (``None``).
        """
        chat = self.pipeline_tag in ("text-generation", "image-text-to-text", "conversational")
        embedding = self.pipeline_tag in ("feature-extraction", "sentence-similarity")
        capabilities = ["streaming"] if chat else (["embeddings"] if embedding else [])
        return {
            "provider": "huggingface",
            "model": self.model,
            "context_window": self.context_length or 8192,
            "capabilities": frozenset(capabilities),
            "price": None,
        }


def _hub(hub_url: str | None) -> str:
    return (hub_url or os.environ.get("HF_ENDPOINT") or "https://huggingface.co").rstrip("/")


def _info(raw: Any) -> HubModelInfo:
    config = raw.config if isinstance(getattr(raw, "config", None), dict) else {}
    context = next((config[k] for k in _CONTEXT_KEYS if isinstance(config.get(k), int)), None)
    card = getattr(raw, "card_data", None)
    licence = getattr(card, "license", None) if card is not None else None
    providers = {
        str(m.provider): {
            "provider_id": str(m.provider_id),
            "status": str(m.status),
            "task": str(m.task),
        }
        for m in getattr(raw, "inference_provider_mapping", None) or ()
    }
    return HubModelInfo(
        model=str(raw.id),
        pipeline_tag=getattr(raw, "pipeline_tag", None),
        library=getattr(raw, "library_name", None),
        gated=getattr(raw, "gated", None) or False,
        private=bool(getattr(raw, "private", False)),
        license=licence if isinstance(licence, str) else None,
        downloads=getattr(raw, "downloads", None),
        likes=getattr(raw, "likes", None),
        context_length=context,
        inference_providers=providers,
        tags=tuple(getattr(raw, "tags", None) or ()),
    )


def get_model_info(
    model: str, *, token: str | None = None, hub_url: str | None = None, ttl: float = 600.0
) -> HubModelInfo:
    """What the Hub says about ``model``, cached for ``ttl`` seconds.

    Args:
        model: The Hub model id.
        token: A Hugging Face token (gated and private models); ``HF_TOKEN`` when ``None``.
        hub_url: The Hub (``HF_ENDPOINT`` or ``https://huggingface.co`` by default).
        ttl: Seconds an answer is reused.

    Returns:
        The model's info.

    Raises:
        HuggingFaceNotFoundError: The model does not exist (or is private and the token
            may not see it); also a ``huggingface_hub`` ``RepositoryNotFoundError``.
    """
    hub = _hub(hub_url)
    key = (hub, model)
    now = time.monotonic()
    with _lock:
        cached = _cache.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
    from huggingface_hub import HfApi

    from polyvox.huggingface._sdk import sdk_errors
    from polyvox.huggingface.errors import map_hf_error

    api = HfApi(endpoint=hub, token=token or os.environ.get("HF_TOKEN"))
    try:
        info = _info(api.model_info(model, expand=_EXPAND))  # type: ignore[arg-type]
    except sdk_errors() as exc:
        raise map_hf_error(exc, provider="huggingface", where=hub) from exc
    with _lock:
        _cache[key] = (now + ttl, info)
    return info


def clear_model_info_cache() -> None:
    """Forget every cached :func:`get_model_info` answer."""
    with _lock:
        _cache.clear()


def list_models(
    *,
    task: str | None = None,
    provider: str | None = None,
    search: str | None = None,
    limit: int = 50,
    token: str | None = None,
    hub_url: str | None = None,
) -> list[HubModelInfo]:
    """Models on the Hub for a task, served by an inference provider.

    Args:
        task: The pipeline tag (``"text-generation"``, ``"feature-extraction"``...).
        provider: An inference provider (``"together"``, ``"hf-inference"``, ``"all"``).
        search: Text the model id contains.
        limit: Most models returned.
        token: A Hugging Face token.
        hub_url: The Hub.

    Returns:
        The models, most downloaded first as the Hub orders them.
    """
    from huggingface_hub import HfApi

    from polyvox.huggingface._sdk import sdk_errors
    from polyvox.huggingface.errors import map_hf_error

    hub = _hub(hub_url)
    api = HfApi(endpoint=hub, token=token or os.environ.get("HF_TOKEN"))
    try:
        found = api.list_models(
            pipeline_tag=task,
            inference_provider=provider,  # type: ignore[arg-type]
            search=search,
            limit=limit,
        )
        return [_info(raw) for raw in found]
    except sdk_errors() as exc:
        raise map_hf_error(exc, provider="huggingface", where=hub) from exc
