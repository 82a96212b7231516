"""Commands of the clearing house: levy, assess, plan, catch-up, and settle (DOMAIN.md §6).

Who acts is ``--by``, else ``FUNDLEDGER_PRINCIPAL``, else the operating-system user. Every
read first catches the read models up with the ledger.
"""

from __future__ import annotations

import getpass
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console

from api.bootstrap import App
from api.cli.common import DbOption, Format, FormatOption, open_app, out, settings_for
from api.render import to_json
from clearing.catch_up import catch_up_schedule, schedule_rows
from clearing.levy import levy_plan, post_levies
from clearing.owed import owed_amounts, owed_rows
from clearing.policy import load_policy
from clearing.pool_inputs import assess as record_grade
from clearing.pool_inputs import check_province
from clearing.pool_inputs import plan as record_plan
from clearing.report import SettlementView, report_csv
from clearing.settlement import approve as approve_settlement
from clearing.settlement import draft as draft_settlement
from clearing.settlement import dry_run, render, settlement_view, what_if
from clearing.settlement import post as post_settlement
from clearing.tables import (
    levy_rows,
    print_allocation,
    print_settlement,
    rows_csv,
    rows_table,
    what_if_rows,
)
from domain.errors import InvalidInput
from domain.funds import FundId
from domain.money import format_fen, parse_yuan

settle_app = typer.Typer(
    help="The year-end gap allocation: draft, what-if, dry-run, approve, post, report, owed.",
    no_args_is_help=True,
)

ProvinceOption = Annotated[str, typer.Option("--province", help="province code, e.g. 140000")]
YearOption = Annotated[int, typer.Option("--year", help="the fiscal year")]
ByOption = Annotated[
    str | None, typer.Option("--by", help="who acts (default: FUNDLEDGER_PRINCIPAL or you)")
]
PolicyOption = Annotated[
    Path | None, typer.Option("--policy", help="a policy TOML file (default: the province's)")
]
FundArg = Annotated[str, typer.Argument(help="scheme:region, e.g. resident:140100")]


def principal(by: str | None) -> str:
    """``--by``, else ``FUNDLEDGER_PRINCIPAL``, else the operating-system user."""
    return by or os.environ.get("FUNDLEDGER_PRINCIPAL") or getpass.getuser()


# --------------------------------------------------------------------------- inputs


def levy(
    province: ProvinceOption,
    year: YearOption,
    post: Annotated[bool, typer.Option("--post", help="post the levies not yet posted")] = False,
    policy: PolicyOption = None,
    format: FormatOption = Format.table,  # noqa: A002
    db: DbOption = None,
) -> None:
    """Each pool's levy into the adjustment fund (调剂金计提); ``--post`` posts them."""
    with open_app(settings_for(db)) as fl:
        check_province(province)
        levies = levy_plan(fl.read_models, province, year, load_policy(province, year, policy))
        status = {}
        if post:
            status = {p.fund: p.status for p in post_levies(fl.ledger, fl.read_models, levies)}
    rows = levy_rows(levies, status)
    if format is Format.json:
        sys.stdout.write(to_json(rows) + "\n")
    elif format is Format.csv:
        sys.stdout.write(rows_csv(rows))
    else:
        cap = "none" if levies.cap_fen is None else format_fen(levies.cap_fen)
        title = (
            f"levy {province} {year} · ratio {levies.ratio} · {levies.adjustment_fund} balance "
            f"{format_fen(levies.balance_fen)} · cap {cap}"
        )
        rows_table(title, rows, out)
        out.print(f"total levy: {format_fen(levies.total_fen)}")


def assess(
    fund: FundArg,
    year: YearOption,
    grade: Annotated[str, typer.Option("--grade", help="the assessment grade, e.g. A")],
    score: Annotated[str | None, typer.Option("--score", help="the score, e.g. 91.5")] = None,
    policy: PolicyOption = None,
    by: ByOption = None,
    db: DbOption = None,
) -> None:
    """Record a pool's provincial assessment for a year (考核评价)."""
    with open_app(settings_for(db)) as fl:
        changed = record_grade(
            fl.ledger,
            FundId.parse(fund),
            year,
            grade=grade,
            score=score,
            principal=principal(by),
            policy_path=policy,
        )
    out.print(f"{fund} {year}: grade {grade.strip()} " + ("recorded" if changed else "unchanged"))


