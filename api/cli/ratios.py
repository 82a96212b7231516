"""Commands on ratios, warnings, enrolment and subsidies (DOMAIN.md §3 and §5)."""

from __future__ import annotations

import csv
import importlib
import io
import sys
from collections.abc import Callable, Iterator
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from api.bootstrap import App
from api.cli.common import DbOption, Format, FormatOption, open_app, out, settings_for
from api.render import to_json
from domain.errors import InvalidInput
from domain.funds import FundId
from domain.regions import check_region, province_of
from projections.db import ProjectionDB
from projections.policy import Policy, load_policy
from projections.ratios_report import ratios_report
from projections.subsidies import subsidies_report

enrolment_app = typer.Typer(help="Enrolment (参保人数) by county and year.", no_args_is_help=True)


class RatiosFormat(StrEnum):
    """Output formats of ``fundledger ratios``."""

    table = "table"
    json = "json"
    csv = "csv"
    xlsx = "xlsx"


YearOption = Annotated[int, typer.Option("--year", help="the fiscal year")]
RegionOption = Annotated[
    str | None, typer.Option("--region", help="only funds inside this region code, e.g. 140100")
]
PolicyOption = Annotated[
    Path | None,
    typer.Option("--policy", help="a policy file (TOML) instead of each province's own"),
]


def ratios(
    year: YearOption,
    region: RegionOption = None,
    policy: PolicyOption = None,
    format: Annotated[  # noqa: A002
        RatiosFormat, typer.Option("--format", help="table, json, csv or xlsx")
    ] = RatiosFormat.table,
    output: Annotated[
        Path | None, typer.Option("--output", help="the file to write (xlsx)")
    ] = None,
    db: DbOption = None,
) -> None:
    """One row per fund: rates, months of coverage, warning level (full year, trailing 12m)."""
    with open_app(settings_for(db)) as fl:
        rows = _ratio_rows(fl, year, region, policy)
        if format is RatiosFormat.xlsx:
            if output is None:
                raise InvalidInput("--format xlsx needs --output FILE", field="output")
            _ratios_xlsx()(rows, output)
    if format is RatiosFormat.xlsx:
        out.print(f"{output}: {len(rows)} funds")
    else:
        _show_ratios(rows, Format(format.value), f"ratios {year}")


def warnings(
    year: YearOption,
    region: RegionOption = None,
    policy: PolicyOption = None,
    format: FormatOption = Format.table,  # noqa: A002
    db: DbOption = None,
) -> None:
    """Only the funds with a warning (every level but green), most severe first."""
    with open_app(settings_for(db)) as fl:
        rows = [r for r in _ratio_rows(fl, year, region, policy) if r["warning_level"] != "green"]
    order = {"red": 0, "orange": 1, "yellow": 2, "blue": 3}
    rows.sort(key=lambda r: (order[r["warning_level"]], r["fund"]))
    _show_ratios(rows, format, f"warnings {year}")


@enrolment_app.command("record")
def enrolment_record(
    fund: Annotated[str, typer.Argument(help="scheme:region, e.g. resident:140100")],
    year: YearOption,
    county: Annotated[str, typer.Option("--county", help="the county code inside the fund")],
    enrolled: Annotated[int, typer.Option("--enrolled", help="residents enrolled")],
    correct: Annotated[
        bool,
        typer.Option("--correct", help="replace the figure on record (a correction)"),
    ] = False,
    db: DbOption = None,
) -> None:
    """Record how many residents a county enrolled for a year.

    The same figure again records nothing; another figure for the same county and year is
    refused unless --correct says it corrects the one on record (the latest record counts,
    the earlier one stays in the fund's history).
    """
    with open_app(settings_for(db)) as fl:
        fund_id = FundId.parse(fund)
        check_region(county, field="county")
        before = fl.ledger.find_fund(fund_id)
        on_record = None if before is None else before.enrolled_in(year, county)
        fl.ledger.record_enrolment(fund_id, year, county, enrolled, correct=correct)
        fl.read_models.catch_up()
    if on_record == enrolled:
        out.print(f"{fund_id} {year}: {enrolled} residents enrolled in {county} already on record")
    elif on_record is not None:
        out.print(
            f"{fund_id} {year}: {enrolled} residents enrolled in {county} recorded "
            f"(corrects {on_record})"
        )
    else:
        out.print(f"{fund_id} {year}: {enrolled} residents enrolled in {county} recorded")


