"""The ``fundledger`` command line (typer): parse, call one function, render the result.

A refused request exits 2 with one line per problem on stderr and writes nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from api.bootstrap import App
from api.cli import budget as cli_budget
from api.cli import exports as cli_exports
from api.cli import projections as cli_projections
from api.cli import ratios as cli_ratios
from api.cli import settle as cli_settle
from api.cli.common import (
    DbOption,
    Format,
    View,
    err,
    open_app,
    out,
    parse_as_of,
    problem,
    settings_for,
)
from api.postings_csv import read_postings
from api.render import events_table, link_json, statement_csv, statement_table, to_json
from domain.funds import FundId
from domain.ledger_service import ImportReport, RowErrors
from domain.money import format_fen, parse_yuan
from domain.postings import Posting
from projections.policy import load_policy

app = typer.Typer(
    help="fundledger: the ledger and clearing house of resident medical-insurance funds.",
    no_args_is_help=True,
)
funds_app = typer.Typer(help="Register funds.", no_args_is_help=True)
app.add_typer(funds_app, name="funds")

PROGRESS_FROM_ROWS = 1_000


@app.command()
def init(db: DbOption = None) -> None:
    """Create the store's tables (every province's), once per store."""
    with open_app(settings_for(db)) as fl:
        count = fl.init()
    out.print(f"initialised {count} provinces' tables and the read models")


@funds_app.command("open")
def funds_open(
    fund: Annotated[str, typer.Argument(help="scheme:region, e.g. resident:140100")],
    first_year: Annotated[
        int, typer.Option("--first-year", help="the first fiscal year of its books")
    ],
    opening_balance: Annotated[
        str, typer.Option("--opening-balance", help="yuan, e.g. 35226.00")
    ] = "0.00",
    name: Annotated[str, typer.Option("--name", help="the fund's name")] = "",
    db: DbOption = None,
) -> None:
    """Register a fund; posting to an unregistered fund is refused."""
    with open_app(settings_for(db), create=True) as fl:
        fund_id = FundId.parse(fund)
        balance_fen = parse_yuan(opening_balance, field="opening_balance")
        opened, created = fl.ledger.open_fund(
            fund_id, first_year=first_year, opening_balance_fen=balance_fen, name=name
        )
    word = "opened" if created else "already open"
    balance = format_fen(opened.opening_balance_fen)
    out.print(f"{fund_id} {word}: books from {opened.first_year}, opening balance {balance}")


@app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(help="a postings CSV file (UTF-8, header row)")],
    restate: Annotated[
        bool, typer.Option("--restate", help="record rows in closed years as restatements")
    ] = False,
    db: DbOption = None,
) -> None:
    """Post every row of a postings file: all rows or none."""
    parsed = read_postings(file)
    problems = [(p.line, str(p)) for p in parsed.problems]
    settings = settings_for(db)
    written: tuple[str, ...] = ()
    with open_app(settings) as fl:
        try:
            if problems:
                fl.ledger.import_postings(parsed.postings, dry_run=True, restate=restate)
            else:
                report = _import_with_progress(
                    fl, parsed.postings, settings.import_chunk, restate=restate
                )
        except RowErrors as error:
            written = error.written
            for row in error.errors:
                line = parsed.lines[row.index]
                problems.append(
                    (line, f"{file}:{line}: {row.error.field or 'row'}: {row.error.message}")
                )
        if problems:
            for _, text in sorted(problems, key=lambda p: p[0]):
                problem(text)
            if written:
                problem(
                    f"{file}: {len(problems)} problem(s) found while writing; the rows of "
                    f"provinces {', '.join(written)} were written, nothing of the others: "
                    "fix the rows and import the same file again (rows already written count "
                    "as duplicates)"
                )
            else:
                problem(f"{file}: {len(problems)} problem(s); nothing was written")
            raise typer.Exit(2)
        fl.read_models.catch_up()
    out.print(f"{file}: {report.posted} posted, {report.duplicates} duplicates skipped")


def _import_with_progress(
    fl: App, postings: list[Posting], chunk: int, *, restate: bool
) -> ImportReport:
    show = len(postings) >= PROGRESS_FROM_ROWS
    with Progress(
        TextColumn("posting"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=not show,
        transient=False,
    ) as progress:
        task = progress.add_task("posting", total=len(postings))
        return fl.ledger.import_postings(
            postings,
            chunk=chunk,
            restate=restate,
            progress=lambda done: progress.update(task, completed=done),
        )


@app.command()
def statement(
    fund: Annotated[str, typer.Argument(help="scheme:region")],
    year: Annotated[int, typer.Option("--year", help="fiscal year")],
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="what had been recorded at this time (ISO 8601)")
    ] = None,
    view: Annotated[View, typer.Option("--view", help="restated or as_closed")] = View.restated,
    format: cli_exports.StatementFormatOption = cli_exports.StatementFormat.table,  # noqa: A002
    output: cli_exports.OutputOption = None,
    policy: cli_ratios.PolicyOption = None,
    db: DbOption = None,
) -> None:
    """The fund's statement for a year (DOMAIN.md §2) with its ratios and warnings (§3)."""
    with open_app(settings_for(db)) as fl:
        cutoff = parse_as_of(as_of)
        target = cli_exports.xlsx_target(format, output)
        fund_id = FundId.parse(fund)
        data = fl.read_models.statement(
            fund_id,
            year,
            view=view.value,
            as_of=cutoff,
            policy=None if policy is None else load_policy(fund_id.province, policy),
        ).to_json()
        if target is not None:
            cli_exports.write_statement(data, target)
    if format is cli_exports.StatementFormat.json:
        sys.stdout.write(to_json(data) + "\n")
    elif format is cli_exports.StatementFormat.csv:
        sys.stdout.write(statement_csv(data))
    elif target is None:
        statement_table(data, out)


