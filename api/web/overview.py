"""The province overview (docs/workbench.md): every pool of a year with its figures and
warning level, the months-of-coverage chart against the policy's bands, the adjustment fund's
balance and levies, and each pool's trend over the years.

A provincial user and an auditor see the whole province; a municipal user sees its own
region (the use cases scope every read). Sorting and filtering are the page's own.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from api.bootstrap import App
from api.http.deps import AppDep
from api.usecases import clearing, read_models
from api.web import charts, deps, i18n
from api.web.deps import Viewer, page
from domain.access import EVERY_PROVINCE, AccessDenied, Principal
from domain.errors import DomainError
from domain.funds import FundId
from domain.regions import province_of

router = APIRouter(route_class=deps.WebRoute, include_in_schema=False)

TREND_YEARS = 5
"""How many years the trend chart shows, ending with the year asked for."""
SORTS = ("fund", "income", "expense", "surplus_rate", "months", "level")
Sort = Literal["fund", "income", "expense", "surplus_rate", "months", "level"]
LEVELS = ("red", "orange", "yellow", "blue", "green")


def default_year() -> int:
    """The last complete year: what an officer looks at first."""
    return date.today().year - 1


def _sort_key(sort: str) -> Any:
    from decimal import Decimal

    def number(text: object) -> Decimal:
        return Decimal(str(text)) if text not in (None, "") else Decimal("-Infinity")

    keys = {
        "fund": lambda r: r["fund"],
        "income": lambda r: number(r["income_subtotal"]),
        "expense": lambda r: number(r["expense_subtotal"]),
        "surplus_rate": lambda r: number(r["current_surplus_rate"]),
        "months": lambda r: number(r["months_of_coverage"]),
        "level": lambda r: (read_models.SEVERITY.get(r["warning_level"], 9), r["fund"]),
    }
    return keys[sort]


def _province(who: Principal, rows: list[dict[str, Any]], asked: str | None) -> str | None:
    """The province of the page: asked for, else the caller's, else the first pool's."""
    if asked:
        return asked
    if who.region != EVERY_PROVINCE:
        return province_of(who.region)
    for row in rows:
        return FundId.parse(str(row["fund"])).province
    return None


@router.get("/overview", name="overview")
def overview(
    *,
    request: Request,
    app: AppDep,
    who: Viewer,
    year: Annotated[int, Query(ge=1990, le=2100)] = 0,
    region: Annotated[str | None, Query(max_length=6)] = None,
    level: Annotated[str | None, Query(max_length=10)] = None,
    sort: Annotated[Sort, Query()] = "fund",
    desc: Annotated[bool, Query()] = False,
) -> Response:
    """Every pool of the year, sortable and filterable, with the charts and the levies."""
    year = year or default_year()
    region = region or None
    rows = read_models.ratios(app, who, year, region=region)
    pools = [r for r in rows if str(r["fund"]).startswith("resident:")]
    adjustment = [r for r in rows if not str(r["fund"]).startswith("resident:")]
    shown = [r for r in pools if not level or r["warning_level"] == level]
    shown.sort(key=_sort_key(sort), reverse=desc)

    province = _province(who, rows, None)
    lang = i18n.language_of(request)

    def t(key: str) -> str:
        return i18n.translate(lang, key)

    bands = _bands(province)
    bars = (
        charts.coverage_bars(
            t("overview.chart.bars"),
            [(str(r["fund"]).split(":")[1], r["months_of_coverage"]) for r in pools],
            bands,
        )
        if pools
        else None
    )
    levies = _levies(app, who, province, year)
    return page(
        request,
        "overview.html",
        who,
        nav="overview",
        year=year,
        region=region or "",
        level=level or "",
        sort=sort,
        desc=desc,
        sorts=SORTS,
        levels=LEVELS,
        pools=shown,
        pool_count=len(pools),
        adjustment=adjustment,
        bars=bars,
        bands=bands,
        levies=levies,
        province=province,
        policy=rows[0]["policy"] if rows else None,
    )


def _bands(province: str | None) -> tuple[Any, ...]:
    from projections.policy import load_policy

    if province is None:
        return ()
    return tuple(load_policy(province).warnings.bands)


def _levies(app: App, who: Principal, province: str | None, year: int) -> clearing.Levies | None:
    """The adjustment fund's balance and levies of the year (None where there is none)."""
    if province is None:
        return None
    try:
        return clearing.levies(app, who, province, year)
    except AccessDenied:
        raise
    except DomainError:  # no policy or no base year: the page shows no levies
        return None


@router.get("/overview/trend.svg", name="overview_trend")
def trend_chart(
    request: Request,
    app: AppDep,
    who: Viewer,
    year: Annotated[int, Query(ge=1990, le=2100)] = 0,
    region: Annotated[str | None, Query(max_length=6)] = None,
) -> Response:
    """Each pool's months of coverage over the years ending with ``year`` (an SVG image of
    its own, so that the overview does not wait for the earlier years' figures)."""
    year = year or default_year()
    region = region or None
    years = list(range(year - TREND_YEARS + 1, year + 1))
    series: dict[str, list[str | None]] = {}
    for index, past in enumerate(years):
        for row in read_models.ratios(app, who, past, region=region):
            fund = str(row["fund"])
            if fund.startswith("resident:"):
                points = series.setdefault(fund.split(":")[1], [None] * len(years))
                points[index] = row["months_of_coverage"]
    province = _province(who, [], None) if who.region != EVERY_PROVINCE else None
    if province is None and series:
        province = province_of(next(iter(series)))
    title = i18n.translate(i18n.language_of(request), "overview.chart.trend")
    chart = charts.coverage_trend(title, years, dict(sorted(series.items())), _bands(province))
    return Response(str(chart), media_type="image/svg+xml")
