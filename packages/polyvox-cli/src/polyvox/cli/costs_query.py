"""Parsing ``polyvox costs`` options into a ledger query (filters, grouping, rates)."""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass


DIMENSIONS = ("provider", "model", "workspace_id", "agent_id", "day", "month")
"""What ``--by`` accepts (the ledger's report dimensions)."""

DEFAULT_BY = ("provider", "model")
"""The grouping of ``polyvox costs report`` without ``--by``."""

"""The tab10 colours models get (its grey, 7, is kept for "other")."""

_HEADERS = {"workspace_id": "workspace", "agent_id": "agent"}
_CODE = re.compile(r"^[A-Za-z]{3}$")
_MONTH = re.compile(r"^\d{4}-\d{2}$")


class CostsError(Exception):
    """A problem the user can fix; the command prints it and exits with status 1."""


# ---- parsing the options -------------------------------------------------------------------


def parse_by(values: Iterable[str] | None) -> tuple[str, ...]:
    """Read ``--by`` values (repeated and/or comma-separated).

    Args:
        values: The option's values (``["provider,model", "day"]``); ``None`` for the default.

    Returns:
        The dimensions, in order, without repeats.

    Raises:
        CostsError: An unknown dimension, or none at all.
    """
    if values is None:
        return DEFAULT_BY
    names = [part.strip() for value in values for part in value.split(",") if part.strip()]
    unknown = [name for name in names if name not in DIMENSIONS]
    if unknown:
        msg = f"--by: cannot group by {', '.join(unknown)}; use any of {', '.join(DIMENSIONS)}"
        raise CostsError(msg)
    if not names:
        msg = f"--by: name at least one of {', '.join(DIMENSIONS)}"
        raise CostsError(msg)
    return tuple(dict.fromkeys(names))


def parse_where(items: Iterable[str] | None) -> dict[str, str | list[str] | None]:
    """Read ``--where`` filters.

    ``workspace_id=w1`` keeps one value, ``workspace_id=w1,w2`` (or the key given twice) any
    of several, and ``workspace_id=`` (empty) the calls without one.

    Args:
        items: The option's values.

    Returns:
        Column filters for :meth:`polyvox.costs.ledger.Ledger.report`.

    Raises:
        CostsError: An item that is not ``column=value``, or an unknown column.
    """
    from polyvox.costs.ledger.reports import FILTERS

    found: dict[str, list[str | None]] = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            msg = f"--where: expected column=value (e.g. workspace_id=w1), got {item!r}"
            raise CostsError(msg)
        if key not in FILTERS:
            msg = f"--where: cannot filter on {key!r}; use one of {', '.join(FILTERS)}"
            raise CostsError(msg)
        parts: list[str | None] = [v.strip() for v in value.split(",") if v.strip()]
        found.setdefault(key, []).extend(parts or [None])
    where: dict[str, str | list[str] | None] = {}
    for key, values in found.items():
        unique = list(dict.fromkeys(values))
        if unique == [None]:
            where[key] = None
        elif None in unique:
            shown = ", ".join(repr(v or "") for v in unique)
            msg = f"--where: {key} cannot be both empty and set ({shown})"
            raise CostsError(msg)
        else:
            texts = [v for v in unique if v is not None]
            where[key] = texts[0] if len(texts) == 1 else texts
    return where


def parse_rates(items: Iterable[str] | None) -> dict[str, Decimal]:
    """Read ``--rates`` (``RUB=0.011,EUR=1.08``, repeatable).

    Args:
        items: The option's values.

    Returns:
        Units of the report's currency per unit of each currency, codes upper-cased.

    Raises:
        CostsError: An item that is not ``CODE=RATE``, a code that is not three letters, or
            a rate that is not a positive number.
    """
    rates: dict[str, Decimal] = {}
    for value in items or ():
        for item in filter(None, (part.strip() for part in value.split(","))):
            code, sep, text = item.partition("=")
            code = code.strip()
            if not sep or not _CODE.match(code):
                msg = f"--rates: expected CODE=RATE items like RUB=0.011, got {item!r}"
                raise CostsError(msg)
            try:
                rate = Decimal(text.strip())
            except InvalidOperation:
                rate = Decimal("NaN")
            if not rate.is_finite() or rate <= 0:
                msg = (
                    f"--rates: the rate for {code.upper()} must be a positive number, got {text!r}"
                )
                raise CostsError(msg)
            rates[code.upper()] = rate
    return rates


