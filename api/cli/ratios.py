"""Commands on ratios, warnings, enrolment and subsidies (docs/projections.md)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from api.cli.common import (
    DbOption,
    FileFormat,
    FileFormatOption,
    Format,
    FormatOption,
    FundArgument,
    Output,
    OutputOption,
    PolicyOption,
    RegionOption,
    YearOption,
    emit,
    open_app,
    out,
    settings_for,
)
from api.cli.principal import ByOption, cli_principal

enrolment_app = typer.Typer(help="Enrolment (参保人数) by county and year.", no_args_is_help=True)


def _ratio_output(rows: list[dict[str, Any]], title: str) -> Output:
    from api.exports import ratios_xlsx
    from api.exports.csv import ratios_csv
    from api.render import ratios_table

    return Output(
        rows,
        table=lambda console: ratios_table(rows, title, console),
        csv=lambda: ratios_csv(rows),
        what=f"{len(rows)} funds",
        xlsx=lambda path: ratios_xlsx(rows, path, title=title.capitalize()),
    )


def ratios(
    year: YearOption,
    region: RegionOption = None,
    policy: PolicyOption = None,
    format: FileFormatOption = FileFormat.table,  # noqa: A002
    output: OutputOption = None,
    db: DbOption = None,
) -> None:
    """One row per fund: rates, months of coverage, warning level (full year, trailing 12m)."""
    from api.usecases.read_models import ratios as read_ratios

    with open_app(settings_for(db)) as fl:
        rows = read_ratios(fl, cli_principal(), year, region=region, policy=policy)
        emit(_ratio_output(rows, f"ratios {year}"), format.value, output)


def warnings(
    year: YearOption,
    region: RegionOption = None,
    policy: PolicyOption = None,
    format: FileFormatOption = FileFormat.table,  # noqa: A002
    output: OutputOption = None,
    db: DbOption = None,
) -> None:
    """Only the funds with a warning (every level but green), most severe first."""
    from api.usecases.read_models import warnings as read_warnings

    with open_app(settings_for(db)) as fl:
        rows = read_warnings(fl, cli_principal(), year, region=region, policy=policy)
        emit(_ratio_output(rows, f"warnings {year}"), format.value, output)


@enrolment_app.command("record")
def enrolment_record(
    fund: FundArgument,
    year: YearOption,
    county: Annotated[str, typer.Option("--county", help="the county code inside the fund")],
    enrolled: Annotated[int, typer.Option("--enrolled", help="residents enrolled")],
    correct: Annotated[
        bool,
        typer.Option("--correct", help="replace the figure on record (a correction)"),
    ] = False,
    by: ByOption = None,
    db: DbOption = None,
) -> None:
    """Record how many residents a county enrolled for a year.

    The same figure again records nothing; another figure for the same county and year is
    refused unless --correct says it corrects the one on record (the latest record counts,
    the earlier one stays in the fund's history).
    """
    from api.usecases.ledger import record_enrolment
    from domain.funds import FundId

    with open_app(settings_for(db)) as fl:
        fund_id = FundId.parse(fund)
        done = record_enrolment(
            fl,
            cli_principal(by),
            fund_id,
            year=year,
            county=county,
            enrolled=enrolled,
            correct=correct,
        )
    said = f"{fund_id} {year}: {enrolled} residents enrolled in {county}"
    if done.unchanged:
        out.print(f"{said} already on record")
    elif done.previous is not None:
        out.print(f"{said} recorded (corrects {done.previous})")
    else:
        out.print(f"{said} recorded")


def subsidies(
    year: YearOption,
    fund: Annotated[str | None, typer.Argument(help="only this fund (scheme:region)")] = None,
    region: RegionOption = None,
    policy: PolicyOption = None,
    format: FormatOption = Format.table,  # noqa: A002
    output: OutputOption = None,
    db: DbOption = None,
) -> None:
    """Subsidy due (enrolled × standard × share), received and outstanding, per level."""
    from api.exports.csv import subsidies_csv, subsidy_lines
    from api.render import subsidies_table
    from api.usecases.read_models import subsidies as read_subsidies
    from domain.funds import FundId

    with open_app(settings_for(db)) as fl:
        fund_id = None if fund is None else FundId.parse(fund)
        rows = read_subsidies(fl, cli_principal(), year, fund=fund_id, region=region, policy=policy)
        result = Output(
            rows,
            table=lambda console: subsidies_table(list(subsidy_lines(rows)), year, console),
            csv=lambda: subsidies_csv(rows),
            what=f"subsidies {year}: {len(rows)} funds",
        )
        emit(result, format.value, output)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``fundledger`` application."""
    app.command("ratios")(ratios)
    app.command("warnings")(warnings)
    app.add_typer(enrolment_app, name="enrolment")
    app.command("subsidies")(subsidies)
