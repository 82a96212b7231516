"""The fund warnings of docs/domain.md §3: pure rules on a period's figures and a province's policy.

Each seed's rule is one function, with its source in the docstring. The figures a rule sees
are chosen by :func:`warning_basis`: the full year once it is complete, else the trailing 12
months, never a year-to-date figure alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from domain.funds import FundId
from domain.money import format_fen, format_fen_grouped
from projections.policy import Band, Policy, WarningLevel
from projections.ratios import (
    accumulated_balance_rate,
    balance_rate_denominator,
    current_surplus_rate,
    months_denominator,
    months_of_coverage,
)

FIGURE_KEYS = (
    "income_subtotal",
    "expense_subtotal",
    "closing_balance",
    "current_surplus_rate",
    "accumulated_balance_rate",
    "months_of_coverage",
)
"""The keys of :meth:`Figures.to_json`, in order."""


@dataclass(frozen=True)
class Figures:
    """A fund's income, expense and balance over a period (fen).

    ``period`` is ``"2024"`` for a fiscal year, ``"2024-11..2025-10"`` for a trailing window;
    ``closing_balance_fen`` is the balance at the end of the period.
    """

    period: str
    income_subtotal_fen: int
    expense_subtotal_fen: int
    income_total_fen: int
    expense_total_fen: int
    funds_raised_fen: int
    closing_balance_fen: int
    balance_name: str = "accumulated balance"
    """How messages call the balance (a trailing window's is a projected year-end balance)."""
    benefit_fen: int | None = None
    """The benefit expense (待遇, line ``benefit``) of the period; None where only the
    subtotals are known, and then the expense subtotal stands for it."""

    def denominator_fen(self, policy: Policy) -> int:
        """The accumulated balance rate's denominator the policy asks for."""
        return balance_rate_denominator(
            policy.accumulated_balance_denominator,
            income_subtotal_fen=self.income_subtotal_fen,
            funds_raised_fen=self.funds_raised_fen,
        )

    def months_denominator_fen(self, policy: Policy) -> int:
        """The months of coverage's denominator the policy asks for (benefits, or the whole
        expense subtotal: ``months_of_coverage_denominator``)."""
        benefit = self.expense_subtotal_fen if self.benefit_fen is None else self.benefit_fen
        return months_denominator(
            policy.months_of_coverage_denominator,
            expense_subtotal_fen=self.expense_subtotal_fen,
            benefit_fen=benefit,
        )

    def months_exact(self, policy: Policy) -> Fraction | None:
        """Months of coverage, exact (None when nothing was spent on the denominator)."""
        denominator = self.months_denominator_fen(policy)
        if denominator == 0:
            return None
        return Fraction(self.closing_balance_fen * 12, denominator)

    def to_json(self, policy: Policy, prefix: str = "") -> dict[str, Any]:
        """The figures and their ratios as docs/contract.md strings (``null`` for a zero base)."""
        income, expense, closing = (
            self.income_subtotal_fen,
            self.expense_subtotal_fen,
            self.closing_balance_fen,
        )
        values = (
            format_fen(income),
            format_fen(expense),
            format_fen(closing),
            current_surplus_rate(income, expense),
            accumulated_balance_rate(closing, self.denominator_fen(policy)),
            months_of_coverage(closing, self.months_denominator_fen(policy)),
        )
        return {f"{prefix}{key}": value for key, value in zip(FIGURE_KEYS, values, strict=True)}


@dataclass(frozen=True)
class Finding:
    """What one rule says of a fund: a level and why."""

    rule: str
    level: WarningLevel
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "level": self.level.value, "message": self.message}


def warning_basis(
    full_year: Figures, trailing: Figures | None, *, complete: bool
) -> Figures | None:
    """The figures a fund's warnings are computed on (docs/domain.md §3).

    Resident contributions arrive mostly in the fourth quarter while benefits are paid
    monthly, so a January–October figure can show a deep deficit in a surplus year. A
    year-to-date figure therefore never raises a warning on its own: a complete year (over,
    or closed) is judged on the full year; an incomplete one on the trailing 12 months ending
    at the latest month with postings. When the fund's books do not reach 12 months back
    (``trailing`` is None), there is no basis yet and no warning until the year is complete.
    """
    return full_year if complete else trailing


def months_band(basis: Figures, policy: Policy) -> Finding | None:
    """The common bands of months of coverage (docs/domain.md §3: < 3 insufficient, 3–6 low,
    6–9 reasonable, 9–15 high, > 15 excessive); the levels are the policy's."""
    months = basis.months_exact(policy)
    if months is None:
        return None
    band = _band_of(months, policy.warnings.bands)
    shown = _months_text(basis, policy)
    return Finding(
        "months_band",
        band.level,
        f"{basis.period}: {shown} months of coverage: {band.label} ({_range_text(band)} months)",
    )


