"""Values in the forms botocore expects for this protocol."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_DOWN, ROUND_UP, Decimal

from hitlcrowd.errors import InvalidInput

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


def from_timestamp(value: float, *, name: str) -> datetime:
    """A Timestamp of the input (epoch seconds), as an aware datetime; one no calendar holds
    (infinite, past year 9999) is refused naming the parameter."""
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise InvalidInput.field(name, "Not a time this server can store.") from None
