"""CSV export (and import) of call records.

One column per :class:`~polyvox.costs.ledger.records.CallRecord` field, in field order:
times in ISO 8601 (UTC), costs as exact decimal strings, ``attributes`` as a JSON object,
booleans as ``true``/``false`` and an empty cell for ``None``. :func:`read_csv` reads such
a file back into the same records.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable
from contextlib import ExitStack
from typing import IO, Any

from polyvox.costs.ledger.records import FIELDS, CallRecord, record_from_dict, record_to_dict

__all__ = ["read_csv", "write_csv"]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _open(target: str | os.PathLike[str] | IO[str], mode: str, stack: ExitStack) -> IO[str]:
    if isinstance(target, str | os.PathLike):
        return stack.enter_context(open(target, mode, encoding="utf-8", newline=""))
    return target


def write_csv(records: Iterable[CallRecord], target: str | os.PathLike[str] | IO[str]) -> int:
    """Write records as CSV with a header row.

    Args:
        records: The records.
        target: A path, or a text file opened with ``newline=""``.

    Returns:
        How many records were written.
    """
    count = 0
    with ExitStack() as stack:
        writer = csv.writer(_open(target, "w", stack))
        writer.writerow(FIELDS)
        for record in records:
            data = record_to_dict(record)
            writer.writerow([_cell(data[name]) for name in FIELDS])
            count += 1
    return count


def read_csv(source: str | os.PathLike[str] | IO[str]) -> list[CallRecord]:
    """Read records from a CSV file written by :func:`write_csv`.

    Args:
        source: A path, or a text file opened with ``newline=""``.

    Returns:
        The records (an empty optional text cell reads as ``None``).

    Raises:
        ValueError: A row is missing a column or has an unreadable value.
    """
    with ExitStack() as stack:
        return [record_from_dict(row) for row in csv.DictReader(_open(source, "r", stack))]
