"""Language specialists: a model made for one language is not favoured for the others.

Bielik is made for Polish; GigaChat and YandexGPT for Russian. Being local or cheap, such a
model can top a strategy's ranking for any prompt, and a router would then answer an
English question with Bielik. The router therefore tries a *language specialist* after the
other candidates unless the request is in its language: a request whose language is known
(``language=``, or detected with ``detect_language=True``) and is the specialist's keeps
the strategy's order, any other request (an unknown language included) puts the
specialist last. ``language_routes`` then moves the deployment named for the request's
language to the front, as before.

A specialist is a model whose catalog entry documents one language besides English, and
that one first (the catalog's ``languages`` of Bielik are ``pl, en``; DeepSeek's ``en, zh``
make it a general model). Where locality was asked for
(``prefer_local=True`` or the ``local_first`` strategy), it goes last among the local
deployments, not behind the cloud ones.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from polyvox.router.deployment import Deployment

__all__ = ["specialist_languages", "specialists_last"]


@functools.lru_cache(maxsize=256)
def _focus(languages: tuple[str, ...]) -> frozenset[str]:
    # Made for one language: it comes first in the catalog and is the only one besides
    # English (Bielik: pl, en). A model documenting English first (DeepSeek: en, zh) is
    # a general model that also speaks another language.
    others = frozenset(languages) - {"en"}
    if len(others) != 1 or languages[0] == "en":
        return frozenset()
    return others


def specialist_languages(deployment: Deployment) -> frozenset[str]:
    """The language a deployment is made for, or nothing for a general model.

    Args:
        deployment: The deployment (its catalog ``languages`` are read).

    Returns:
        The one documented language besides English when it is listed first (``{"pl"}``
        for Bielik), or an empty set when the model documents none, only English, several,
        or English first.
    """
    return _focus(deployment.languages)


def specialists_last(
    order: Sequence[Deployment], language: str | None, *, by_locality: bool
) -> list[Deployment]:
    """Move the language specialists not made for ``language`` behind the other candidates.

    Args:
        order: The candidates, best first.
        language: The request's language (``None``: not known).
        by_locality: Keep local deployments ahead of cloud ones (the specialist goes last
            within its own group).

    Returns:
        The order, stable within the general models and within the specialists.
    """
    demoted = [d for d in order if (focus := specialist_languages(d)) and language not in focus]
    if not demoted:
        return list(order)
    moved = {id(d) for d in demoted}
    kept = [d for d in order if id(d) not in moved]
    if not by_locality:
        return kept + demoted
    return (
        [d for d in kept if d.local]
        + [d for d in demoted if d.local]
        + [d for d in kept if not d.local]
        + [d for d in demoted if not d.local]
    )
