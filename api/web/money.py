"""Money as a finance officer reads it: yuan with thousands separators (docs/workbench.md).

Inside, money is integer fen; the use cases answer decimal strings of yuan. Both are shown
as ``1,234,567.89``; never through a float.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from domain.errors import InvalidInput
from domain.money import format_fen_grouped, parse_yuan


def yuan(value: object) -> str:
    """``value`` (integer fen, or a decimal string of yuan) as yuan with thousands separators;
    an empty string for None, the text itself when it is not an amount."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return format_fen_grouped(value)
    try:
        return format_fen_grouped(parse_yuan(str(value), field="amount"))
    except InvalidInput:
        return str(value)


def ratio(value: object, digits: int = 2) -> str:
    """A decimal string ratio shown with ``digits`` decimals ("" for None: no denominator)."""
    if value is None or value == "":
        return ""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    return f"{amount:,.{digits}f}"


def percent(value: object, digits: int = 2) -> str:
    """A decimal string ratio as a percentage ("0.020326" -> "2.03%")."""
    if value is None or value == "":
        return ""
    try:
        amount = Decimal(str(value)) * 100
    except InvalidOperation:
        return str(value)
    return f"{amount:,.{digits}f}%"
