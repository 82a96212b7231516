"""The fund page (docs/workbench.md): the official statement of a year (restated or as
closed, as of a moment), the monthly balance and trailing-12-month coverage chart, budget
execution, subsidies per level, the downloads, and the fund's events page with its chain.

Every figure comes from :mod:`api.usecases`, which authorizes: a municipal user asking for
another region's fund gets the 403 page. The downloads are the API's own exports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from api.exports.csv import statement_csv
from api.exports.xlsx import LINE_NAMES, SUB_NAMES, XLSX_MEDIA_TYPE, statement_xlsx_bytes
from api.http.deps import AppDep
from api.usecases import budgets, history, read_models
from api.web import charts, deps, i18n
from api.web.deps import Viewer, page
from api.web.overview import default_year
from domain.errors import InvalidInput, NotFound
from domain.funds import FundId

router = APIRouter(route_class=deps.WebRoute, include_in_schema=False)

View = Literal["restated", "as_closed"]
EVENTS_PER_PAGE = 50


@dataclass(frozen=True)
class StatementLine:
    """One row of the statement as the page shows it: Chinese name first, English beside."""

    zh: str
    en: str
    amount: str | None
    kind: str = "money"  # money, percent, months
    sub: bool = False
    total: bool = False


def _english(key: str) -> str:
    return key.replace(".", ": ").replace("_", " ")


def statement_lines(statement: dict[str, Any]) -> list[StatementLine]:
    """The statement in the official order: opening balance, income, expense, surplus,
    closing balance, ratios (the line names of the XLSX export)."""
    lines = [
        StatementLine(
            LINE_NAMES["opening_balance"],
            "opening balance",
            statement["opening_balance"],
            total=True,
        )
    ]
    for side in ("income", "expense"):
        for key, value in statement[side].items():
            if key in ("subtotal", "total"):
                lines.append(
                    StatementLine(LINE_NAMES[f"{side}.{key}"], f"{side} {key}", value, total=True)
                )
            elif "." in key:
                sub = key.partition(".")[2]
                name = f"其中：{SUB_NAMES[sub]}" if sub in SUB_NAMES else f"其中：{sub}"
                lines.append(StatementLine(name, _english(key), value, sub=True))
            else:
                lines.append(StatementLine(LINE_NAMES.get(key, key), _english(key), value))
    for key in ("current_surplus", "closing_balance"):
        lines.append(StatementLine(LINE_NAMES[key], _english(key), statement[key], total=True))
    for key, value in statement["ratios"].items():
        kind = "months" if key.startswith("months") else "percent"
        lines.append(StatementLine(LINE_NAMES.get(key, key), _english(key), value, kind))
    return lines


def _as_of(text: str | None) -> str | None:
    """An "as of" from the page's form: ``2025-01-31T18:00`` (a browser's datetime-local, read
    in Beijing time) or full ISO 8601 with its offset."""
    if not text:
        return None
    if len(text) in (16, 19) and "+" not in text and not text.endswith("Z"):
        return f"{text}+08:00"
    return text


@router.get("/funds/{fund}", name="fund")
def fund_page(
    fund: str,
    *,
    request: Request,
    app: AppDep,
    who: Viewer,
    year: Annotated[int, Query(ge=1990, le=2100)] = 0,
    view: Annotated[View, Query()] = "restated",
    as_of: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    """The fund's statement of the year and everything beside it."""
    fund_id = FundId.parse(fund)
    year = year or default_year()
    cutoff = _as_of(as_of)
    # what the page shows of the request, whether or not it answers with a statement
    asked: dict[str, Any] = {
        "nav": "overview",
        "fund": str(fund_id),
        "year": year,
        "view": view,
        "as_of": as_of or "",
    }
    try:
        statement = read_models.statement(app, who, fund_id, year, view=view, as_of=cutoff)
    except InvalidInput as error:  # e.g. no as-closed view of a year not closed yet
        return page(
            request, "fund.html", who, status_code=400, statement=None, refused=str(error), **asked
        )
    lang = i18n.language_of(request)
    try:
        execution: dict[str, Any] | None = budgets.execution(app, who, fund_id, year)
        no_execution = None
    except (NotFound, InvalidInput) as error:
        execution, no_execution = None, str(error)
    subsidies = read_models.subsidies(app, who, year, fund=fund_id)
    try:
        data = read_models.chart_data(app, who, fund_id, to_year=year)
        chart = charts.monthly_balance(
            i18n.translate(lang, "fund.chart.title"),
            i18n.translate(lang, "fund.chart.balance"),
            i18n.translate(lang, "fund.chart.coverage"),
            data.months,
            data.bands,
        )
    except InvalidInput:
        chart = None
    query = f"year={year}&view={view}" + (f"&as_of={cutoff}" if cutoff else "")
    return page(
        request,
        "fund.html",
        who,
        **asked,
        statement=statement,
        lines=statement_lines(statement),
        execution=execution,
        no_execution=no_execution,
        subsidies=subsidies,
        chart=chart,
        download_query=query,
        line_names=LINE_NAMES,
    )


def _download_name(fund: str, year: int, view: str, suffix: str) -> str:
    return f"statement-{fund.replace(':', '-')}-{year}-{view}.{suffix}"


@router.get("/funds/{fund}/statement.{suffix}", name="fund_download")
def download(
    fund: str,
    suffix: Literal["xlsx", "csv"],
    *,
    app: AppDep,
    who: Viewer,
    year: Annotated[int, Query(ge=1990, le=2100)],
    view: Annotated[View, Query()] = "restated",
    as_of: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    """The statement as the API exports it: XLSX or CSV (UTF-8)."""
    fund_id = FundId.parse(fund)
    data = read_models.statement(app, who, fund_id, year, view=view, as_of=_as_of(as_of))
    name = _download_name(str(fund_id), year, view, suffix)
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if suffix == "xlsx":
        return Response(statement_xlsx_bytes(data), media_type=XLSX_MEDIA_TYPE, headers=headers)
    return Response(statement_csv(data), media_type="text/csv; charset=utf-8", headers=headers)


@router.get("/funds/{fund}/events", name="fund_events")
def events_page(
    fund: str,
    *,
    request: Request,
    app: AppDep,
    who: Viewer,
    after: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    """The fund's events, a page at a time, with who recorded each and the chain's state."""
    fund_id = FundId.parse(fund)
    found = history.events(app, who, fund_id, after=after, limit=EVENTS_PER_PAGE)
    return page(
        request,
        "fund_events.html",
        who,
        nav="overview",
        fund=str(fund_id),
        after=after,
        found=found,
    )
