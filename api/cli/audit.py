"""The auditor's commands: ``audit verify`` (docs/contract.md, "Auditors").

Exit 0 when every check passes, 1 with the findings: one per line on stderr, or the JSON
document ``{ok, checked, findings}`` with ``--format json``, or the findings as CSV rows
(``check,fund,version,detail``) with ``--format csv``.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from api.cli.common import (
    EXIT_FINDINGS,
    DbOption,
    Format,
    FormatOption,
    open_app,
    out,
    settings_for,
)
from api.cli.principal import cli_principal

audit_app = typer.Typer(help="The auditor's checks.", no_args_is_help=True)


@audit_app.command("verify")
def audit_verify(
    province: Annotated[
        str | None, typer.Option("--province", help="only this province, e.g. 140000")
    ] = None,
    fund: Annotated[str | None, typer.Option("--fund", help="only this fund")] = None,
    year: Annotated[int | None, typer.Option("--year", help="only this fiscal year")] = None,
    format: FormatOption = Format.table,  # noqa: A002
    db: DbOption = None,
) -> None:
    """Check every fund's hash chain and every statement against a replay; exit 1 on findings."""
    import json

    from api.usecases.audit import report_json, verify
    from domain.funds import FundId

    with open_app(settings_for(db)) as fl:
        fund_id = None if fund is None else FundId.parse(fund)
        report = verify(fl, cli_principal(None), province=province, fund=fund_id, year=year)
    if format is not Format.table:
        document = report_json(report)
        if format is Format.json:
            typer.echo(json.dumps(document, ensure_ascii=False, indent=2))
        else:
            from api.exports.csv import rows_csv

            sys.stdout.write(rows_csv(document["findings"]))
        if not report.ok:
            raise typer.Exit(EXIT_FINDINGS)
        return
    for finding in report.findings:
        typer.echo(str(finding), err=True)
    summary = (
        f"{report.funds} funds, {report.events} events, {report.statements} statements checked: "
    )
    if not report.ok:
        typer.echo(summary + f"{len(report.findings)} finding(s)", err=True)
        raise typer.Exit(EXIT_FINDINGS)
    out.print(summary + "every chain intact, every statement equal to its replay")
