"""Money: integer fen inside, decimal strings of yuan outside, never float.

docs/contract.md "Conventions": at most two decimals; no JSON number, empty string, NaN or
exponent; a value of 10^13 yuan or more is refused.
"""

from __future__ import annotations

import re

from domain.errors import InvalidInput

FEN_PER_YUAN = 100
MAX_YUAN_EXCLUSIVE = 10**13
MAX_FEN_EXCLUSIVE = MAX_YUAN_EXCLUSIVE * FEN_PER_YUAN

_YUAN_PATTERN = re.compile(r"(-)?([0-9]+)(?:\.([0-9]{1,2}))?")


def parse_yuan(text: object, *, field: str = "amount") -> int:
    """Parse a decimal string of yuan into integer fen.

    Raises:
        InvalidInput: anything but a plain decimal string with at most two decimals
            below 10^13 yuan (a float or int object is refused too: money travels as text).
    """
    if not isinstance(text, str):
        raise InvalidInput(
            f'money must be a decimal string of yuan such as "1200.00", not {type(text).__name__}',
            field=field,
        )
    match = _YUAN_PATTERN.fullmatch(text.strip())
    if match is None:
        raise InvalidInput(
            f'{text!r} is not an amount of yuan with at most two decimals (e.g. "1200.00")',
            field=field,
        )
    sign, whole, decimals = match.groups()
    fen = int(whole) * FEN_PER_YUAN + int((decimals or "").ljust(2, "0"))
    if fen >= MAX_FEN_EXCLUSIVE:
        raise InvalidInput(f"{text!r} is 10^13 yuan or more", field=field)
    return -fen if sign else fen


def parse_positive_yuan(text: object, *, field: str = "amount") -> int:
    """Parse an amount that must be strictly positive (a posting's amount)."""
    fen = parse_yuan(text, field=field)
    if fen <= 0:
        raise InvalidInput(f"{text!r} must be a positive amount", field=field)
    return fen


def format_fen(amount_fen: int) -> str:
    """Format integer fen as a decimal string of yuan with two decimals."""
    assert isinstance(amount_fen, int), amount_fen
    assert not isinstance(amount_fen, bool), amount_fen
    sign = "-" if amount_fen < 0 else ""
    whole, fen = divmod(abs(amount_fen), FEN_PER_YUAN)
    return f"{sign}{whole}.{fen:02d}"


def format_fen_grouped(amount_fen: int) -> str:
    """Format integer fen as yuan with thousands separators, e.g. ``1,234,567.89`` (exact),
    for tables people read; files and JSON keep :func:`format_fen`."""
    text = format_fen(amount_fen)
    sign = "-" if text.startswith("-") else ""
    whole, _, fen = text.lstrip("-").partition(".")
    return f"{sign}{int(whole):,}.{fen}"
