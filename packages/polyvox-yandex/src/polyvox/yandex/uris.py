"""Model URIs from the short names users write.

Yandex AI Studio names a model by a URI: ``gpt://<folder>/<model>/<branch>`` for text
generation, ``emb://<folder>/<model>/<branch>`` for embeddings, where the branch is
``latest``, ``rc`` or ``deprecated``. Users write ``yandexgpt``, ``yandexgpt-lite/rc`` or the
whole URI; these functions make the URI and, back from it, the short name that the model
facts and the price catalog know (``yandexgpt`` for ``.../latest``, ``yandexgpt/rc``).
"""

from __future__ import annotations

__all__ = ["BRANCHES", "model_uri", "short_name"]

BRANCHES = frozenset({"latest", "rc", "deprecated"})
"""The branches AI Studio serves every model under."""


def model_uri(
    model: str, folder_id: str | None, *, scheme: str = "gpt", branch: str = "latest"
) -> str:
    """The full URI of a model.

    Args:
        model: A short name (``yandexgpt``), a name with a branch (``yandexgpt-lite/rc``), a
            name with a version (``yandexgpt/5.1``) or a whole URI (``gpt://b1g.../yandexgpt/latest``).
        folder_id: The Yandex Cloud folder; needed unless ``model`` is a whole URI.
        scheme: ``gpt`` for text generation, ``emb`` for embeddings.
        branch: The branch when ``model`` names none.

    Returns:
        ``scheme://folder/name/branch``, or ``model`` itself when it is already a URI.

    Raises:
        ValueError: ``model`` is a short name and no folder is known.
    """
    if "://" in model:
        return model
    if not folder_id:
        msg = (
            f"the model {model!r} needs a folder id to become {scheme}://<folder>/{model}: pass "
            "folder_id=... or set YC_FOLDER_ID (or give the whole model URI)"
        )
        raise ValueError(msg)
    name = model.strip("/")
    if "/" not in name:
        name = f"{name}/{branch}"
    return f"{scheme}://{folder_id}/{name}"


def short_name(uri: str) -> str:
    """The short name of a model URI, as the model facts and the catalog name it.

    Args:
        uri: A URI (``gpt://folder/yandexgpt/latest``) or a short name.

    Returns:
        ``yandexgpt`` for the ``latest`` branch, ``yandexgpt/rc`` for another; a name that is
        not a URI comes back without a trailing ``/latest``.
    """
    path = uri.split("://", 1)[1].split("/", 1)[1] if "://" in uri and uri.count("/") >= 3 else uri
    path = path.strip("/")
    return path.removesuffix("/latest")
