"""Moved to :mod:`polyvox.cache`; importable here as before.

Its names live in the ``polyvox-cache`` distribution now
(``pip install "polyvox-cache"``). Every public name of :mod:`polyvox.cache` is
served from this module: the same objects.
"""

from __future__ import annotations

from polyvox.core.lazy import moved_exports

__getattr__, __dir__ = moved_exports(
    __name__, "polyvox.cache", command='pip install "polyvox-cache"'
)