def parse_time(text: str, *, end: bool = False, option: str = "--since") -> datetime:
    """Read a ``--since`` or ``--until`` value as a UTC instant.

    Args:
        text: ``YYYY-MM-DD`` (a UTC day), ``YYYY-MM`` (a UTC month) or an ISO 8601 time
            (naive times are UTC).
        end: Read it as the end of a range: a day or month is *included*, so the instant
            returned is the start of the next one; an ISO time is the first instant excluded.
        option: The option's name, for the error message.

    Returns:
        The instant (aware, UTC).

    Raises:
        CostsError: The text is none of those forms.
    """
    value = text.strip()
    try:
        if _MONTH.match(value):
            year, month = int(value[:4]), int(value[5:])
            start = date(year, month, 1)
            if end:
                start = date(year + month // 12, month % 12 + 1, 1)
            return datetime.combine(start, time(), UTC)
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime.combine(day + timedelta(days=1 if end else 0), time(), UTC)
        moment = datetime.fromisoformat(value)
    except ValueError:
        msg = f"{option}: expected YYYY-MM-DD, YYYY-MM or an ISO 8601 time, got {text!r}"
        raise CostsError(msg) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True)
class Query:
    """Which calls a command looks at, and the currency it reports costs in."""

    since: datetime | None = None
    """First instant included."""

    until: datetime | None = None
    """First instant excluded."""

    where: Mapping[str, str | list[str] | None] = field(default_factory=dict)
    """Column filters."""

    currency: str | None = None
    """Report costs in this currency (``None``: as recorded)."""

    rates: Mapping[str, Decimal] = field(default_factory=dict)
    """Units of ``currency`` per unit of each other currency."""

    labels: tuple[str, ...] = ()
    """The filters as the user gave them, for headings and messages."""

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Query:
        """Build a query from parsed command-line options.

        Args:
            args: The parsed options (``since``, ``until``, ``where``, and for report and
                plot ``currency`` and ``rates``).

        Returns:
            The query.

        Raises:
            CostsError: A malformed option.
        """
        since = parse_time(args.since) if args.since else None
        until = parse_time(args.until, end=True, option="--until") if args.until else None
        if since is not None and until is not None and since >= until:
            msg = f"--since {args.since} is not before --until {args.until}"
            raise CostsError(msg)
        where = parse_where(args.where)
        currency_arg: str | None = getattr(args, "currency", None)
        rates = parse_rates(getattr(args, "rates", None))
        currency = None
        if currency_arg is not None:
            currency = currency_arg.strip().upper()
            if not _CODE.match(currency):
                msg = f"--currency: expected a code like USD or RUB, got {currency_arg!r}"
                raise CostsError(msg)
            if not rates:
                rates = _env_rates(currency)
        elif rates:
            msg = "--rates needs --currency: the currency to convert the costs into"
            raise CostsError(msg)
        labels = []
        if args.since:
            labels.append(f"since {args.since}")
        if args.until:
            labels.append(f"until {args.until}")
        labels += [f"where {item}" for item in args.where or ()]
        return cls(since, until, where, currency, rates, tuple(labels))

    def describe(self) -> str:
        """The filters in words (empty when there are none)."""
        return ", ".join(self.labels)


def _env_rates(currency: str) -> dict[str, Decimal]:
    """Rates into ``currency`` from ``POLYVOX_FX_RATES`` (USD per unit), when it has them.

    Args:
        currency: The report's currency.

    Returns:
        Units of ``currency`` per unit of each currency the variable prices (empty when
        it is unset, or has no rate for ``currency`` itself).

    Raises:
        CostsError: The variable is malformed.
    """
    from polyvox.costs.computation import CurrencyRates, MissingRateError

    try:
        known = CurrencyRates.from_env()
    except ValueError as exc:
        raise CostsError(str(exc)) from None
    rates: dict[str, Decimal] = {}
    for code in known.rates:
        if code == currency:
            continue
        try:
            rates[code] = known.convert(Decimal(1), code, currency)
        except MissingRateError:
            return {}
    return rates


# ---- formatting ----------------------------------------------------------------------------
