"""The ratios of docs/domain.md §3, exact integer arithmetic rounded half-up at the edge.

docs/contract.md "Conventions": rates to 6 decimals, months of coverage to 4; a ratio whose
denominator is zero is ``None`` (``null`` in JSON).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, localcontext

RATE_PLACES = Decimal("0.000001")
MONTHS_PLACES = Decimal("0.0001")


def _ratio(numerator: int, denominator: int, places: Decimal) -> str | None:
    if denominator == 0:
        return None
    with localcontext() as ctx:
        ctx.prec = 50
        value = (Decimal(numerator) / Decimal(denominator)).quantize(places, ROUND_HALF_UP)
    return str(value)


def current_surplus_rate(income_subtotal_fen: int, expense_subtotal_fen: int) -> str | None:
    """当年结余率 = (income subtotal − expense subtotal) / income subtotal."""
    return _ratio(income_subtotal_fen - expense_subtotal_fen, income_subtotal_fen, RATE_PLACES)


def balance_rate_denominator(
    choice: str, *, income_subtotal_fen: int, funds_raised_fen: int
) -> int:
    """The accumulated balance rate's denominator as a policy chooses it (docs/domain.md §3):
    ``funds_raised`` (contribution + subsidy), else the income subtotal."""
    return funds_raised_fen if choice == "funds_raised" else income_subtotal_fen


def months_denominator(choice: str, *, expense_subtotal_fen: int, benefit_fen: int) -> int:
    """The months of coverage's denominator as a policy chooses it (docs/projections.md §2):
    ``benefit`` (待遇: the benefit expense line alone; Guangdong 2012 counts months of
    benefits), else the whole expense subtotal."""
    return benefit_fen if choice == "benefit" else expense_subtotal_fen


def accumulated_balance_rate(closing_balance_fen: int, denominator_fen: int) -> str | None:
    """累计结余率 = closing balance / denominator (the income subtotal by default)."""
    return _ratio(closing_balance_fen, denominator_fen, RATE_PLACES)


def months_of_coverage(closing_balance_fen: int, expense_subtotal_fen: int) -> str | None:
    """累计结余可支付月数 = closing balance × 12 / the year's expense (the expense subtotal,
    or the benefit expense where the policy says so: :func:`months_denominator`)."""
    return _ratio(closing_balance_fen * 12, expense_subtotal_fen, MONTHS_PLACES)


def format_share(share: Decimal) -> str:
    """A share (of a subsidy, a levy...) as a rate string: 6 decimals, rounded half-up."""
    return str(share.quantize(RATE_PLACES, ROUND_HALF_UP))
