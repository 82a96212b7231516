"""Commands on the read models (projections status and rebuild) and closing a year."""

from __future__ import annotations

from typing import Annotated

import typer

from api.cli.common import (
    DbOption,
    Format,
    FormatOption,
    FundArgument,
    Output,
    OutputOption,
    emit,
    err,
    open_app,
    out,
    settings_for,
)
from api.cli.principal import ByOption, cli_principal

projections_app = typer.Typer(help="The read models: status and rebuild.", no_args_is_help=True)


@projections_app.command("status")
def projections_status(
    format: FormatOption = Format.table,  # noqa: A002
    output: OutputOption = None,
    db: DbOption = None,
) -> None:
    """Each province's projection position, the head of its event log, and the lag."""
    from api.exports.csv import rows_csv
    from api.render import rows_table
    from api.usecases.read_models import projections_status as read_status

    with open_app(settings_for(db)) as fl:
        rows = read_status(fl, cli_principal())
        result = Output(
            rows,
            table=lambda console: rows_table("projections", rows, console),
            csv=lambda: rows_csv(rows),
            what=f"{len(rows)} provinces",
        )
        emit(result, format.value, output)


@projections_app.command("rebuild")
def projections_rebuild(db: DbOption = None) -> None:
    """Drop every read-model row and apply the whole event log again (the operator only)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from api.usecases.read_models import events_total
    from api.usecases.read_models import projections_rebuild as rebuild

    with open_app(settings_for(db)) as fl:
        total = events_total(fl)
        columns = (TextColumn("rebuilding"), BarColumn(), MofNCompleteColumn())
        with Progress(*columns, console=err) as progress:
            task = progress.add_task("rebuild", total=total)
            applied = rebuild(fl, cli_principal(), lambda n: progress.update(task, completed=n))
    out.print(f"rebuilt the read models from {applied} events")


def close(
    fund: FundArgument,
    year: Annotated[int, typer.Option("--year", help="the fiscal year whose accounts are final")],
    by: ByOption = None,
    db: DbOption = None,
) -> None:
    """Approve the year's final accounts (决算): the year is closed."""
    from api.usecases.ledger import close_year
    from domain.funds import FundId

    with open_app(settings_for(db)) as fl:
        fund_id = FundId.parse(fund)
        close_year(fl, cli_principal(by), fund_id, year)
    out.print(f"{fund_id} {year} closed: later postings to {year} are restatements (--restate)")
