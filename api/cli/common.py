"""What every command shares: the consoles, options, who acts, the guard, and where output goes.

Importing this module costs only typer and rich: the store, the domain and the exports are
imported by the commands that use them, so that ``fundledger --help`` stays fast.

Exit codes (README, "Exit codes"): 0 done; 1 findings (a broken chain, an audit finding);
2 a refused request (bad input, a wrong ``--db``), nothing written; 75 retryable (other writers
kept moving the same funds, or the store did not answer): the same command may succeed later.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from enum import StrEnum
from io import StringIO
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

if TYPE_CHECKING:
    from api.bootstrap import App
    from api.settings import Settings
    from domain.errors import DomainError

EXIT_FINDINGS = 1
EXIT_REFUSED = 2
EXIT_RETRYABLE = 75
"""``EX_TEMPFAIL`` of sysexits.h: try again later."""

out = Console() if sys.stdout.isatty() else Console(width=160)
err = Console(stderr=True) if sys.stderr.isatty() else Console(stderr=True, width=160)


class Format(StrEnum):
    """Output formats of the read commands."""

    table = "table"
    json = "json"
    csv = "csv"


class FileFormat(StrEnum):
    """Output formats of the read commands that also write a workbook."""

    table = "table"
    json = "json"
    csv = "csv"
    xlsx = "xlsx"


class View(StrEnum):
    """Statement views (docs/domain.md, "Corrections and closed years")."""

    restated = "restated"
    as_closed = "as_closed"


DbOption = Annotated[
    str | None,
    typer.Option(
        "--db", help="database URL (default: FUNDLEDGER_DATABASE_URL or sqlite:///fundledger.db)"
    ),
]
FormatOption = Annotated[Format, typer.Option("--format", help="table, json or csv")]
FileFormatOption = Annotated[
    FileFormat, typer.Option("--format", help="table, json, csv, or xlsx (with --output)")
]
OutputOption = Annotated[
    Path | None,
    typer.Option("--output", help="write to this file instead of stdout (required for xlsx)"),
]
YearOption = Annotated[int, typer.Option("--year", help="the fiscal year")]
RegionOption = Annotated[
    str | None, typer.Option("--region", help="only funds inside this region code, e.g. 140100")
]
ProvinceOption = Annotated[str, typer.Option("--province", help="the province code, e.g. 140000")]
PolicyOption = Annotated[
    Path | None,
    typer.Option("--policy", help="a policy file (TOML) instead of each province's own"),
]
FundArgument = Annotated[str, typer.Argument(help="scheme:region, e.g. resident:140100")]


def problem(line: str) -> None:
    """One problem, one line on stderr, never wrapped."""
    typer.echo(line, err=True)


def settings_for(db: str | None) -> Settings:
    """The settings, with ``--db`` taking precedence over the environment."""
    from api.settings import Settings

    return Settings(database_url=db) if db else Settings()


def report(error: DomainError) -> int:
    """Print a refusal, one line per problem, and answer its exit code (2, or 75 when the
    same command may succeed later)."""
    from domain.errors import Retryable
    from domain.ledger_service import RowErrors

    if isinstance(error, RowErrors):
        for row in error.errors:
            problem(f"row {row.index + 1}: {row.error.field or 'row'}: {row.error.message}")
    else:
        lines = list(error.problems) or [
            f"{error.field + ': ' if error.field else ''}{error.message}"
        ]
        if error.problems and error.message != "; ".join(error.problems):
            lines.append(error.message)
        for line in lines:
            problem(line)
    return EXIT_RETRYABLE if isinstance(error, Retryable) else EXIT_REFUSED


@contextmanager
def guard() -> Iterator[None]:
    """A domain error or a failure of the store becomes its lines on stderr and its exit
    code, never a traceback; any other exception is a bug and is raised as it is."""
    from api.storage import store_failure
    from domain.errors import DomainError

    try:
        yield
    except DomainError as error:
        raise typer.Exit(report(error)) from None
    except Exception as error:
        failure = store_failure(error)
        if failure is None:
            raise
        raise typer.Exit(report(failure)) from None


@contextmanager
def open_app(settings: Settings, *, create: bool = False) -> Iterator[App]:
    """The application for one command, inside :func:`guard`.

    Only a command that creates a store (``create``) may name a SQLite file that does not
    exist yet; any other refuses, so that a mistyped ``--db`` leaves no empty file behind.
    """
    from api.bootstrap import bootstrap_app
    from api.storage import check_store_file

    app: App | None = None
    with guard():
        try:
            for url in {settings.database_url, *settings.province_database_urls.values()}:
                check_store_file(url, create=create)
            app = bootstrap_app(settings)
            if create and not app.ledger.is_initialised():
                app.init()
            yield app
        finally:
            if app is not None:
                with suppress(Exception):
                    app.close()


@dataclass(frozen=True)
class Output:
    """A read command's result, in every form it can be shown."""

    data: Any
    """JSON-ready data (``--format json``)."""
    table: Callable[[Console], None]
    csv: Callable[[], str]
    what: str
    """What a written file holds, for the line that confirms it."""
    xlsx: Callable[[Path], None] | None = None


def emit(result: Output, format: str, output: Path | None) -> None:  # noqa: A002
    """Show a read command's result: on stdout, or in ``--output`` (xlsx only in a file).

    Every read command goes through here, so ``--format`` and ``--output`` mean the same
    everywhere. Call it inside :func:`open_app` or :func:`guard`: a file that cannot be
    written is refused like any other input.
    """
    from domain.errors import InvalidInput

    if format == "xlsx":
        if output is None:
            raise InvalidInput("--format xlsx needs --output FILE", field="output")
        assert result.xlsx is not None, "a command offers xlsx only with its writer"
        result.xlsx(output)
    elif format == "table" and output is None:
        result.table(out)
        return
    else:
        text = _text(result, format)
        if output is None:
            sys.stdout.write(text)
            return
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as error:
            raise InvalidInput(
                f"cannot write {output}: {error.strerror or error}", field="output"
            ) from None
    out.print(f"{output}: {result.what}", soft_wrap=True)


def _text(result: Output, format: str) -> str:  # noqa: A002
    if format == "json":
        from api.render import to_json

        return to_json(result.data) + "\n"
    if format == "csv":
        return result.csv()
    buffer = StringIO()
    result.table(Console(file=buffer, width=160, color_system=None, force_terminal=False))
    return buffer.getvalue()
