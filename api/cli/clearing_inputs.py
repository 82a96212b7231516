"""Commands on the clearing inputs: levy, assess, plan, catch-up (docs/clearing.md §1).

Each parses its arguments, calls one use case of :mod:`api.usecases.clearing` as the operator
at the command line, and renders the answer. Who acts is ``--by``, else
``FUNDLEDGER_PRINCIPAL``, else ``cli:<operating-system user>``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

import typer

from api.cli.common import (
    DbOption,
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

FundArg = FundArgument


def levy(
    province: ProvinceOption,
    year: YearOption,
    post: Annotated[bool, typer.Option("--post", help="post the levies not yet posted")] = False,
    policy: PolicyOption = None,
    format: FormatOption = Format.table,  # noqa: A002
    output: OutputOption = None,
    by: ByOption = None,
    db: DbOption = None,
) -> None:
    """Each pool's levy into the adjustment fund (调剂金计提); --post posts them."""
    from api.cli.clearing_tables import grouped, rows_output
    from api.usecases import clearing

    with open_app(settings_for(db)) as fl:
        who = cli_principal(by)
        if post:
            found = clearing.post_levy(fl, who, province, year, policy)
        else:
            found = clearing.levies(fl, who, province, year, policy)
        money = {k: grouped(v) if v else "withheld" for k, v in
                 (("balance", found.balance), ("total", found.total))}  # fmt: skip
        title = (
            f"levy {province} {year} · ratio {found.ratio} · {found.adjustment_fund} balance "
            f"{money['balance']} · cap {grouped(found.cap) if found.cap else 'none'} · "
            f"total {money['total']} · yuan"
        )
        shown = rows_output(title, found.rows, f"levies {province} {year}")
        emit(replace(shown, data=found.to_json()), format, output)


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
    from api.usecases import clearing
    from domain.funds import FundId

    with open_app(settings_for(db)) as fl:
        changed = clearing.assess(
            fl, cli_principal(by), FundId.parse(fund), year, grade=grade, score=score, policy=policy
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
    from api.usecases import clearing
    from domain.funds import FundId
    from domain.money import parse_yuan

    with open_app(settings_for(db)) as fl:
        changed = clearing.plan(
            fl,
            cli_principal(by),
            FundId.parse(fund),
            year,
            county=county,
            contributions_fen=parse_yuan(contributions, field="contributions"),
            subsidies_fen=parse_yuan(subsidies, field="subsidies"),
            spending_fen=parse_yuan(spending, field="spending"),
        )
    out.print(f"{fund} {year} county {county}: plan " + ("set" if changed else "unchanged"))


def catch_up(
    fund: Annotated[str, typer.Argument(help="the municipal pool, e.g. resident:320600")],
    format: FormatOption = Format.table,  # noqa: A002
    output: OutputOption = None,
    db: DbOption = None,
) -> None:
    """Nantong's financing-standard catch-up: owed per county, instalments due against paid."""
    from api.cli.clearing_tables import rows_output
    from api.usecases import clearing
    from domain.funds import FundId

    with open_app(settings_for(db)) as fl:
        fund_id = FundId.parse(fund)
        rows = clearing.catch_up(fl, cli_principal(None), fund_id)
        title = f"financing-standard catch-up · {fund_id} · 1,200.00 per person from 2020 · yuan"
        emit(rows_output(title, rows, f"catch-up {fund_id}"), format, output)
