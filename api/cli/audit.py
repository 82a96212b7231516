"""The auditor's commands (docs/contract.md, "Auditors"; docs/audit.md).

``audit verify`` exits 0 when every check passes, 1 with the findings: one per line on stderr,
or the JSON document ``{ok, checked, findings}`` with ``--format json``, or the findings as CSV
rows (``check,fund,version,detail``) with ``--format csv``. ``audit seal``, ``audit checkpoint``,
``audit keys``, ``audit anchors`` and ``audit replay`` call the use cases of the same names.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from api.cli.common import (
    EXIT_FINDINGS,
    DbOption,
    Format,
    FormatOption,
    FundArgument,
    guard,
    open_app,
    out,
    settings_for,
)
from api.cli.principal import cli_principal

audit_app = typer.Typer(help="The auditor's checks.", no_args_is_help=True)

ProvinceOption = Annotated[str, typer.Option("--province", help="the province, e.g. 140000")]
YearOption = Annotated[int, typer.Option("--year", help="the fiscal year, e.g. 2024")]
ByOption = Annotated[str | None, typer.Option("--by", help="who acts (default: you)")]


def _trusted(files: list[Path] | None) -> dict[str, bytes] | None:
    """The public keys of ``--key`` files (None: trust the configured signing key)."""
    if not files:
        return None
    from domain.errors import InvalidInput
    from domain.seal import key_id_of
    from domain.seal_keys import public_key_from_pem

    keys: dict[str, bytes] = {}
    for path in files:
        try:
            pem = path.read_bytes()
        except OSError as error:
            raise InvalidInput(f"cannot read {path}: {error.strerror}", field="key") from None
        public = public_key_from_pem(pem, source=str(path))
        keys[key_id_of(public)] = public
    return keys


@audit_app.command("verify")
def audit_verify(
    province: Annotated[
        str | None, typer.Option("--province", help="only this province, e.g. 140000")
    ] = None,
    fund: Annotated[str | None, typer.Option("--fund", help="only this fund")] = None,
    year: Annotated[int | None, typer.Option("--year", help="only this fiscal year")] = None,
    key: Annotated[
        list[Path] | None,
        typer.Option("--key", help="a trusted public key (PEM), repeatable"),
    ] = None,
    archive: Annotated[
        Path | None, typer.Option("--archive", help="check this export, with no database")
    ] = None,
    processes: Annotated[
        int | None,
        typer.Option(
            "--processes",
            min=1,
            max=64,
            help="processes checking the funds side by side (default: by the store's size)",
        ),
    ] = None,
    format: FormatOption = Format.table,  # noqa: A002
    db: DbOption = None,
) -> None:
    """Check every chain, against seals and checkpoints, and every statement against a replay;
    exit 1 on findings."""
    from rich.progress import Progress

    from api.usecases.audit import verify, verify_archive
    from domain.funds import FundId

    if archive is not None:
        with guard():
            _, report = verify_archive(archive, _trusted(key))
        _finish(report, format)
        return
    with open_app(settings_for(db)) as fl:
        fund_id = None if fund is None else FundId.parse(fund)
        trusted = _trusted(key)
        with Progress(transient=True, console=_err_console()) as bar:
            task = bar.add_task("verifying", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            report = verify(
                fl,
                cli_principal(None),
                province=province,
                fund=fund_id,
                year=year,
                trusted_keys=trusted,
                progress=progress,
                processes=processes,
            )
    _finish(report, format)


def _finish(report: Any, format: Format) -> None:  # noqa: A002
    from api.usecases.audit import report_json

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
    anchors = f", {report.anchors} seals and checkpoints" if report.anchors else ""
    summary = (
        f"{report.funds} funds, {report.events} events, {report.statements} statements"
        f"{anchors} checked: "
    )
    if not report.ok:
        typer.echo(summary + f"{len(report.findings)} finding(s)", err=True)
        raise typer.Exit(EXIT_FINDINGS)
    out.print(summary + "every chain intact, every statement equal to its replay")


def _err_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


def _show(document: Any) -> None:
    typer.echo(json.dumps(document, ensure_ascii=False, indent=2))


@audit_app.command("export")
def audit_export(
    province: ProvinceOption,
    year: YearOption,
    output: Annotated[Path, typer.Option("--output", help="the archive file to write")],
    db: DbOption = None,
) -> None:
    """Write one self-contained archive of the province's year, checked offline by
    'audit verify --archive FILE'."""
    from api.usecases.audit import export

    with open_app(settings_for(db)) as fl:
        manifest = export(fl, cli_principal(None), province, year, output)
    out.print(f"{output}: {manifest['events']} events, {len(manifest['files'])} files")


@audit_app.command("seal")
def audit_seal(
    province: ProvinceOption, year: YearOption, by: ByOption = None, db: DbOption = None
) -> None:
    """Record the seal of a province's year: every fund's chain head and totals, signed."""
    from api.usecases.audit import seal

    with open_app(settings_for(db)) as fl:
        recorded = seal(fl, cli_principal(by), province, year)
    _show(recorded)


@audit_app.command("checkpoint")
def audit_checkpoint(
    province: ProvinceOption,
    every: Annotated[
        int | None,
        typer.Option("--every", help="only if this many events came since the last, or a day"),
    ] = None,
    by: ByOption = None,
    db: DbOption = None,
) -> None:
    """Record a checkpoint of every chain head of the province (signed when a key is set)."""
    from api.usecases.audit import checkpoint

    with open_app(settings_for(db)) as fl:
        recorded = checkpoint(fl, cli_principal(by), province, every=every)
    if recorded is None:
        out.print("no checkpoint due")
        return
    _show(recorded)


@audit_app.command("anchors")
def audit_anchors(province: ProvinceOption, db: DbOption = None) -> None:
    """Every seal and checkpoint recorded in the province, as JSON."""
    from api.usecases.audit import anchors

    with open_app(settings_for(db)) as fl:
        _show(anchors(fl, cli_principal(None), province))


@audit_app.command("keys")
def audit_keys(db: DbOption = None) -> None:
    """The public keys that seals are signed with, to hand to auditors (PEM)."""
    from api.usecases.audit import keys

    with open_app(settings_for(db)) as fl:
        found = keys(fl, cli_principal(None))
    if not found:
        out.print("no signing key is configured (FUNDLEDGER_SIGNING_KEY_FILE)")
        return
    for each in found:
        typer.echo(f"{each['key_id']}\n{each['public_key']}", nl=False)


@audit_app.command("replay")
def audit_replay(
    fund: FundArgument,
    year: Annotated[
        int | None, typer.Option("--year", help="the fiscal year (default: the latest)")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="ISO 8601 time with offset; default: now")
    ] = None,
    format: FormatOption = Format.table,  # noqa: A002
    db: DbOption = None,
) -> None:
    """The fund's statement rebuilt from its raw events alone, beside the read models'."""
    from api.render import Column, Row, show, table, yuan
    from api.usecases.audit import replay
    from domain.funds import FundId

    with open_app(settings_for(db)) as fl, guard():
        result = replay(fl, cli_principal(None), FundId.parse(fund), as_of, year)
    if format is Format.json:
        _show(result)
        return
    projected = _flat(result["read_models"]) if result["read_models"] is not None else {}
    rows = []
    for key, value in _flat(result["replayed"]).items():
        other = projected.get(key)
        shown = yuan(other) if other in (value, None) else f"[bold red]{yuan(other)}[/]"
        rows.append(Row([key, yuan(value), shown]))
    title = f"{result['fund']} {result['year']}: {result['events']} events (yuan)"
    columns = [
        Column("figure"),
        Column("raw events", right=True),
        Column("read models", right=True),
    ]
    show(out, table(title, columns, rows))
    if result["differences"]:
        raise typer.Exit(EXIT_FINDINGS)


def _flat(statement: dict[str, Any]) -> dict[str, str]:
    from projections.audit import COMPARED

    flat: dict[str, str] = {}
    for key in COMPARED:
        value = statement.get(key)
        if isinstance(value, dict):
            flat.update({f"{key}.{k}": str(v) for k, v in value.items()})
        else:
            flat[key] = str(value)
    return flat
