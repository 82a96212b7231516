"""Commands on the read models: projections status and rebuild, closing a year."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from api.cli.common import DbOption, Format, err, open_app, out, settings_for
from api.render import to_json
from clearing.tables import rows_csv
from domain.funds import FundId

projections_app = typer.Typer(help="The read models: status and rebuild.", no_args_is_help=True)


@projections_app.command("status")
def projections_status(
    format: Annotated[Format, typer.Option("--format", help="table, json or csv")] = Format.table,  # noqa: A002
    db: DbOption = None,
) -> None:
    """Each province's projection position, the head of its event log, and the lag."""
    with open_app(settings_for(db)) as fl:
        statuses = fl.read_models.status()
    rows = [
        {"province": s.province, "position": s.position, "head": s.head, "lag": s.lag}
        for s in statuses
    ]
    if format is Format.json:
        sys.stdout.write(to_json(rows) + "\n")
        return
    if format is Format.csv:
        sys.stdout.write(rows_csv([{k: str(v) for k, v in row.items()} for row in rows]))
        return
    table = Table(title="projections")
    for column in ("province", "position", "head", "lag"):
        table.add_column(column, justify="left" if column == "province" else "right")
    for row in rows:
        table.add_row(*(str(row[c]) for c in ("province", "position", "head", "lag")))
    out.print(table)


@projections_app.command("rebuild")
def projections_rebuild(db: DbOption = None) -> None:
    """Drop every read-model row and apply the whole event log again."""
    with open_app(settings_for(db)) as fl:
        total = sum(s.head for s in fl.read_models.status())
        with Progress(
            TextColumn("rebuilding"), BarColumn(), MofNCompleteColumn(), console=err
        ) as progress:
            task = progress.add_task("rebuild", total=total)
            applied = fl.read_models.rebuild(lambda n: progress.update(task, completed=n))
    out.print(f"rebuilt the read models from {applied} events")


def close(
    fund: Annotated[str, typer.Argument(help="scheme:region")],
    year: Annotated[int, typer.Option("--year", help="the fiscal year whose accounts are final")],
    db: DbOption = None,
) -> None:
    """Approve the year's final accounts (决算): the year is closed."""
    with open_app(settings_for(db)) as fl:
        fund_id = FundId.parse(fund)
        fl.ledger.close_year(fund_id, year)
        fl.read_models.catch_up()
    out.print(f"{fund_id} {year} closed: later postings to {year} are restatements (--restate)")


audit_app = typer.Typer(help="The auditor's checks.", no_args_is_help=True)


@audit_app.command("verify")
def audit_verify(db: DbOption = None) -> None:
    """Check every fund's hash chain and every statement against a replay; exit 1 on findings."""
    from projections.audit import audit

    with open_app(settings_for(db)) as fl:
        report = audit(fl.ledger, fl.read_models)
    for finding in report.findings:
        typer.echo(finding, err=True)
    summary = (
        f"{report.funds} funds, {report.events} events, {report.statements} statements checked: "
    )
    if not report.ok:
        typer.echo(summary + f"{len(report.findings)} finding(s)", err=True)
        raise typer.Exit(1)
    out.print(summary + "every chain intact, every statement equal to its replay")
