"""Each county's income shortfall in a municipal pool, by cause (Nantong 2019).

Nantong 2019 (通政办发〔2019〕101号): 县（市）、区未按规定补助到位、未严格执行缴费政策或未完成征收
计划等情形形成的基金收入缺口，由县（市）、区政府（管委会）负责补足或追缴到位. Three causes, each
measured on its own, each with its figure:

- ``subsidy_not_paid`` (未按规定补助到位): max(0, the county plan's subsidies − the subsidies
  posted with the county in the year);
- ``collection_plan_missed`` (未完成征收计划): max(0, the county plan's contributions − the
  contributions posted with the county in the year);
- ``contribution_policy_not_enforced`` (未严格执行缴费政策): the county's financing below the
  city's unified financing standard, which the seed has the county pay up in five yearly
  instalments (:mod:`clearing.catch_up`): the year's instalment still unpaid. The seed gives
  no other measure of the contribution policy, so in a pool without a catch-up this cause is
  never raised.

The first two are owed under the settlement's make-good reference ``MAKEGOOD-<year>-<county>``;
the third is the catch-up instalment itself (``CATCHUP-<county>-<year>``), one receivable that
the settlement only points to (:mod:`clearing.owed`).
"""

from __future__ import annotations

from clearing.allocation import CountyFault, FaultCause
from clearing.catch_up import catch_up_faults, catch_up_reference
from clearing.owed import make_good_reference
from clearing.queries import county_plans, county_totals
from domain.lines import Line
from domain.money import format_fen
from projections.db import ProjectionDB


def county_faults(db: ProjectionDB, fund: str, year: int) -> tuple[CountyFault, ...]:
    """Each county's whole income shortfall of the year, by cause, in county order."""
    plans = {p.county: p for p in county_plans(db, fund, year)}
    collected = county_totals(db, fund, year, (Line.CONTRIBUTION,))
    subsidised = county_totals(db, fund, year, (Line.SUBSIDY,))
    catch_up = catch_up_faults(db, fund, year)
    faults: list[CountyFault] = []
    for county in sorted(set(plans) | set(catch_up)):
        causes: list[FaultCause] = []
        plan = plans.get(county)
        make_good = make_good_reference(year, county)
        if plan is not None:
            got = collected.get(county, 0)
            missed = max(0, plan.contributions_fen - got)
            if missed:
                causes.append(
                    FaultCause(
                        "collection_plan_missed",
                        missed,
                        f"collection plan missed by {format_fen(missed)} (planned "
                        f"{format_fen(plan.contributions_fen)}, collected {format_fen(got)})",
                        make_good,
                    )
                )
            received = subsidised.get(county, 0)
            unpaid = max(0, plan.subsidies_fen - received)
            if unpaid:
                causes.append(
                    FaultCause(
                        "subsidy_not_paid",
                        unpaid,
                        f"subsidy unpaid {format_fen(unpaid)} (planned "
                        f"{format_fen(plan.subsidies_fen)}, received {format_fen(received)})",
                        make_good,
                    )
                )
        if catch_up.get(county):
            causes.append(
                FaultCause(
                    "contribution_policy_not_enforced",
                    catch_up[county],
                    f"financing-standard catch-up unpaid {format_fen(catch_up[county])}",
                    catch_up_reference(county, year),
                )
            )
        if causes:
            faults.append(
                CountyFault(
                    county,
                    sum(c.amount_fen for c in causes),
                    "; ".join(c.detail for c in causes),
                    tuple(causes),
                )
            )
    return tuple(faults)
