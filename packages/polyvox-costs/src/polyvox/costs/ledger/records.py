"""``CallRecord``: one model call as the ledger stores it, and its plain-data form.

The plain-data form (:func:`record_to_dict` / :func:`record_from_dict`) is what the spill
file (JSON lines) and the CSV export hold: times in ISO 8601, costs as decimal strings so
they come back exactly, attributes as a JSON object.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

__all__ = ["FIELDS", "CallRecord", "new_record_id", "record_from_dict", "record_to_dict"]


def new_record_id() -> str:
    """A fresh record id (uuid4, hex)."""
    return uuid.uuid4().hex


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, kw_only=True, slots=True)
class CallRecord:
    """One model call: who made it, what it used, what it cost and how it went."""

    id: str = field(default_factory=new_record_id)
    """Unique key (uuid4 hex); writing the same id twice keeps one row, so retries are safe."""

    time: datetime = field(default_factory=_now)
    """When the call ended, in UTC (a naive value is taken as UTC)."""

    run_id: str | None = None
    """The LangChain run (or LlamaIndex span) id."""

    parent_run_id: str | None = None
    """The run that made the call."""

    provider: str
    """The provider id (``"openai"``, ``"gigachat"``...)."""

    model: str
    """The model name the provider reported."""

    workspace_id: str | None = None
    """The workspace (tenant, team) the call is for."""

    agent_id: str | None = None
    """The agent that made the call."""

    execution_id: str | None = None
    """One execution (a request, a job, a conversation turn)."""

    attributes: Mapping[str, str] = field(default_factory=dict, hash=False)
    """Other user metadata and ``key:value`` tags (stored as JSON)."""

    input_tokens: int = 0
    """Prompt tokens, cached ones included."""

    cache_read_tokens: int = 0
    """Prompt tokens read from the provider's prompt cache."""

    cache_write_tokens: int = 0
    """Prompt tokens written to the provider's prompt cache."""

    output_tokens: int = 0
    """Completion tokens, reasoning included."""

    reasoning_tokens: int = 0
    """Completion tokens spent on reasoning."""

    cost: Decimal | None = None
    """What the call cost, in ``currency``; ``None`` when the model has no known price."""

    currency: str | None = None
    """ISO 4217 code of ``cost`` (``"USD"``, ``"RUB"``)."""

    provider_cost: Decimal | None = None
    """What the provider itself reported the call cost, in ``provider_currency`` (OpenRouter's
    ``usage.cost``, plus the upstream cost of a BYOK call); ``None`` when it reported none.
    When the catalog has no price for the model, ``cost`` is this amount."""

    provider_currency: str | None = None
    """ISO 4217 code of ``provider_cost``."""

    latency_ms: float | None = None
    """Wall time from start to end, in milliseconds."""

    cache_hit: bool = False
    """Whether a response cache answered instead of the provider."""

    outcome: Literal["ok", "error"] = "ok"
    """Whether the call succeeded."""

    error_type: str | None = None
    """The exception's class name, for failures."""

    def __post_init__(self) -> None:
        if self.time.tzinfo is None:
            object.__setattr__(self, "time", self.time.replace(tzinfo=UTC))
        elif self.time.utcoffset():
            object.__setattr__(self, "time", self.time.astimezone(UTC))
        for name in ("cost", "provider_cost"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Decimal):
                object.__setattr__(self, name, Decimal(str(value)))
        if self.outcome not in ("ok", "error"):
            msg = f"CallRecord.outcome must be 'ok' or 'error', not {self.outcome!r}"
            raise ValueError(msg)


FIELDS: tuple[str, ...] = tuple(f.name for f in fields(CallRecord))
"""The record's field names, in order (the CSV header and the table's columns)."""

_INTS = frozenset(
    {"input_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens", "reasoning_tokens"}
)
_OPTIONAL_TEXT = frozenset(
    {"run_id", "parent_run_id", "workspace_id", "agent_id", "execution_id", "currency"}
    | {"provider_currency", "error_type"}
)
_DECIMALS = frozenset({"cost", "provider_cost"})
_ADDED_LATER = frozenset({"provider_cost", "provider_currency"})
"""Optional fields newer than some spill files and CSV exports: absent means ``None``."""


def record_to_dict(record: CallRecord) -> dict[str, Any]:
    """The record as JSON-ready plain data.

    Args:
        record: The record.

    Returns:
        A dict with one key per field: ``time`` in ISO 8601, costs as decimal strings.
    """
    data = {name: getattr(record, name) for name in FIELDS}
    data["time"] = record.time.isoformat()
    for name in _DECIMALS:
        value = data[name]
        data[name] = None if value is None else format(value, "f")
    data["attributes"] = dict(record.attributes)
    return data


def record_from_dict(data: Mapping[str, Any]) -> CallRecord:
    """Rebuild a record from :func:`record_to_dict` output, or from a CSV row of strings.

    Args:
        data: The plain data (JSON values, or the strings of a CSV row, where an empty cell
            of an optional field means ``None``). ``provider_cost`` and
            ``provider_currency`` may be missing (data written before they existed).

    Returns:
        The record.

    Raises:
        ValueError: A field is missing or cannot be read.
    """
    values: dict[str, Any] = {}
    for name in FIELDS:
        if name not in data:
            if name in _ADDED_LATER:
                continue
            msg = f"record data has no {name!r} field"
            raise ValueError(msg)
        value = data[name]
        if name in _INTS:
            value = int(value)
        elif name in _OPTIONAL_TEXT:
            value = value or None
        elif name == "time":
            value = datetime.fromisoformat(value)
        elif name in _DECIMALS:
            value = None if value in (None, "") else Decimal(str(value))
        elif name == "latency_ms":
            value = None if value in (None, "") else float(value)
        elif name == "cache_hit":
            value = value if isinstance(value, bool) else str(value).lower() == "true"
        elif name == "attributes":
            value = json.loads(value) if isinstance(value, str) else dict(value or {})
        values[name] = value
    return CallRecord(**values)
