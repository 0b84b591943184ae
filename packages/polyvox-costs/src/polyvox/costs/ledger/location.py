r"""Where the ledger lives when nobody says: the URL and the spill file.

Resolution order for the database: the ``url`` argument, then the ``POLYVOX_LEDGER_URL``
environment variable, then a SQLite file in the user's data directory:

* Linux and other Unix: ``$XDG_DATA_HOME/polyvox/ledger.sqlite3``, or
  ``~/.local/share/polyvox/ledger.sqlite3`` when ``XDG_DATA_HOME`` is unset;
* macOS: ``~/.local/share/polyvox/ledger.sqlite3`` (``$XDG_DATA_HOME`` is honoured too);
* Windows: ``%LOCALAPPDATA%\\polyvox\\ledger.sqlite3``.

``POLYVOX_DATA_DIR`` replaces the ``polyvox`` folder itself on every platform. Records the
database could not take are spilled to a JSON-lines file in the same folder (a SQLite
ledger's spill file sits beside its database file).
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
from pathlib import Path

__all__ = [
    "DEFAULT_FILENAME",
    "URL_ENV",
    "data_dir",
    "default_spill_path",
    "default_url",
    "mask_url",
    "resolve_url",
]

URL_ENV = "POLYVOX_LEDGER_URL"
"""The environment variable that names the ledger database."""

DATA_DIR_ENV = "POLYVOX_DATA_DIR"
"""The environment variable that replaces polyvox's data folder."""

DEFAULT_FILENAME = "ledger.sqlite3"
"""The default SQLite file's name."""


def data_dir() -> Path:
    """The per-user data folder of polyvox (not created here).

    Returns:
        ``$POLYVOX_DATA_DIR``, else the platform's user data folder plus ``polyvox``.
    """
    if explicit := os.environ.get(DATA_DIR_ENV):
        return Path(explicit).expanduser()
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "polyvox"
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base).expanduser() / "polyvox"


def default_url() -> str:
    """The SQLite URL of the default ledger file."""
    return "sqlite:///" + (data_dir() / DEFAULT_FILENAME).as_posix()


def resolve_url(url: str | None) -> str:
    """The ledger URL to use.

    Args:
        url: An explicit URL, or ``None``.

    Returns:
        ``url``, else ``$POLYVOX_LEDGER_URL``, else :func:`default_url`.
    """
    return url or os.environ.get(URL_ENV) or default_url()


_PASSWORD = re.compile(r"^(?P<head>[^:/?#]+://[^:/@?#]*:)(?P<secret>[^@/?#]*)@")


def mask_url(url: str) -> str:
    """The URL with its password replaced by ``***`` (for messages and logs).

    Args:
        url: A database URL.

    Returns:
        The URL, safe to show.
    """
    url = re.sub(r"(?i)(password=)[^&]*", r"\1***", url)
    return _PASSWORD.sub(lambda m: f"{m['head']}***@", url)


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL (``None`` for other databases and memory)."""
    match = re.match(r"^sqlite(?:\+\w+)?:///(?P<path>[^?]*)", url)
    if not match or match["path"] in ("", ":memory:") or match["path"].startswith("file:"):
        return None
    return Path(match["path"])


def default_spill_path(url: str, schema: str | None = None) -> Path:
    """Where a ledger spills the records its database could not take.

    Args:
        url: The ledger URL.
        schema: The database schema the ledger writes to, if any.

    Returns:
        ``<db file>-spill.jsonl`` beside a SQLite file; otherwise
        ``<data dir>/ledger-spill-<hash of URL and schema>.jsonl``, so two databases never
        share a spill file.
    """
    db_file = sqlite_file(url)
    if db_file is not None:
        return db_file.with_name(db_file.name + "-spill.jsonl")
    digest = hashlib.blake2b(f"{mask_url(url)}|{schema or ''}".encode(), digest_size=4)
    return data_dir() / f"ledger-spill-{digest.hexdigest()}.jsonl"
