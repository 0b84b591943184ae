"""Moved to :mod:`polyvox.language.detection`; importable here as before.

Its names live in the ``polyvox-language`` distribution now
(``pip install "polyvox-language"``). Every public name of :mod:`polyvox.language.detection` is
served from this module: the same objects.
"""

from __future__ import annotations

from polyvox.core.lazy import moved_exports

__getattr__, __dir__ = moved_exports(
    __name__, "polyvox.language.detection", command='pip install "polyvox-language"'
)
