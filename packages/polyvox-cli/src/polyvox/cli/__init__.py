"""polyvox.cli: the ``polyvox`` command (``polyvox demo``, ``polyvox emulate``)."""

from __future__ import annotations

__all__ = ["main"]

__version__ = "0.1.0"
"""This distribution's version (the same in every polyvox package of a release)."""


def main(argv: list[str] | None = None) -> int:
    """Run the ``polyvox`` command.

    Args:
        argv: The arguments (defaults to ``sys.argv[1:]``).

    Returns:
        The exit status.
    """
    from polyvox.cli.main import main as _main

    return _main(argv)
