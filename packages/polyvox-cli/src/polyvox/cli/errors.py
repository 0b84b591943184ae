"""How the ``polyvox`` command reports what went wrong: a line or two, never a traceback.

A problem the user can fix (a server that does not answer, a port that is taken, an extra
that is not installed) is raised as :class:`CommandError` with what was wrong and what to
do; :func:`polyvox.cli.main.main` prints it on standard error and exits with its status.
``--debug`` (or ``POLYVOX_DEBUG=1``) adds the traceback, for bug reports.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import TextIO
from urllib.parse import urlsplit

__all__ = [
    "EXIT_BROKEN_PIPE",
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_USAGE",
    "CommandError",
    "debug_requested",
    "print_error",
    "require_extra",
    "url_problem",
]

EXIT_ERROR = 1
"""The exit status of a runtime error (the server is down, the file is missing...)."""

EXIT_USAGE = 2
"""The exit status of a malformed command line (argparse's own)."""

EXIT_INTERRUPTED = 130
"""The exit status after Ctrl-C (128 + SIGINT, as shells report it)."""

EXIT_BROKEN_PIPE = 128 + 13
"""The exit status when the reader closed the pipe (128 + SIGPIPE, as shells report it)."""

_TRUE = frozenset({"1", "true", "yes", "on"})


class CommandError(Exception):
    """A problem the user can fix; the command prints it and exits with :attr:`status`."""

    def __init__(self, message: str, *, hint: str | None = None, status: int = EXIT_ERROR):
        """Describe the problem.

        Args:
            message: What was wrong, in one line.
            hint: What to do about it, in one line (printed under the message).
            status: The exit status (1 for runtime errors, 2 for usage errors).
        """
        super().__init__(message)
        self.message = message
        """What was wrong."""
        self.hint = hint
        """What to do about it, if there is something to say."""
        self.status = status
        """The exit status."""


def debug_requested(flag: bool = False) -> bool:
    """Whether to show tracebacks: ``--debug`` given, or ``POLYVOX_DEBUG`` set to 1/true/yes.

    Args:
        flag: Whether ``--debug`` was given.

    Returns:
        True to show tracebacks.
    """
    return flag or os.environ.get("POLYVOX_DEBUG", "").strip().lower() in _TRUE


def print_error(message: str, hint: str | None = None, err: TextIO | None = None) -> None:
    """Print ``error: MESSAGE`` and, under it, the hint, on standard error.

    Args:
        message: What was wrong.
        hint: What to do about it.
        err: Where to print (default: standard error).
    """
    err = err or sys.stderr
    print(f"error: {message}", file=err)
    if hint:
        print(f"  {hint}", file=err)
    err.flush()


def require_extra(module: str, extra: str, what: str, *, needs: str | None = None) -> None:
    """Import ``module``, or raise a :class:`CommandError` naming the extra that brings it.

    Args:
        module: The module the command needs (``"matplotlib"``).
        extra: The ``polyvox-cli`` extra that installs it (``"plot"``).
        what: The command that needs it (``"polyvox costs plot"``).
        needs: What to call the missing part in the message (default: the module's name).

    Raises:
        CommandError: When the module is not installed.
    """
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as exc:
        missing = needs or exc.name or module  # the module itself, or a dependency of it
        raise CommandError(
            f"{what} needs {missing}, not installed: it comes with the {extra!r} extra of "
            "polyvox-cli",
            hint=f'install it with: pip install "polyvox-cli[{extra}]"',
        ) from exc


def url_problem(
    url: str, *, shown: str | None = None, example: str = "http://127.0.0.1:8765/v1"
) -> str | None:
    """What is wrong with a server URL given on the command line, if anything.

    Args:
        url: The URL (``http://127.0.0.1:8765/v1``).
        shown: The text to quote in the reason (default: ``url``).
        example: A good value, named in the reason.

    Returns:
        ``None`` for an http(s) URL with a host and a valid port; otherwise the reason.
    """
    quoted = repr(url if shown is None else shown)
    example = f"e.g. {example}"
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError when out of range or not a number
    except ValueError as exc:
        return f"{quoted} is not a valid URL ({exc}); {example}"
    if parts.scheme not in ("http", "https"):
        return f"{quoted} is not an http:// or https:// URL; {example}"
    if not parts.hostname:
        return f"{quoted} names no host; {example}"
    if port == 0:
        return f"{quoted} has port 0, which no server listens on; {example}"
    return None
