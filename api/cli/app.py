"""The ``fundledger`` command line (typer): parse, call one use case, render the result.

A refused request exits 2 with one line per problem on stderr and writes nothing; a retryable
one exits 75 (README, "Exit codes"). Each command imports what it uses when it runs (the
store, the domain, the exports), so that listing the commands costs typer alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli import audit as cli_audit
from api.cli import budget as cli_budget
from api.cli import exports as cli_exports
from api.cli import projections as cli_projections
from api.cli import ratios as cli_ratios
from api.cli import serve as cli_serve
from api.cli import settle as cli_settle
from api.cli import tokens as cli_tokens
from api.cli.common import (
    EXIT_FINDINGS,
    DbOption,
    FileFormat,
    FileFormatOption,
    Format,
    FormatOption,
    FundArgument,
    Output,
    OutputOption,
    PolicyOption,
    View,
    YearOption,
    emit,
    err,
    open_app,
    out,
    problem,
    settings_for,
)
from api.cli.principal import ByOption, cli_principal

app = typer.Typer(
    help="fundledger: the ledger and clearing house of resident medical-insurance funds.",
    no_args_is_help=True,
)
funds_app = typer.Typer(help="Register funds.", no_args_is_help=True)
app.add_typer(funds_app, name="funds")

PROGRESS_FROM_ROWS = 1_000


def _version(shown: bool) -> None:
    if shown:
        from importlib.metadata import version

        typer.echo(f"fundledger {version('fundledger')}")
        raise typer.Exit


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="print the version"),
    ] = False,
) -> None:
    """fundledger: the ledger and clearing house of resident medical-insurance funds."""


@app.command()
def init(db: DbOption = None) -> None:
    """Create the store's tables (every province's), once per store."""
    from api.usecases.ledger import init as init_store

    with open_app(settings_for(db), create=True) as fl:
        count = init_store(fl, cli_principal())
    out.print(f"initialised {count} provinces' tables and the read models")


@funds_app.command("open")
def funds_open(
    fund: FundArgument,
    first_year: Annotated[
        int, typer.Option("--first-year", help="the first fiscal year of its books")
    ],
    opening_balance: Annotated[
        str, typer.Option("--opening-balance", help="yuan, e.g. 35226.00")
    ] = "0.00",
    name: Annotated[str, typer.Option("--name", help="the fund's name")] = "",
    by: ByOption = None,
    db: DbOption = None,
) -> None:
    """Register a fund; posting to an unregistered fund is refused."""
    from api.usecases.ledger import open_fund
    from domain.funds import FundId
    from domain.money import parse_yuan

    with open_app(settings_for(db), create=True) as fl:
        fund_id = FundId.parse(fund)
        balance_fen = parse_yuan(opening_balance, field="opening_balance")
        opened = open_fund(
            fl,
            cli_principal(by),
            fund_id,
            first_year=first_year,
            opening_balance_fen=balance_fen,
            name=name,
        )
    word = "opened" if opened.created else "already open"
    balance = opened.to_json()["opening_balance"]
    out.print(f"{fund_id} {word}: books from {opened.first_year}, opening balance {balance}")


@app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(help="a postings CSV file (UTF-8, header row)")],
    restate: Annotated[
        bool, typer.Option("--restate", help="record rows in closed years as restatements")
    ] = False,
    by: ByOption = None,
    db: DbOption = None,
) -> None:
    """Post every row of a postings file: all rows or none (docs/contract.md)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from api.postings_csv import read_postings
    from api.usecases.ledger import post_batch

    settings = settings_for(db)
    parsed = read_postings(file)
    with open_app(settings) as fl:
        columns = (TextColumn("posting"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        quiet = len(parsed.postings) < PROGRESS_FROM_ROWS
        with Progress(*columns, console=err, disable=quiet) as progress:
            task = progress.add_task("posting", total=len(parsed.postings))
            done = post_batch(
                fl,
                cli_principal(by),
                parsed,
                restate=restate,
                chunk=settings.import_chunk,
                progress=lambda n: progress.update(task, completed=n),
            )
    out.print(f"{file}: {done.accepted} posted, {done.duplicates} duplicates skipped")


@app.command()
def statement(
    fund: FundArgument,
    year: YearOption,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="what had been recorded at this time (ISO 8601)")
    ] = None,
    view: Annotated[View, typer.Option("--view", help="restated or as_closed")] = View.restated,
    format: FileFormatOption = FileFormat.table,  # noqa: A002
    output: OutputOption = None,
    policy: PolicyOption = None,
    db: DbOption = None,
) -> None:
    """The fund's statement for a year (docs/domain.md) with its ratios and warnings."""
    from api.exports import statement_xlsx
    from api.exports.csv import statement_csv
    from api.render import statement_table
    from api.usecases.read_models import statement as read_statement
    from domain.funds import FundId

    with open_app(settings_for(db)) as fl:
        fund_id = FundId.parse(fund)
        data = read_statement(
            fl, cli_principal(), fund_id, year, view=view.value, as_of=as_of, policy=policy
        )
        result = Output(
            data,
            table=lambda console: statement_table(data, console),
            csv=lambda: statement_csv(data),
            what=f"statement of {fund_id} {year}",
            xlsx=lambda path: statement_xlsx([data], path),
        )
        emit(result, format.value, output)


@app.command()
def events(
    fund: FundArgument,
    after: Annotated[
        int, typer.Option("--after", min=0, help="only events after this version")
    ] = 0,
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=1000, help="at most this many events")
    ] = 1000,
    format: FormatOption = Format.table,  # noqa: A002
    output: OutputOption = None,
    db: DbOption = None,
) -> None:
    """A fund's history with its hash chain and who recorded each event; exit 1 if broken.

    A page holds at most 1000 events (--after the last version seen); the chain is
    checked whole, not only the page shown.
    """
    from api.exports.csv import events_csv
    from api.render import events_table
    from api.usecases.history import events as read_events
    from domain.funds import FundId

    with open_app(settings_for(db)) as fl:
        page = read_events(fl, cli_principal(), FundId.parse(fund), after=after, limit=limit)
        result = Output(
            page,
            table=lambda console: events_table(page, console),
            csv=lambda: events_csv(page["events"]),
            what=f"{len(page['events'])} events of {page['fund']}",
        )
        emit(result, format.value, output)
    chain = page["chain"]
    if page["next"] is not None:
        problem(f"more events follow: --after {page['next']}")
    if not chain["ok"]:
        for finding in chain["findings"]:
            problem(f"{page['fund']} version {finding['version']}: {finding['finding']}")
        raise typer.Exit(EXIT_FINDINGS)
    problem(f"chain intact: {chain['events']} events, head hash {chain['head']}")


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
            author=cli_principal().author,
        )
        summary.print(out)
        cli_settle.dry_run_table(fl, province, summary.latest_year, out)


app.add_typer(cli_projections.projections_app, name="projections")
app.command("close")(cli_projections.close)
app.add_typer(cli_audit.audit_app, name="audit")
cli_ratios.register(app)
cli_budget.register(app)
cli_exports.register(app)
cli_settle.register(app)
app.add_typer(cli_tokens.tokens_app, name="tokens")
app.command("serve")(cli_serve.serve)


def main() -> None:
    """Console entry point."""
    app()