def guangdong_minimum_months(basis: Figures, policy: Policy) -> Finding | None:
    """Guangdong 2012 (粤府办〔2012〕19号 art. 15): when the accumulated balance cannot pay
    9 months of benefits, the fund risk warning is started (基金累计结余不足支付9个月待遇的，
    应启动基金风险预警机制). The floor and its level are the policy's ``minimum_months``."""
    rule = policy.warnings.minimum_months
    months = basis.months_exact(policy)
    if rule is None or months is None or months >= Fraction(rule.months):
        return None
    source = f" ({rule.source})" if rule.source else ""
    return Finding(
        "minimum_months",
        rule.level,
        f"{basis.period}: the {basis.balance_name} pays {_months_text(basis, policy)} months of "
        f"benefits, less than {rule.months}{source}",
    )


def legacy_ncms_cap(fund: FundId, basis: Figures, policy: Policy) -> Finding | None:
    """Legacy NCMS fund (the national NCMS rule, 累计结余不超过当年筹集基金总额的25%; the Jilin
    2016 text does not state it, a policy applies it to the legacy funds of a transition): the
    accumulated balance may not exceed 25% of the year's funds raised (contribution + subsidy).
    Only for the schemes the policy's ``legacy_cap`` lists (``ncms``)."""
    rule = policy.warnings.legacy_cap
    if rule is None or fund.scheme not in rule.schemes:
        return None
    ceiling = Fraction(rule.share_of_funds_raised) * basis.funds_raised_fen
    if basis.closing_balance_fen <= ceiling:
        return None
    percent = _percent(rule.share_of_funds_raised)
    source = f" ({rule.source})" if rule.source else ""
    return Finding(
        "legacy_cap",
        rule.level,
        f"{basis.period}: {basis.balance_name} {format_fen_grouped(basis.closing_balance_fen)} "
        f"exceeds {percent} of the funds raised {format_fen_grouped(basis.funds_raised_fen)} "
        f"(ceiling {format_fen_grouped(int(ceiling))}){source}",
    )


def year_end_deficit(basis: Figures, policy: Policy) -> Finding | None:
    """Any current deficit at year end (docs/domain.md §3; the Shanxi 2024 draft plans none):
    income below expense over the basis period, on the subtotals or, if the policy says
    ``measure = "total"``, on the totals with the inter-level lines."""
    rule = policy.warnings.deficit
    if rule is None:
        return None
    if rule.measure == "total":
        surplus = basis.income_total_fen - basis.expense_total_fen
    else:
        surplus = basis.income_subtotal_fen - basis.expense_subtotal_fen
    if surplus >= 0:
        return None
    return Finding(
        "deficit",
        rule.level,
        f"{basis.period}: current deficit of {format_fen_grouped(-surplus)} (income {rule.measure} "
        "below expense)",
    )


def evaluate(fund: FundId, basis: Figures, policy: Policy) -> list[Finding]:
    """Every rule's finding on the basis figures, most severe first."""
    found = [
        year_end_deficit(basis, policy),
        months_band(basis, policy),
        guangdong_minimum_months(basis, policy),
        legacy_ncms_cap(fund, basis, policy),
    ]
    findings = [f for f in found if f is not None]
    return sorted(findings, key=lambda f: -f.level.severity)


def overall_level(findings: list[Finding]) -> WarningLevel:
    """The most severe level found (green when nothing was found)."""
    return max((f.level for f in findings), key=lambda x: x.severity, default=WarningLevel.GREEN)


def warnings_only(findings: list[Finding]) -> list[dict[str, Any]]:
    """The findings that are warnings (every level but green), as JSON."""
    return [f.to_json() for f in findings if f.level is not WarningLevel.GREEN]


def _band_of(months: Fraction, bands: tuple[Band, ...]) -> Band:
    for band in bands:
        if band.to_months is None or months < Fraction(band.to_months):
            return band
    raise AssertionError("the last band has no upper bound")


def _months_text(basis: Figures, policy: Policy) -> str:
    return (
        months_of_coverage(basis.closing_balance_fen, basis.months_denominator_fen(policy)) or "-"
    )


def _range_text(band: Band) -> str:
    if band.from_months is None:
        return f"below {band.to_months}"
    if band.to_months is None:
        return f"{band.from_months} or more"
    return f"{band.from_months} to {band.to_months}"


def _percent(share: Decimal) -> str:
    return f"{(share * 100).normalize():f}%"
