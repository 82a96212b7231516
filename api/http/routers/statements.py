"""``GET /v1/funds/{fund}/statement``: JSON, or CSV and XLSX by ``Accept`` (docs/contract.md)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query
from fastapi.responses import Response

from api.exports.csv import statement_csv
from api.exports.png import fund_chart_png_bytes
from api.exports.xlsx import XLSX_MEDIA_TYPE, statement_xlsx_bytes
from api.http.deps import AppDep, Caller
from api.schemas_out import StatementOut
from api.usecases import read_models
from domain.funds import FundId

router = APIRouter(prefix="/v1", tags=["statements"])


@router.get(
    "/funds/{fund}/statement",
    operation_id="get_statement",
    response_model=StatementOut,
    summary="A fund's statement for a year, with its ratios and warnings",
    responses={
        200: {
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
            }
        }
    },
)
def statement(
    fund: str,
    *,
    app: AppDep,
    who: Caller,
    year: Annotated[int, Query(ge=1990, le=2100, description="the fiscal year")],
    as_of: Annotated[
        str | None, Query(description="what had been recorded then (ISO 8601 with offset)")
    ] = None,
    view: Annotated[Literal["restated", "as_closed"], Query()] = "restated",
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Any:
    """The statement JSON; ``Accept: text/csv`` or the xlsx type for those files."""
    data = read_models.statement(app, who, FundId.parse(fund), year, view=view, as_of=as_of)
    wanted = accept or ""
    if XLSX_MEDIA_TYPE in wanted:
        name = f"statement-{fund.replace(':', '-')}-{year}.xlsx"
        headers = {"Content-Disposition": f'attachment; filename="{name}"'}
        return Response(statement_xlsx_bytes(data), media_type=XLSX_MEDIA_TYPE, headers=headers)
    if "text/csv" in wanted:
        return Response(statement_csv(data), media_type="text/csv; charset=utf-8")
    return data


@router.get(
    "/funds/{fund}/chart",
    operation_id="get_fund_chart",
    summary="A PNG of the fund's month-end balance and months of coverage across its years",
    response_class=Response,
    responses={200: {"content": {"image/png": {"schema": {"type": "string", "format": "binary"}}}}},
)
def chart(
    fund: str,
    app: AppDep,
    who: Caller,
    from_year: Annotated[int | None, Query(ge=1990, le=2100)] = None,
    to_year: Annotated[int | None, Query(ge=1990, le=2100)] = None,
) -> Response:
    """As ``fundledger chart``: the figures from the read models, the province's bands."""
    data = read_models.chart_data(
        app, who, FundId.parse(fund), from_year=from_year, to_year=to_year
    )
    png = fund_chart_png_bytes(data.fund, data.months, bands=data.bands)
    return Response(png, media_type="image/png")
