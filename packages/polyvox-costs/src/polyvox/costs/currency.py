"""Currencies: exchange rates for reports, and the error for a rate that is missing.

A cost stays in its price's currency (``USD``, or ``RUB`` for GigaChat and YandexGPT);
:class:`CurrencyRates` converts for reports and budgets' summaries.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = ["FX_RATES_ENV", "CurrencyRates", "MissingRateError"]

FX_RATES_ENV = "POLYVOX_FX_RATES"
"""Environment variable with exchange rates, ``RUB=0.011,EUR=1.08``: base units per unit."""


class MissingRateError(LookupError):
    """No exchange rate is configured for a currency a conversion needs."""

    def __init__(self, currency: str, base: str) -> None:
        self.currency = currency
        """The currency without a rate."""
        self.message = (
            f"no exchange rate for {currency} (rates are {base} per unit); pass "
            f"CurrencyRates({{{currency!r}: Decimal('...')}}, base={base!r}) or set "
            f"{FX_RATES_ENV}='{currency}=...'"
        )
        """The explanation."""
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


class CurrencyRates:
    """Exchange rates for reports: how many ``base`` units one unit of each currency buys.

    Example:
        .. code-block:: python

            rates = CurrencyRates({"RUB": Decimal("0.011")}, base="USD")
            rates.convert(Decimal("100"), "RUB", "USD")  # Decimal('1.100')
    """

    def __init__(
        self, rates: Mapping[str, Decimal | str | int | float] | None = None, base: str = "USD"
    ) -> None:
        """Create rates.

        Args:
            rates: Currency → base-currency units per unit (``{"RUB": "0.011"}``).
            base: The base currency (its own rate is 1).

        Raises:
            ValueError: For a malformed currency code or a rate that is not a positive number.
        """
        self.base = _currency(base)
        """The base currency."""
        self._rates: dict[str, Decimal] = {self.base: Decimal(1)}
        for code, rate in (rates or {}).items():
            self._rates[_currency(code)] = _rate(rate, code)

    @classmethod
    def from_env(cls, var: str = FX_RATES_ENV, base: str = "USD") -> CurrencyRates:
        """Read rates from an environment variable like ``RUB=0.011,EUR=1.08``.

        Args:
            var: The variable's name.
            base: The base currency the rates are in.

        Returns:
            The rates (only the base when the variable is unset or empty).

        Raises:
            ValueError: Naming the malformed item.
        """
        rates: dict[str, Decimal] = {}
        for item in filter(None, (part.strip() for part in os.environ.get(var, "").split(","))):
            code, sep, value = item.partition("=")
            if not sep:
                msg = f"{var}: expected CODE=RATE items separated by commas, got {item!r}"
                raise ValueError(msg)
            try:
                rates[code.strip()] = _rate(value.strip(), code.strip())
            except ValueError as exc:
                raise ValueError(f"{var}: {exc}") from None
        return cls(rates, base=base)

    @property
    def rates(self) -> dict[str, Decimal]:
        """A copy of the rates, base included."""
        return dict(self._rates)

    def rate(self, currency: str) -> Decimal:
        """Base-currency units per unit of ``currency``.

        Raises:
            MissingRateError: When the rate is not configured.
        """
        code = currency.strip().upper()
        try:
            return self._rates[code]
        except KeyError:
            raise MissingRateError(code, self.base) from None

    def convert(self, amount: Decimal, from_: str, to: str) -> Decimal:
        """Convert an amount between currencies (through the base currency).

        Args:
            amount: The amount in ``from_``.
            from_: Its currency.
            to: The target currency.

        Returns:
            The amount in ``to`` (exact when ``to`` is the base; else to 28 significant digits).

        Raises:
            MissingRateError: When either currency has no rate.
        """
        if from_.strip().upper() == to.strip().upper():
            return amount
        in_base = amount * self.rate(from_)
        target = self.rate(to)
        return in_base if target == 1 else in_base / target

    def __repr__(self) -> str:
        items = ", ".join(f"{k!r}: {str(v)!r}" for k, v in self._rates.items() if k != self.base)
        return f"CurrencyRates({{{items}}}, base={self.base!r})"


def _currency(code: str) -> str:
    value = str(code).strip().upper()
    if len(value) != 3 or not value.isalpha():
        raise ValueError(f"currency must be an ISO 4217 code like USD or RUB, not {code!r}")
    return value


def _rate(value: Any, code: str) -> Decimal:
    try:
        rate = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        rate = Decimal("NaN")
    if isinstance(value, bool) or not rate.is_finite() or rate <= 0:
        raise ValueError(f"rate for {code} must be a positive number, got {value!r}")
    return rate
