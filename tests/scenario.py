"""Readable test scenarios: postings written as short lines of text.

``posting("resident:140100 benefit/inpatient 3000.50 2024-03-31 B-1")`` reads as
fund, line[/sub_line][@level], amount, value date, reference, then ``key=value`` extras.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from domain.funds import FundId
from domain.lines import Level, Line, Purpose
from domain.money import parse_yuan
from domain.postings import Posting


def posting(text: str) -> Posting:
    """Parse one scenario line into a posting."""
    fund, line_spec, amount, value_date, reference, *extras = text.split()
    line_text, _, level = line_spec.partition("@")
    line, _, sub_line = line_text.partition("/")
    kwargs: dict[str, Any] = {}
    for extra in extras:
        key, _, value = extra.partition("=")
        if key == "counterparty":
            kwargs[key] = FundId.parse(value)
        elif key == "purpose":
            kwargs[key] = Purpose(value)
        else:
            kwargs[key] = value
    return Posting(
        fund=FundId.parse(fund),
        line=Line(line),
        amount_fen=parse_yuan(amount),
        value_date=date.fromisoformat(value_date),
        reference=reference,
        sub_line=sub_line or None,
        level=Level(level) if level else None,
        **kwargs,
    )


CITY = FundId.parse("resident:140100")
CITY2 = FundId.parse("resident:140200")
PROVINCE_ADJUSTMENT = FundId.parse("adjustment:140000")
URBAN = FundId.parse("urban_resident:220100")
NCMS = FundId.parse("ncms:220100")
JILIN_MERGED = FundId.parse("resident:220100")