def subsidies(
    year: YearOption,
    fund: Annotated[str | None, typer.Option("--fund", help="only this fund")] = None,
    policy: PolicyOption = None,
    format: FormatOption = Format.table,  # noqa: A002
    db: DbOption = None,
) -> None:
    """Subsidy due (enrolled × standard × share), received and outstanding, per level."""
    with open_app(settings_for(db)) as fl:
        fl.read_models.catch_up()
        name = None if fund is None else str(FundId.parse(fund))
        policy_for = _policy_for(policy)
        rows = [
            item.to_json()
            for database in _databases(fl, None if name is None else name.split(":")[1])
            for item in subsidies_report(database, year, policy_for=policy_for, fund=name)
        ]
    if format is Format.json:
        sys.stdout.write(to_json(rows) + "\n")
    elif format is Format.csv:
        sys.stdout.write(_subsidies_csv(rows))
    else:
        _subsidies_table(rows, year)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``fundledger`` application."""
    app.command("ratios")(ratios)
    app.command("warnings")(warnings)
    app.add_typer(enrolment_app, name="enrolment")
    app.command("subsidies")(subsidies)


# ------------------------------------------------------------------------------- helpers


def _policy_for(path: Path | None) -> Callable[[str], Policy]:
    if path is None:
        return load_policy
    given = load_policy("", path)  # the user's file, for every province
    return lambda _province: given


def _databases(fl: App, region: str | None) -> Iterator[ProjectionDB]:
    """The read-model databases to ask: the region's province's, or every one."""
    if region is not None:
        yield fl.read_models.for_province(province_of(check_region(region))).db
        return
    yield from (projector.db for projector in fl.read_models.projectors)


def _ratio_rows(
    fl: App, year: int, region: str | None, policy: Path | None
) -> list[dict[str, Any]]:
    fl.read_models.catch_up()
    policy_for = _policy_for(policy)
    rows = [
        row
        for database in _databases(fl, region)
        for row in ratios_report(
            database, year, policy_for=policy_for, today=date.today(), region=region
        )
    ]
    return sorted(rows, key=lambda r: str(r["fund"]))


def _ratios_xlsx() -> Callable[[list[dict[str, Any]], Path], None]:
    """The spreadsheet writer of ``api.exports``, imported only when asked for."""
    try:
        exports: Any = importlib.import_module("api.exports")
    except ModuleNotFoundError as error:
        if error.name != "api.exports":
            raise
        raise InvalidInput("xlsx output is not available in this build", field="format") from None
    writer: Callable[[list[dict[str, Any]], Path], None] = exports.ratios_xlsx
    return writer


def _show_ratios(rows: list[dict[str, Any]], format: Format, title: str) -> None:  # noqa: A002
    if format is Format.json:
        sys.stdout.write(to_json(rows) + "\n")
    elif format is Format.csv:
        sys.stdout.write(_ratios_csv(rows))
    else:
        _ratios_table(rows, title)


def _reasons(row: dict[str, Any]) -> str:
    return " | ".join(f"{w['level']}: {w['message']}" for w in row["warnings"])


def _ratios_csv(rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    columns = [key for key in rows[0] if key != "warnings"] if rows else ["fund"]
    writer.writerow([*columns, "warnings"])
    for row in rows:
        cells = [
            ""
            if row[c] is None
            else str(row[c]).lower()
            if isinstance(row[c], bool)
            else str(row[c])
            for c in columns
        ]
        writer.writerow([*cells, _reasons(row)])
    return buffer.getvalue()


def _ratios_table(rows: list[dict[str, Any]], title: str) -> None:
    table = Table(title=f"{title}: {len(rows)} funds")
    heads = (
        "fund",
        "income",
        "expense",
        "closing",
        "surplus rate",
        "balance rate",
        "months",
        "12m to",
        "12m months",
        "level",
        "why",
    )
    for head in heads:
        table.add_column(head, justify="left" if head in ("fund", "level", "why") else "right")
    colours = {"red": "red", "orange": "dark_orange", "yellow": "yellow", "blue": "blue"}
    for row in rows:
        level = row["warning_level"]
        cells = (
            row["fund"],
            row["income_subtotal"],
            row["expense_subtotal"],
            row["closing_balance"],
            row["current_surplus_rate"],
            row["accumulated_balance_rate"],
            row["months_of_coverage"],
            (row["trailing_period"] or "").partition("..")[2],
            row["trailing_months_of_coverage"],
        )
        shown = [("—" if c is None else str(c)) for c in cells]
        mark = f"[{colours[level]}]{level}[/]" if level in colours else level
        table.add_row(*shown, mark, "\n".join(w["message"] for w in row["warnings"]))
    out.print(table)


SUBSIDY_COLUMNS = (
    "fund",
    "year",
    "enrolled",
    "standard_per_person",
    "level",
    "share",
    "due",
    "received",
    "outstanding",
    "earmarked_received",
)


def _subsidy_lines(rows: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for row in rows:
        for level in row["levels"]:
            yield {**{k: row[k] for k in SUBSIDY_COLUMNS[:4]}, **level}
        yield {**row, "level": "total", "share": "1.000000"}


def _subsidies_csv(rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(SUBSIDY_COLUMNS)
    for line in _subsidy_lines(rows):
        writer.writerow([str(line[c]) for c in SUBSIDY_COLUMNS])
    return buffer.getvalue()


def _subsidies_table(rows: list[dict[str, Any]], year: int) -> None:
    table = Table(title=f"subsidies {year}: due, received, outstanding (yuan)")
    for head in SUBSIDY_COLUMNS:
        if head != "year":
            table.add_column(
                head.replace("_", " "), justify="left" if head in ("fund", "level") else "right"
            )
    for line in _subsidy_lines(rows):
        style = "bold" if line["level"] == "total" else None
        table.add_row(*(str(line[c]) for c in SUBSIDY_COLUMNS if c != "year"), style=style)
        if line["level"] == "total":
            table.add_section()
    out.print(table)
