"""Commands of the clearing house: ``settle`` and its steps (docs/clearing.md §1).

Each command parses its arguments, calls one use case (:mod:`api.usecases.clearing`,
:mod:`api.usecases.settlements`) as the operator at the command line, and renders the answer;
the inputs (levy, assess, plan, catch-up) are in :mod:`api.cli.clearing_inputs`.
Who acts is ``--by``, else ``FUNDLEDGER_PRINCIPAL``, else ``cli:<operating-system user>``.
The use cases and the clearing engine are imported when a command runs, not at start-up.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli.common import (
    DbOption,
    FileFormat,
    FileFormatOption,
    Format,
    FormatOption,
    FundArgument,
    OutputOption,
    PolicyOption,
    ProvinceOption,
    YearOption,
    emit,
    open_app,
    out,
    settings_for,
)
from api.cli.principal import ByOption, cli_principal

if TYPE_CHECKING:
    from rich.console import Console

    from api.bootstrap import App
    from api.usecases.settlements import SettlementKey

settle_app = typer.Typer(
    help="The year-end gap allocation: dry-run, draft, what-if, approve, post, report, owed "
    "(docs/clearing.md §1).",
    no_args_is_help=True,
)

FundArg = FundArgument


def _key(province: str, year: int) -> SettlementKey:
    from api.usecases.settlements import SettlementKey

    return SettlementKey(province, year)


# --------------------------------------------------------------------------- settle


@settle_app.command("dry-run")
def dry_run(
    province: ProvinceOption,
    year: YearOption,
    policy: PolicyOption = None,
    format: FileFormatOption = FileFormat.table,  # noqa: A002
    output: OutputOption = None,
    db: DbOption = None,
) -> None:
    """Compute the year's allocation and print it; record nothing."""
    from api.cli.clearing_tables import settlement_output
    from api.usecases import settlements

    with open_app(settings_for(db)) as fl:
        view = settlements.dry_run(fl, cli_principal(None), _key(province, year), policy)
        emit(settlement_output(view, "dry run: nothing recorded"), format, output)


@settle_app.command("draft")
def draft(
    province: ProvinceOption,
    year: YearOption,
    policy: PolicyOption = None,
    by: ByOption = None,
    format: FileFormatOption = FileFormat.table,  # noqa: A002
    output: OutputOption = None,
    db: DbOption = None,
) -> None:
    """Record a draft (or redraft) of the year's settlement; settle dry-run records nothing."""
    from api.cli.clearing_tables import settlement_output
    from api.usecases import settlements

    with open_app(settings_for(db)) as fl:
        done = settlements.draft(fl, cli_principal(by), _key(province, year), policy)
        word = "drafted" if done.changed else "unchanged: the same as the current draft"
        emit(settlement_output(done.view, word), format, output)


@settle_app.command("what-if")
def what_if(
    province: ProvinceOption,
    year: YearOption,
    policy: Annotated[Path, typer.Option("--policy", help="the policy TOML file to compare")],
    format: FormatOption = Format.table,  # noqa: A002
    output: OutputOption = None,
    db: DbOption = None,
) -> None:
    """The year under its current policy and under another, side by side; records nothing."""
    from api.cli.clearing_tables import rows_output
    from api.usecases import settlements

    with open_app(settings_for(db)) as fl:
        both = settlements.what_if(fl, cli_principal(None), _key(province, year), policy)
        rows = settlements.what_if_rows(both)
        names = [
            f"{v.policy['name']} {v.policy['version']}" for v in (both.current, both.alternative)
        ]
        title = f"what-if {province} {year}: {names[0]} → {names[1]} · yuan · nothing recorded"
        data = {"current": both.current.to_json(), "what_if": both.alternative.to_json()}
        emit(replace(rows_output(title, rows, "what-if"), data=data), format, output)


@settle_app.command("approve")
def approve(
    province: ProvinceOption, year: YearOption, by: ByOption = None, db: DbOption = None
) -> None:
    """Approve the draft (not by anyone who drafted it)."""
    from api.usecases import settlements

    with open_app(settings_for(db)) as fl:
        done = settlements.approve(fl, cli_principal(by), _key(province, year))
    word = "approved" if done.changed else "unchanged: already approved"
    view = done.view
    out.print(f"settlement {province} {year} {word} by {view.approved_by} ({view.inputs_hash})")


@settle_app.command("post")
def post(
    province: ProvinceOption, year: YearOption, by: ByOption = None, db: DbOption = None
) -> None:
    """Post the approved draws (to_lower pairs) and mark the settlement posted, atomically."""
    from api.usecases import settlements
    from domain.money import format_fen_grouped

    with open_app(settings_for(db)) as fl:
        view = settlements.post(fl, cli_principal(by), _key(province, year)).view
    total = format_fen_grouped(view.result["adjustment_fund"]["draws_total_fen"])
    out.print(f"settlement {province} {year} posted by {view.posted_by}: draws {total}")


@settle_app.command("report")
def report(
    province: ProvinceOption,
    year: YearOption,
    format: FileFormatOption = FileFormat.table,  # noqa: A002
    output: OutputOption = None,
    db: DbOption = None,
) -> None:
    """The recorded settlement: a table, or the same bytes for the same settlement."""
    from api.cli.clearing_tables import settlement_output
    from api.usecases import settlements

    with open_app(settings_for(db)) as fl:
        view = settlements.report(fl, cli_principal(None), _key(province, year))
        emit(settlement_output(view, ""), format, output)


@settle_app.command("owed")
def owed(
    province: ProvinceOption,
    year: YearOption,
    format: FormatOption = Format.table,  # noqa: A002
    output: OutputOption = None,
    db: DbOption = None,
) -> None:
    """What the posted settlement left owed, due against paid (refs MAKEGOOD-<year>-<debtor>)."""
    from api.cli.clearing_tables import rows_output
    from api.usecases import settlements
    from clearing.owed import owed_rows

    with open_app(settings_for(db)) as fl:
        rows = owed_rows(settlements.owed(fl, cli_principal(None), _key(province, year)))
        title = f"owed after the {province} {year} settlement (due against paid) · yuan"
        emit(rows_output(title, rows, f"owed {province} {year}"), format, output)


# --------------------------------------------------------------------------- rendering


def dry_run_table(app: App, province: str, year: int, console: Console) -> None:
    """The year's allocation as a table, recording nothing (the demo ends with it)."""
    from api.cli.clearing_tables import print_allocation
    from api.usecases import settlements

    view = settlements.dry_run(app, cli_principal(None), _key(province, year))
    note = (
        "dry run: nothing recorded. Record it with 'fundledger settle draft --province "
        f"{province} --year {year}'; every figure and rule in --format json."
    )
    print_allocation(view, console, note)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``fundledger`` application."""
    from api.cli import clearing_inputs

    app.command("levy")(clearing_inputs.levy)
    app.command("assess")(clearing_inputs.assess)
    app.command("plan")(clearing_inputs.plan)
    app.command("catch-up")(clearing_inputs.catch_up)
    app.add_typer(settle_app, name="settle")
