"""Moved to :mod:`polyvox.language.translation`; importable here as before.

Its names live in the ``polyvox-language`` distribution now
(``pip install "polyvox-language"``). Every public name of :mod:`polyvox.language.translation` is
served from this module: the same objects.
"""

from __future__ import annotations

from polyvox.core.lazy import moved_exports

__getattr__, __dir__ = moved_exports(
    __name__, "polyvox.language.translation", command='pip install "polyvox-language"'
)