def plan(
    fund: FundArg,
    year: YearOption,
    county: Annotated[str, typer.Option("--county", help="county code inside the pool")],
    contributions: Annotated[str, typer.Option("--contributions", help="planned, yuan")],
    subsidies: Annotated[str, typer.Option("--subsidies", help="planned, yuan")],
    spending: Annotated[str, typer.Option("--spending", help="planned, yuan")],
    by: ByOption = None,
    db: DbOption = None,
) -> None:
    """Set a county's yearly plan in a municipal pool (年度收支计划)."""
    with open_app(settings_for(db)) as fl:
        amounts = (
            parse_yuan(contributions, field="contributions"),
            parse_yuan(subsidies, field="subsidies"),
            parse_yuan(spending, field="spending"),
        )
        changed = record_plan(
            fl.ledger,
            FundId.parse(fund),
            year,
            county=county,
            amounts=amounts,
            principal=principal(by),
        )
    out.print(f"{fund} {year} county {county}: plan " + ("set" if changed else "unchanged"))


def catch_up(
    fund: Annotated[str, typer.Option("--fund", help="the municipal pool, e.g. resident:320600")],
    format: FormatOption = Format.table,  # noqa: A002
    db: DbOption = None,
) -> None:
    """Nantong's financing-standard catch-up: owed per county, instalments due against paid."""
    with open_app(settings_for(db)) as fl:
        fund_id = FundId.parse(fund)
        fl.read_models.catch_up()
        schedule = catch_up_schedule(fl.read_models.for_province(fund_id.province).db, str(fund_id))
    rows = schedule_rows(schedule)
    if format is Format.json:
        sys.stdout.write(to_json(rows) + "\n")
    elif format is Format.csv:
        sys.stdout.write(rows_csv(rows))
    else:
        rows_table(
            f"financing-standard catch-up · {fund_id} · 1200.00 per person from 2020", rows, out
        )


# --------------------------------------------------------------------------- settle


@settle_app.command("draft")
def draft(
    province: ProvinceOption,
    year: YearOption,
    policy: PolicyOption = None,
    by: ByOption = None,
    dry: Annotated[
        bool, typer.Option("--dry-run", help="compute and print; record nothing")
    ] = False,
    format: FormatOption = Format.table,  # noqa: A002
    db: DbOption = None,
) -> None:
    """Draft (or redraft) the year's settlement; ``--dry-run`` records nothing."""
    with open_app(settings_for(db)) as fl:
        check_province(province)
        if dry:
            view, word = dry_run(fl, province, year, policy), "dry run: nothing recorded"
        else:
            view, changed = draft_settlement(fl, province, year, principal(by), policy)
            word = "drafted" if changed else "unchanged: the same as the current draft"
    _show(view, format, word)


@settle_app.command("dry-run")
def dry_run_command(
    province: ProvinceOption,
    year: YearOption,
    policy: PolicyOption = None,
    format: FormatOption = Format.table,  # noqa: A002
    db: DbOption = None,
) -> None:
    """Compute the year's allocation and print it; record nothing."""
    with open_app(settings_for(db)) as fl:
        check_province(province)
        view = dry_run(fl, province, year, policy)
    _show(view, format, "dry run: nothing recorded")


@settle_app.command("what-if")
def what_if_command(
    province: ProvinceOption,
    year: YearOption,
    policy: Annotated[Path, typer.Option("--policy", help="the policy TOML file to compare")],
    format: FormatOption = Format.table,  # noqa: A002
    db: DbOption = None,
) -> None:
    """The year under its current policy and under another, side by side; records nothing."""
    with open_app(settings_for(db)) as fl:
        check_province(province)
        both = what_if(fl, province, year, policy)
    rows = what_if_rows(both)
    if format is Format.json:
        data = {"current": both.current.to_json(), "what_if": both.alternative.to_json()}
        sys.stdout.write(to_json(data) + "\n")
        return
    if format is Format.csv:
        sys.stdout.write(rows_csv(rows))
        return
    names = [f"{v.policy['name']} {v.policy['version']}" for v in (both.current, both.alternative)]
    rows_table(f"what-if {province} {year}: {names[0]} → {names[1]}", rows, out)
    out.print("nothing recorded")


