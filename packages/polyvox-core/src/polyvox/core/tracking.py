"""Moved to :mod:`polyvox.costs.tracking`; importable here as before.

Its names live in the ``polyvox-costs`` distribution now
(``pip install "polyvox-costs"``). Every public name of :mod:`polyvox.costs.tracking` is
served from this module: the same objects.
"""

from __future__ import annotations

from polyvox.core.lazy import moved_exports

__getattr__, __dir__ = moved_exports(
    __name__, "polyvox.costs.tracking", command='pip install "polyvox-costs"'
)
