"""The year-end workbench (provincial): levies, inputs, the allocation, what-if, the steps.

One page per province and year, ``/yearend``: the levies due and posted, each pool's grade and
county plans, the allocation as it stands (the recorded settlement, else a dry run) with every
figure's rules, a what-if against a policy the officer edits, the draft, approve and post
steps, the report to download and what the settlement left owed. Every figure and every step
comes from the same use cases as ``/v1/settlements`` and ``/v1/provinces/{p}/levies``
(:mod:`api.usecases.settlements`, :mod:`api.usecases.clearing`); the page offers approval only
to someone who drafted no version of the settlement, and the use case refuses it anyway.
"""

from __future__ import annotations

import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import RedirectResponse

from api.bootstrap import App
from api.exports.settlement import MEDIA_TYPES, FileFormat, render
from api.http.deps import AppDep
from api.usecases import clearing, settlements, yearend
from api.usecases.settlements import SettlementKey
from api.web import deps
from api.web.deps import CheckedForm, Viewer, page
from clearing.report import MONEY_FIELDS, SettlementView
from domain.access import Action, Principal, may
from domain.regions import province_of
from domain.settlement import SettlementNotFound

router = APIRouter(route_class=deps.WebRoute, include_in_schema=False)
Province = Annotated[str | None, Query(pattern=r"^\d{6}$", description="the province")]
Year = Annotated[int | None, Query(ge=1998, le=2100, description="the settled year")]
ProvinceField = Annotated[str, Form(pattern=r"^\d{6}$")]
YearField = Annotated[int, Form(ge=1998, le=2100)]
STEPS = ("draft", "approve", "post", "levies")
FILE_FORMATS: dict[str, FileFormat] = {"xlsx": "xlsx", "csv": "csv"}


def _key(who: Principal, province: str | None, year: int | None) -> SettlementKey:
    """The province and year asked, else the caller's province and last year."""
    return SettlementKey(
        province or province_of(who.region), year or datetime.date.today().year - 1
    )


@router.get("/yearend", name="yearend")
def workbench(
    request: Request,
    *,
    app: AppDep,
    who: Viewer,
    province: Province = None,
    year: Year = None,
    done: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    """The workbench of a province's year end."""
    key = _key(who, province, year)
    return page(request, "yearend.html", who, **_context(app, who, key, done=done))


@router.post("/yearend/what-if")
def what_if(
    request: Request,
    *,
    app: AppDep,
    who: Viewer,
    _session: CheckedForm,
    province: ProvinceField,
    year: YearField,
    policy: Annotated[str, Form(max_length=200_000)],
) -> Response:
    """The workbench with the allocation under the edited policy beside the current one."""
    key = SettlementKey(province, year)
    both = settlements.what_if(app, who, key, settlements.policy_from_toml(policy))
    context = _context(app, who, key, policy_text=policy)
    context["what_if"] = what_if_table(both.current, both.alternative)
    context["what_if_policy"] = both.alternative.policy
    return page(request, "yearend.html", who, **context)


@router.post("/yearend/{step}")
def step(
    step: str,
    *,
    app: AppDep,
    who: Viewer,
    _session: CheckedForm,
    province: ProvinceField,
    year: YearField,
) -> Response:
    """Draft, approve or post the settlement, or post the levies; then back to the page."""
    key = SettlementKey(province, year)
    if step == "draft":
        settlements.draft(app, who, key)
    elif step == "approve":
        settlements.approve(app, who, key)
    elif step == "post":
        settlements.post(app, who, key)
    elif step == "levies":
        clearing.post_levy(app, who, key.province, key.year)
    else:
        return Response(status_code=404)
    query = urlencode({"province": key.province, "year": key.year, "done": step})
    return RedirectResponse(f"/yearend?{query}", status_code=303)


@router.get("/yearend/report.{fmt}")
def report(
    fmt: str, app: AppDep, who: Viewer, province: Province = None, year: Year = None
) -> Response:
    """The recorded settlement as a file (XLSX or CSV): the bytes the API answers."""
    key = _key(who, province, year)
    file_format = FILE_FORMATS.get(fmt)
    if file_format is None:
        return Response(status_code=404)
    view = settlements.report(app, who, key)
    name = f"settlement-{key.province}-{key.year}.{fmt}"
    return Response(
        render(view, file_format),
        media_type=MEDIA_TYPES[file_format],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _context(
    app: App, who: Principal, key: SettlementKey, *, done: str | None = None,
    policy_text: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Everything the page shows: the settlement as recorded (else a dry run) and its inputs."""
    try:
        recorded: SettlementView | None = settlements.report(app, who, key)
    except SettlementNotFound:
        recorded = None
    status = recorded.status if recorded else "none"
    clears = may(who, Action.CLEAR, key.province)
    books = yearend.province_books(app, who, key)  # read once: the dry run and the inputs
    allocation = recorded or (settlements.dry_run(app, who, key, books=books) if clears else None)
    owed = settlements.owed(app, who, key) if status == "posted" else []
    drafters = yearend.drafters(app, who, key)
    return {
        "nav": "yearend",
        "key": key,
        "done": done if done in STEPS else None,
        "settlement": recorded,
        "allocation": allocation,
        "status": status,
        "pools": allocation_rows(allocation) if allocation else [],
        "totals": totals(allocation) if allocation else {},
        "inputs": yearend.pool_inputs(app, who, key, books),
        "owed": owed,
        "policy_text": policy_text or yearend.shipped_policy_text(key.province),
        "may_clear": clears,
        "may_draft": clears and status in ("none", "draft"),
        "may_approve": clears and status == "draft" and who.name not in drafters,
        "may_post": clears and status == "approved",
        "drafters": drafters,
    }


def allocation_rows(view: SettlementView) -> list[dict[str, Any]]:
    """Per pool, each money figure in fen, its rules and its counties' own fault."""
    return [
        {
            "fund": p["fund"],
            **{name: p[f"{name}_fen"] for name in MONEY_FIELDS},
            "rules": list(p["rules"]),
            "counties": p["counties"],
        }
        for p in view.result["pools"]
    ]


def totals(view: SettlementView) -> dict[str, int]:
    """The sum of each money figure over the pools shown."""
    pools = view.result["pools"]
    return {name: sum(p[f"{name}_fen"] for p in pools) for name in MONEY_FIELDS}


WHAT_IF_FIELDS = ("gap", "own_fault", "draw", "borne_by_balance", "residual_to_government")


def what_if_table(current: SettlementView, other: SettlementView) -> list[dict[str, Any]]:
    """Per pool, each figure now and under the other policy, and whether they differ."""
    rows = []
    then_by_fund = {p["fund"]: p for p in other.result["pools"]}
    for now in current.result["pools"]:
        then = then_by_fund.get(now["fund"])
        cells = []
        for name in WHAT_IF_FIELDS:
            a = now[f"{name}_fen"]
            b = then[f"{name}_fen"] if then else None
            cells.append({"field": name, "now": a, "then": b, "differs": a != b})
        rows.append(
            {
                "fund": now["fund"],
                "cells": cells,
                "rules_now": now["rules"],
                "rules_then": then["rules"] if then else [],
                "differs": any(c["differs"] for c in cells),
            }
        )
    return rows
