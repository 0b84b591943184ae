"""The spill file: records the database could not take, kept as JSON lines until replayed.

Appends are one ``write`` per batch in append mode under an exclusive file lock (where
the platform has ``fcntl``), so several processes can spill into one file. Replaying first
renames the file aside, so records spilled meanwhile go to a fresh file and none is
imported twice or lost; the insert is idempotent anyway (records keep their ids).
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING

from polyvox.costs.ledger.records import CallRecord, record_from_dict, record_to_dict

if TYPE_CHECKING:
    from polyvox.costs.ledger.database import Database

__all__ = ["append_spill", "claim_spill", "read_spill", "replay"]

logger = logging.getLogger("polyvox.ledger")

try:  # POSIX only; Windows appends are not interleaved by one process at a time anyway
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


@contextmanager
def _locked(handle: IO[str]) -> Iterator[None]:
    if fcntl is None:  # pragma: no cover - Windows
        yield
        return
    fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def append_spill(path: Path, records: Sequence[CallRecord]) -> None:
    """Append records to a spill file (created with its folder when missing), durably.

    Args:
        path: The JSON-lines file.
        records: The records.

    Raises:
        OSError: The file could not be written.
    """
    if not records:
        return
    text = "".join(
        json.dumps(record_to_dict(r), ensure_ascii=False, default=str) + "\n" for r in records
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle, _locked(handle):
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def claim_spill(path: Path) -> Path | None:
    """Move a spill file aside for replaying (new spills start a new file).

    Args:
        path: The spill file.

    Returns:
        The claimed file, or ``None`` when there is nothing to replay.
    """
    if not path.exists():
        return None
    claimed = path.with_name(f"{path.name}.replaying-{uuid.uuid4().hex[:8]}")
    with path.open("a", encoding="utf-8") as handle, _locked(handle):
        os.replace(path, claimed)  # no spill is half-written while the lock is held
    return claimed


def read_spill(path: Path) -> tuple[list[CallRecord], list[str]]:
    """Read a spill file.

    Args:
        path: The file.

    Returns:
        The records, and the lines that could not be read (a write cut short by a crash).
    """
    records: list[CallRecord] = []
    bad: list[str] = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            try:
                records.append(record_from_dict(json.loads(line)))
            except (ValueError, TypeError):
                bad.append(line)
    return records, bad


def replay(db: Database, source: Path, *, batch: int = 1000) -> int:
    """Import a spill file into a database (idempotently), then remove it.

    Lines that cannot be read are moved to ``<file>.rejected`` (and logged).

    Args:
        db: The ledger database.
        source: The spill file.
        batch: Records per transaction.

    Returns:
        How many records the file held (each is now in the database exactly once).

    Raises:
        LedgerUnavailableError: The database is unavailable; the records are put back.
    """
    from polyvox.costs.ledger.schema import record_to_row

    claimed = claim_spill(source)
    if claimed is None:
        return 0
    records, bad = read_spill(claimed)
    try:
        with db.errors(f"replaying {source}"):
            db.ensure_schema()
            for start in range(0, len(records), batch):
                with db.begin(write=True) as conn:
                    db.insert_calls(
                        conn, [record_to_row(r) for r in records[start : start + batch]]
                    )
    except BaseException:
        append_spill(source, records)  # give them back for the next replay
        claimed.unlink()
        raise
    if bad:
        rejected = source.with_name(source.name + ".rejected")
        with rejected.open("a", encoding="utf-8") as handle:
            handle.writelines(bad)
        logger.error(
            "ledger: %d unreadable lines of %s were moved to %s", len(bad), source, rejected
        )
    claimed.unlink()
    return len(records)
