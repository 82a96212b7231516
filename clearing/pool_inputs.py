"""Recording the clearing inputs, checked against the province's policy.

The aggregate (:mod:`domain.clearing_inputs`) checks what it can know alone; a grade must also
be one of the grades of the policy that will use it, which only the clearing house knows.
"""

from __future__ import annotations

from pathlib import Path

from clearing.policy import load_policy
from domain.authorship import Author
from domain.clearing_inputs import record_assessment, set_county_plan
from domain.errors import InvalidInput
from domain.funds import FundId
from domain.ledger_service import Ledger
from domain.regions import PROVINCES, RegionLevel, check_region, level_of


def check_province(code: str) -> str:
    """A province code (``140000``) of a known province."""
    check_region(code, field="province")
    if level_of(code) is not RegionLevel.PROVINCE or code not in PROVINCES:
        raise InvalidInput(f"{code!r} is not a province code (e.g. 140000)", field="province")
    return code


def assess(
    ledger: Ledger,
    fund: FundId,
    year: int,
    *,
    grade: str,
    score: str | None,
    principal: str | None = None,
    policy_path: Path | None = None,
    author: Author | None = None,
) -> bool:
    """Record a pool's assessment grade (one of the policy's grades); False when unchanged.

    Shanxi 2024 draft: the adjustment fund's share depends on the provincial assessment
    (省级考核评价); the policy lists the grades it knows and their shares.
    """
    policy = load_policy(fund.province, year, policy_path)
    if grade.strip() not in policy.sharing.grades:
        raise InvalidInput(
            f"{grade!r} is not a grade of {policy.name} {policy.version} "
            f"(one of {', '.join(policy.sharing.grades)})",
            field="grade",
        )
    return record_assessment(
        ledger, fund, year, grade=grade, score=score, principal=principal, author=author
    )


def plan(
    ledger: Ledger,
    fund: FundId,
    year: int,
    *,
    county: str,
    amounts: tuple[int, int, int],
    principal: str | None = None,
    author: Author | None = None,
) -> bool:
    """Set a county's plan (contributions, subsidies, spending in fen); False when unchanged.

    ``author`` records it (``principal``, a name as text, until every caller passes one).
    """
    return set_county_plan(
        ledger, fund, year, county=county, plan=amounts, principal=principal, author=author
    )
