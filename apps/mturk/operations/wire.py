"""Values in the forms botocore expects for this protocol."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_DOWN, ROUND_UP, Decimal

CENTS = Decimal("0.01")


def currency(amount: Decimal, *, rounding: str = ROUND_DOWN) -> str:
    """A CurrencyAmount (`^[0-9]+(\\.)?[0-9]{0,2}$`): two places, never negative (the shape
    has no sign). Rounded down by default: an amount available is never overstated."""
    value = max(amount, Decimal(0)).quantize(CENTS, rounding=rounding)
    return f"{value:.2f}"


def currency_up(amount: Decimal) -> str:
    """Rounded up: an amount held or owed is never understated."""
    return currency(amount, rounding=ROUND_UP)


def timestamp(moment: datetime) -> float:
    """A Timestamp: epoch seconds, a JSON number (the JSON protocol's default format)."""
    return round(moment.timestamp(), 3)
