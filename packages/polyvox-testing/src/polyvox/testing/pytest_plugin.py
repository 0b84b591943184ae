"""pytest plugin (entry point ``polyvox``): the ``emulator`` fixture.

Registered through ``[project.entry-points.pytest11]``, so any test in a project that has
``polyvox-testing`` installed can ask for ``emulator``. The module imports nothing heavy:
the emulator starts on the first test that uses it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from polyvox.testing.emulator.server import Emulator

__all__ = ["emulator"]


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    """The shared emulator, reset before and after the test.

    Yields:
        The running :class:`~polyvox.testing.emulator.server.Emulator`; point a client at
        ``emulator.openai_base_url``.
    """
    from polyvox.testing.emulator.server import shared_emulator

    instance = shared_emulator()
    instance.reset()
    try:
        yield instance
    finally:
        instance.reset()