@settle_app.command("approve")
def approve(
    province: ProvinceOption, year: YearOption, by: ByOption = None, db: DbOption = None
) -> None:
    """Approve the draft (not by anyone who drafted it)."""
    with open_app(settings_for(db)) as fl:
        check_province(province)
        view, changed = approve_settlement(fl, province, year, principal(by))
    word = "approved" if changed else "unchanged: already approved"
    out.print(f"settlement {province} {year} {word} by {view.approved_by} ({view.inputs_hash})")


@settle_app.command("post")
def post(
    province: ProvinceOption, year: YearOption, by: ByOption = None, db: DbOption = None
) -> None:
    """Post the approved draws (to_lower pairs) and mark the settlement posted, atomically."""
    with open_app(settings_for(db)) as fl:
        check_province(province)
        view = post_settlement(fl, province, year, principal(by))
    total = format_fen(view.result["adjustment_fund"]["draws_total_fen"])
    out.print(f"settlement {province} {year} posted by {view.posted_by}: draws {total}")


class ReportFormat(StrEnum):
    """Formats of ``settle report``."""

    table = "table"
    json = "json"
    csv = "csv"
    xlsx = "xlsx"


FILE_FORMATS: dict[ReportFormat, Literal["json", "csv", "xlsx"]] = {
    ReportFormat.json: "json",
    ReportFormat.csv: "csv",
    ReportFormat.xlsx: "xlsx",
}


@settle_app.command("report")
def report_command(
    province: ProvinceOption,
    year: YearOption,
    format: Annotated[  # noqa: A002
        ReportFormat, typer.Option("--format", help="table, json, csv or xlsx")
    ] = ReportFormat.table,
    output: Annotated[Path | None, typer.Option("--output", help="write to this file")] = None,
    db: DbOption = None,
) -> None:
    """The recorded settlement: a table, or the same bytes for the same settlement."""
    with open_app(settings_for(db)) as fl:
        check_province(province)
        if format is ReportFormat.xlsx and output is None:
            raise InvalidInput("--format xlsx needs --output FILE", field="output")
        fl.read_models.catch_up()
        view = settlement_view(fl, province, year)
        data = b"" if format is ReportFormat.table else render(view, FILE_FORMATS[format])
    if format is ReportFormat.table:
        print_settlement(view, out)
    elif output is not None:
        output.write_bytes(data)
        out.print(f"wrote {output}")
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()


@settle_app.command("owed")
def owed_command(
    province: ProvinceOption,
    year: YearOption,
    format: FormatOption = Format.table,  # noqa: A002
    db: DbOption = None,
) -> None:
    """What the posted settlement left owed, due against paid (refs MAKEGOOD-<year>-<debtor>)."""
    with open_app(settings_for(db)) as fl:
        check_province(province)
        fl.read_models.catch_up()
        view = settlement_view(fl, province, year)
        db_ = fl.read_models.for_province(province).db
        rows = owed_rows(owed_amounts(db_, year, view.status, view.result))
    if format is Format.json:
        sys.stdout.write(to_json(rows) + "\n")
    elif format is Format.csv:
        sys.stdout.write(rows_csv(rows))
    else:
        rows_table(f"owed after the {province} {year} settlement (due against paid)", rows, out)


# --------------------------------------------------------------------------- rendering


def dry_run_table(app: App, province: str, year: int, console: Console) -> None:
    """The year's allocation as a table, recording nothing (the demo ends with it)."""
    app.read_models.catch_up()
    note = (
        "dry run: nothing recorded. Record it with 'fundledger settle draft --province "
        f"{province} --year {year}'; every figure and rule in --format json."
    )
    print_allocation(dry_run(app, province, year), console, note)


def _show(view: SettlementView, format: Format, word: str) -> None:  # noqa: A002
    if format is Format.json:
        sys.stdout.write(to_json(view.to_json()) + "\n")
    elif format is Format.csv:
        sys.stdout.write(report_csv(view).decode("utf-8"))
    else:
        print_settlement(view, out, word)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``fundledger`` application."""
    app.command("levy")(levy)
    app.command("assess")(assess)
    app.command("plan")(plan)
    app.command("catch-up")(catch_up)
    app.add_typer(settle_app, name="settle")
