"""The adjustment-fund levy (调剂金计提): ratio × base, stopped at the cap, posted as pairs.

Each ``resident`` pool of the province pays ``ratio × base`` (the policy's base lines in the
base year, rounded half-up to the fen) as a ``to_upper`` pair into ``adjustment:<province>``
with purpose ``adjustment_levy`` and reference ``LEVY-<year>``, dated the last day of the
policy's ``paid_month`` of the levy year. Posting is idempotent per pool and year: a pool that
already has a ``LEVY-<year>`` voucher is skipped, whatever its amount.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from clearing.money_split import largest_remainder
from clearing.policy import ClearingPolicy
from clearing.queries import (
    ProvinceBooks,
    adjustment_fund,
    registered_funds,
    statement_or_none,
)
from domain.authorship import Author
from domain.errors import FundNotRegistered
from domain.funds import FundId, Scheme
from domain.ledger_service import Ledger
from domain.lines import Line, Purpose
from domain.postings import Posting
from projections.db import ProjectionDB
from projections.service import ReadModels

MONTHS_PER_YEAR = 12


@dataclass(frozen=True)
class Levy:
    """One pool's levy for a year."""

    fund: str
    base_year: int
    base_fen: int
    due_fen: int
    """ratio × base, rounded half-up, before the cap."""
    levy_fen: int
    """What the pool pays: ``due_fen``, or less when the cap stops the levy."""
    reference: str
    value_date: date


@dataclass(frozen=True)
class LevyPlan:
    """Every pool's levy of a province and year, and the cap that bounded them."""

    province: str
    year: int
    adjustment_fund: str
    ratio: Decimal
    balance_fen: int
    """The adjustment fund's balance at the start of the levy year."""
    cap_fen: int | None
    """``cap_months`` months of all pools' spending last year (None: no cap)."""
    levies: tuple[Levy, ...]

    @property
    def total_fen(self) -> int:
        return sum(levy.levy_fen for levy in self.levies)

    def levy_of(self, fund: str) -> int:
        """What ``fund`` owes for the year (0 for a fund that pays no levy)."""
        return next((levy.levy_fen for levy in self.levies if levy.fund == fund), 0)


def levy_reference(year: int) -> str:
    """The voucher reference of a pool's levy for a year (unique per pool)."""
    return f"LEVY-{year}"


def levy_value_date(year: int, paid_month: int) -> date:
    """The last day of the policy's ``paid_month`` in the levy year."""
    return date(year, paid_month, calendar.monthrange(year, paid_month)[1])


def round_half_up(value: Decimal) -> int:
    """A decimal amount of fen, rounded half-up to the fen."""
    return int(value.to_integral_value(ROUND_HALF_UP))


def levy_plan(
    read_models: ReadModels, province: str, year: int, policy: ClearingPolicy
) -> LevyPlan:
    """Every resident pool's levy for ``year``, after catching the province's read models up.

    The figures are read at once for the province (:class:`~clearing.queries.ProvinceBooks`,
    as the draft reads them), not a statement per pool and year: the same levies, in a few
    set-based queries.
    """
    read_models.catch_up(provinces=(province,))
    books = ProvinceBooks.read(read_models.for_province(province).db, province, year)
    return compute_levies(books, province, year, policy)


def compute_levies(db: ProjectionDB, province: str, year: int, policy: ClearingPolicy) -> LevyPlan:
    """Every resident pool's levy for ``year``, read from the read model (writes nothing)."""
    levy_policy = policy.levy
    base_year = year + levy_policy.base_year_offset
    pools = registered_funds(db, province, (Scheme.RESIDENT,))
    dues: list[tuple[str, int, int]] = []
    for fund in pools:
        base = _base_fen(db, fund, base_year, levy_policy.base_lines)
        dues.append((fund, base, round_half_up(levy_policy.ratio * base)))
    adjustment = adjustment_fund(province)
    opening = statement_or_none(db, str(adjustment), year)
    balance = opening.opening_balance_fen if opening is not None else 0
    cap = _cap_fen(db, pools, year - 1, levy_policy.cap_months)
    levied = stop_at_cap([d for _, _, d in dues], [f for f, _, _ in dues], balance, cap)
    value_date = levy_value_date(year, levy_policy.paid_month)
    levies = tuple(
        Levy(fund, base_year, base, due, paid, levy_reference(year), value_date)
        for (fund, base, due), paid in zip(dues, levied, strict=True)
    )
    return LevyPlan(province, year, str(adjustment), levy_policy.ratio, balance, cap, levies)


