"""A posting request: one row of the postings file, typed, and the rules on its shape.

These rules need nothing but the row itself; the rules that need the ledger's state
(the fund is open, the year is open, the reference is new...) live in :mod:`domain.fund`,
:mod:`domain.rules` and :mod:`domain.ledger`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from domain.authorship import Author
from domain.chain import content_digest
from domain.errors import InvalidInput
from domain.funds import FundId
from domain.lines import MIRROR, POSTABLE_LINES, SUB_LINES, Level, Line, Purpose
from domain.money import MAX_FEN_EXCLUSIVE
from domain.regions import contains, is_region_code

MAX_REFERENCE_LENGTH = 64
MAX_MEMO_LENGTH = 500


@dataclass(frozen=True)
class Posting:
    """One movement of cash on a fund, as a finance officer keys it in.

    ``author`` is who asks for it: the ledger records it on the posting's events (both sides
    of a pair, a reversal's too), so a batch that carries several callers' postings records
    each one's own. It is not part of the posting's content: a retry of the same posting by
    another caller is still the same posting (a duplicate), and compares equal.
    """

    fund: FundId
    line: Line
    amount_fen: int
    value_date: date
    reference: str
    sub_line: str | None = None
    level: Level | None = None
    county: str | None = None
    counterparty: FundId | None = None
    purpose: Purpose | None = None
    reverses: str | None = None
    memo: str | None = None
    author: Author | None = field(default=None, compare=False)

    def content(self) -> dict[str, Any]:
        """The business content that makes two postings 'the same' for idempotency."""
        return {
            "fund": str(self.fund),
            "line": self.line.value,
            "amount_fen": self.amount_fen,
            "value_date": self.value_date.isoformat(),
            "reference": self.reference,
            "sub_line": self.sub_line,
            "level": self.level.value if self.level else None,
            "county": self.county,
            "counterparty": str(self.counterparty) if self.counterparty else None,
            "purpose": self.purpose.value if self.purpose else None,
            "reverses": self.reverses,
            "memo": self.memo,
        }

    def digest(self) -> str:
        """SHA-256 of :meth:`content`, kept with the voucher to tell a retry from a clash."""
        return content_digest(self.content())

    @property
    def is_legacy_merge(self) -> bool:
        """A balance moved from a legacy fund into the merged fund (not income or expense)."""
        return self.purpose is Purpose.LEGACY_MERGE

    @property
    def is_paired(self) -> bool:
        """True when a mirror line is written on the counterparty in the same save."""
        return self.counterparty is not None and self.reverses is None


def refuse_value_date_after(posting: Posting, today: date) -> None:
    """Refuse a posting dated after ``today`` (the day in China when it is entered).

    The value date is the day the cash moved (docs/domain.md, "two times"), so a day still to
    come is a mistake of typing (2062 for 2026, a month and a day swapped) that would put
    cash into a year still to come. For what users enter (a posting, a batch, an import);
    the levy and the settlement's draws are dated by their policy, not entered.

    Raises:
        InvalidInput: naming ``value_date``.
    """
    if posting.value_date > today:
        raise InvalidInput(
            f"{posting.value_date.isoformat()} is after today ({today.isoformat()} in China): "
            "a value date is the day the cash moved",
            field="value_date",
        )


def check_posting_shape(posting: Posting) -> None:
    """Refuse a posting whose fields do not fit together (docs/contract.md "Postings file").

    Raises:
        InvalidInput: naming the field at fault.
    """
    line = posting.line
    if line not in POSTABLE_LINES:
        raise InvalidInput(
            f"{line.value!r} is written only as the mirror of a paired posting", field="line"
        )
    if not 0 < posting.amount_fen < MAX_FEN_EXCLUSIVE:
        raise InvalidInput("the amount must be positive and below 10^13 yuan", field="amount")
    reference = posting.reference
    if not reference or len(reference) > MAX_REFERENCE_LENGTH or "#" in reference:
        raise InvalidInput(
            f"a reference is 1 to {MAX_REFERENCE_LENGTH} characters without '#'",
            field="reference",
        )
    if posting.memo is not None and len(posting.memo) > MAX_MEMO_LENGTH:
        raise InvalidInput(f"a memo has at most {MAX_MEMO_LENGTH} characters", field="memo")
    _check_sub_line_and_level(posting)
    _check_county(posting)
    _check_counterparty(posting)


def _check_sub_line_and_level(posting: Posting) -> None:
    allowed = SUB_LINES.get(posting.line, frozenset())
    if posting.sub_line is not None and posting.sub_line not in allowed:
        detail = f"one of {', '.join(sorted(allowed))}" if allowed else "none"
        raise InvalidInput(
            f"{posting.sub_line!r} is not a sub-line of {posting.line.value} ({detail})",
            field="sub_line",
        )
    if posting.line is Line.SUBSIDY and posting.level is None:
        raise InvalidInput(
            "a subsidy names the level that paid it (central, provincial, municipal, county)",
            field="level",
        )
    if posting.line is not Line.SUBSIDY and posting.level is not None:
        raise InvalidInput("only a subsidy has a paying level", field="level")


def _check_county(posting: Posting) -> None:
    county = posting.county
    if county is None:
        return
    if not is_region_code(county) or not contains(posting.fund.region, county):
        raise InvalidInput(
            f"{county!r} is not a county inside the fund's region {posting.fund.region}",
            field="county",
        )


def _check_counterparty(posting: Posting) -> None:
    line, counterparty = posting.line, posting.counterparty
    if posting.reverses is not None:
        if counterparty is not None or posting.purpose is not None:
            raise InvalidInput(
                "a reversal takes its counterparty and purpose from the posting it reverses",
                field="counterparty" if counterparty is not None else "purpose",
            )
        return
    if line in (Line.TO_UPPER, Line.TO_LOWER) and counterparty is None:
        raise InvalidInput(f"a {line.value} names the receiving fund", field="counterparty")
    if counterparty is not None and line not in MIRROR:
        raise InvalidInput(
            f"a {line.value} has no counterparty (only to_upper, to_lower, transfer_out)",
            field="counterparty",
        )
    if counterparty == posting.fund:
        raise InvalidInput("a fund cannot pay itself", field="counterparty")
    if posting.is_legacy_merge and line is not Line.TRANSFER_OUT:
        raise InvalidInput(
            "a legacy merge is posted as the legacy fund's transfer_out", field="purpose"
        )
    if posting.is_legacy_merge and counterparty is None:
        raise InvalidInput("a legacy merge names the merged fund", field="counterparty")
    if posting.purpose is Purpose.ADJUSTMENT_LEVY and line is not Line.TO_UPPER:
        raise InvalidInput("an adjustment levy is a to_upper", field="purpose")
    if posting.purpose is Purpose.ADJUSTMENT_DRAW and line is not Line.TO_LOWER:
        raise InvalidInput("an adjustment draw is a to_lower", field="purpose")