@app.command()
def events(
    fund: Annotated[str, typer.Argument(help="scheme:region")],
    format: Annotated[Format, typer.Option("--format", help="table or json")] = Format.table,  # noqa: A002
    db: DbOption = None,
) -> None:
    """A fund's history with its hash chain; exit 1 if the chain is broken."""
    with open_app(settings_for(db)) as fl:
        fund_id = FundId.parse(fund)
        links = fl.ledger.chain(fund_id)
    broken = [link for link in links if not link.ok]
    if format is Format.json:
        sys.stdout.write(to_json([link_json(link) for link in links]) + "\n")
    else:
        events_table(str(fund_id), links, out)
    if broken:
        for link in broken:
            for finding in link.findings:
                problem(f"{fund_id} version {link.version}: {finding}")
        raise typer.Exit(1)
    head = links[-1].event.chain_hash if links and links[-1].event is not None else ""
    problem(f"chain intact: {len(links)} events, head hash {head}")


@app.command()
def demo(
    seed: Annotated[
        int, typer.Option("--seed", help="the random seed: same seed, same province")
    ] = 2024,
    scale: Annotated[
        int, typer.Option("--scale", min=1, max=1000, help="split postings finer, ×N")
    ] = 1,
    province: Annotated[str, typer.Option("--province", help="the demo province")] = "140000",
    db: DbOption = None,
) -> None:
    """Build a synthetic province, summarise it, and dry-run its latest year's gap allocation."""
    from api.demo import run_demo

    with open_app(settings_for(db), create=True) as fl:
        summary = run_demo(
            fl.ledger,
            seed=seed,
            scale=scale,
            province=province,
            console=err,
            statement_of=fl.read_models.statement,
        )
        summary.print(out)
        cli_settle.dry_run_table(fl, province, summary.latest_year, out)


app.add_typer(cli_projections.projections_app, name="projections")
app.command("close")(cli_projections.close)
app.add_typer(cli_projections.audit_app, name="audit")
cli_ratios.register(app)
cli_budget.register(app)
cli_exports.register(app)
cli_settle.register(app)


def main() -> None:
    """Console entry point."""
    app()