def stop_at_cap(
    dues: list[int], keys: list[str], balance_fen: int, cap_fen: int | None
) -> list[int]:
    """Stop the levy once the adjustment fund holds the cap: reduce it to fill the fund exactly.

    Shaanxi 2024 (similar to the Shanxi 2024 draft): the levy stops once the fund holds
    6 months of all pools' spending. When the fund already holds the cap, every levy is 0;
    when the full levy would overshoot it, the room left (cap − balance) is shared among the
    pools in proportion to their dues (largest remainder, exact to the fen), so the fund stops
    exactly at the cap.
    """
    if cap_fen is None or balance_fen + sum(dues) <= cap_fen:
        return list(dues)
    room = max(0, cap_fen - balance_fen)
    return largest_remainder(room, dues, keys)


def _base_fen(db: ProjectionDB, fund: str, base_year: int, lines: tuple[Line, ...]) -> int:
    """The policy's base lines in the base year (0 when the pool kept no books then)."""
    statement = statement_or_none(db, fund, base_year)
    if statement is None:
        return 0
    return max(0, sum(statement.line(line.value) for line in lines))


def _cap_fen(db: ProjectionDB, pools: list[str], year: int, months: Decimal | None) -> int | None:
    """``months`` months of all pools' spending (expense subtotal) in ``year``."""
    if months is None:
        return None
    spending = 0
    for fund in pools:
        statement = statement_or_none(db, fund, year)
        if statement is not None:
            spending += statement.expense_subtotal_fen
    return int((Decimal(spending) * months / MONTHS_PER_YEAR).to_integral_value(ROUND_FLOOR))


@dataclass(frozen=True)
class LevyPosted:
    """What posting a province's levies did, per pool."""

    fund: str
    amount_fen: int
    status: str
    """``posted``, ``already posted`` or ``nothing due``."""


def post_levies(
    ledger: Ledger, read_models: ReadModels, plan: LevyPlan, *, author: Author | None = None
) -> list[LevyPosted]:
    """Post every levy not yet posted, all in one import (all or nothing), by ``author``."""
    adjustment = FundId.parse(plan.adjustment_fund)
    province_ledger = ledger.province(plan.province)
    if plan.total_fen and province_ledger.find_fund(adjustment) is None:
        raise FundNotRegistered(
            f"{adjustment} is not registered: open it first with 'fundledger funds open'",
            field="fund",
        )
    outcome: list[LevyPosted] = []
    postings: list[Posting] = []
    for levy in plan.levies:
        fund = FundId.parse(levy.fund)
        existing = province_ledger.vouchers.select_vouchers(levy.fund, [levy.reference])
        if levy.reference in existing:
            paid = existing[levy.reference].amount_fen
            outcome.append(LevyPosted(levy.fund, paid, "already posted"))
        elif levy.levy_fen == 0:
            outcome.append(LevyPosted(levy.fund, 0, "nothing due"))
        else:
            postings.append(_levy_posting(fund, adjustment, levy, author))
            outcome.append(LevyPosted(levy.fund, levy.levy_fen, "posted"))
    if postings:
        ledger.import_postings(postings)
        read_models.catch_up()
    return outcome


def _levy_posting(fund: FundId, adjustment: FundId, levy: Levy, author: Author | None) -> Posting:
    return Posting(
        fund=fund,
        line=Line.TO_UPPER,
        amount_fen=levy.levy_fen,
        value_date=levy.value_date,
        reference=levy.reference,
        counterparty=adjustment,
        purpose=Purpose.ADJUSTMENT_LEVY,
        memo=f"调剂金计提 {levy.value_date.year}",
        author=author,
    )
