"""What the year-end workbench shows besides the settlement: each pool's clearing inputs.

Per pool of a province and year: the levy due (ratio × base, stopped at the cap) and what was
posted of it (``LEVY-<year>`` vouchers), the latest assessment grade (考核评价) and each county's
plan (年度收支计划), the figures the allocation reads (docs/clearing.md §1 steps 1 and 2). A read
of a province document, scoped as :mod:`api.usecases.scope` says.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from api.bootstrap import App
from api.usecases.scope import province_scope
from api.usecases.settlements import SettlementKey
from clearing.inputs import read_books
from clearing.levy import compute_levies, levy_reference
from clearing.policy import choose_policy
from clearing.queries import ProvinceBooks, county_plans, latest_assessment, reference_total
from clearing.settlement import find_settlement
from domain.access import Principal
from domain.lines import Line


@dataclass(frozen=True)
class CountyPlanRow:
    """A county's plan for the year, in fen."""

    county: str
    contributions_fen: int
    subsidies_fen: int
    spending_fen: int


@dataclass(frozen=True)
class PoolInputs:
    """One pool's clearing inputs for the year, in fen."""

    fund: str
    levy_due_fen: int
    levy_posted_fen: int
    grade: str | None
    score: str | None
    plans: tuple[CountyPlanRow, ...]

    @property
    def levy_outstanding_fen(self) -> int:
        """What is due and not yet posted (never negative)."""
        return max(self.levy_due_fen - self.levy_posted_fen, 0)


@dataclass(frozen=True)
class YearEndInputs:
    """The year's levy terms and each pool's inputs; the adjustment fund's figures are None
    in a city's partial view."""

    ratio: str
    balance_fen: int | None
    cap_fen: int | None
    pools: list[PoolInputs]


def province_books(app: App, who: Principal, key: SettlementKey) -> ProvinceBooks:
    """The province's books of the year, read once for a page that shows both the inputs
    and the allocation (:func:`pool_inputs`, :func:`api.usecases.settlements.dry_run`)."""
    province_scope(who, key.province)
    return read_books(app.read_models, key.province, key.year)


def pool_inputs(
    app: App, who: Principal, key: SettlementKey, books: ProvinceBooks | None = None
) -> YearEndInputs:
    """Each pool's levy due and posted, grade and county plans, for the pools the caller sees
    (from ``books`` when given: :func:`province_books`)."""
    scope = province_scope(who, key.province)
    app.read_models.fresh(provinces=(key.province,))
    # The province's figures in a few set-based queries, not several per pool.
    db = books
    if db is None:
        db = ProvinceBooks.read(
            app.read_models.for_province(key.province).db,
            key.province,
            key.year,
            references_wanted=((Line.TO_UPPER, levy_reference(key.year), None),),
        )
    plan = compute_levies(db, key.province, key.year, choose_policy(key.province, key.year))
    rows = []
    for levy in plan.levies:
        if not scope.sees(levy.fund):
            continue
        assessment = latest_assessment(db, levy.fund, key.year)
        rows.append(
            PoolInputs(
                fund=levy.fund,
                levy_due_fen=levy.levy_fen,
                levy_posted_fen=reference_total(
                    db, levy.fund, Line.TO_UPPER, levy_reference(key.year)
                ),
                grade=assessment[0] if assessment else None,
                score=assessment[1] if assessment else None,
                plans=tuple(
                    CountyPlanRow(p.county, p.contributions_fen, p.subsidies_fen, p.spending_fen)
                    for p in county_plans(db, levy.fund, key.year)
                ),
            )
        )
    return YearEndInputs(
        ratio=str(plan.ratio),
        balance_fen=plan.balance_fen if scope.whole else None,
        cap_fen=plan.cap_fen if scope.whole else None,
        pools=rows,
    )


def drafters(app: App, who: Principal, key: SettlementKey) -> list[str]:
    """Everyone who drafted a version of the settlement (none may approve it)."""
    province_scope(who, key.province)
    found = find_settlement(app.ledger, key.province, key.year)
    return [] if found is None else list(found.drafters)


def shipped_policy_text(province: str) -> str:
    """The text of the policy file shipped for the province ('' when it has none): what an
    officer edits for a what-if."""
    path = resources.files("clearing") / "policies" / f"{province}.toml"
    return path.read_text(encoding="utf-8") if path.is_file() else ""
