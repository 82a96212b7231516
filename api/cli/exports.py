"""Commands that export spreadsheets and charts: ``fundledger chart``, and the statement's
``--format xlsx`` (the writers are in :mod:`api.exports`)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from api.cli.common import DbOption, open_app, out, settings_for
from api.exports import fund_chart_png, statement_xlsx
from domain.errors import InvalidInput
from domain.funds import FundId
from projections.policy import load_policy


class StatementFormat(StrEnum):
    """Output formats of ``fundledger statement``."""

    table = "table"
    json = "json"
    csv = "csv"
    xlsx = "xlsx"


StatementFormatOption = Annotated[
    StatementFormat, typer.Option("--format", help="table, json, csv or xlsx (with --output)")
]
OutputOption = Annotated[Path | None, typer.Option("--output", help="the file to write (xlsx)")]


def xlsx_target(format: StatementFormat, output: Path | None) -> Path | None:  # noqa: A002
    """The workbook to write: ``--output`` when the format is xlsx, else None.

    Raises:
        InvalidInput: ``--format xlsx`` without ``--output``.
    """
    if format is not StatementFormat.xlsx:
        return None
    if output is None:
        raise InvalidInput("--format xlsx needs --output FILE", field="output")
    return output


def write_statement(statement: dict[str, Any], output: Path) -> None:
    """Write one statement's workbook and say so."""
    statement_xlsx([statement], output)
    out.print(f"{output}: statement of {statement['fund']} {statement['year']}")


def chart(
    fund: Annotated[str, typer.Argument(help="scheme:region, e.g. resident:140100")],
    output: Annotated[Path, typer.Option("--output", help="the PNG file to write")],
    from_year: Annotated[
        int | None, typer.Option("--from-year", help="the first year shown (default: the first)")
    ] = None,
    to_year: Annotated[
        int | None, typer.Option("--to-year", help="the last year shown (default: the latest)")
    ] = None,
    db: DbOption = None,
) -> None:
    """A PNG of a fund's month-end balance and months of coverage across its years.

    Months of coverage: the month-end balance over the average monthly expense subtotal of
    the trailing 12 months (of the months on the books while they hold fewer than 12).
    """
    with open_app(settings_for(db)) as fl:
        fund_id = FundId.parse(fund)
        months = fl.read_models.monthly(fund_id, from_year=from_year, to_year=to_year)
        bands = load_policy(fund_id.province).warnings.bands
        fund_chart_png(str(fund_id), months, output, bands=bands)
    out.print(f"{output}: {fund_id}, {len(months)} months, {months[0].label} to {months[-1].label}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``fundledger`` application."""
    app.command("chart")(chart)
