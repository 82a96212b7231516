"""What every command shares: the consoles, options, and the guard that maps errors to exit 2."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console

from api.bootstrap import App, bootstrap_app
from api.settings import Settings
from domain.errors import DomainError, InvalidInput
from domain.ledger_service import RowErrors
from projections.decode import utc_text

out = Console() if sys.stdout.isatty() else Console(width=160)
err = Console(stderr=True) if sys.stderr.isatty() else Console(stderr=True, width=160)


class Format(StrEnum):
    """Output formats of the read commands."""

    table = "table"
    json = "json"
    csv = "csv"


class View(StrEnum):
    """Statement views (DOMAIN.md §7)."""

    restated = "restated"
    as_closed = "as_closed"


DbOption = Annotated[
    str | None,
    typer.Option(
        "--db", help="database URL (default: FUNDLEDGER_DATABASE_URL or sqlite:///fundledger.db)"
    ),
]
FormatOption = Annotated[Format, typer.Option("--format", help="table, json or csv")]


def problem(line: str) -> None:
    """One problem, one line on stderr, never wrapped."""
    typer.echo(line, err=True)


def settings_for(db: str | None) -> Settings:
    """The settings, with ``--db`` taking precedence over the environment."""
    return Settings(database_url=db) if db else Settings()


@contextmanager
def open_app(settings: Settings, *, create: bool = False) -> Iterator[App]:
    """The application for one command; a domain error becomes exit 2 with its reason."""
    app: App | None = None
    try:
        app = bootstrap_app(settings)
        if create and not app.ledger.is_initialised():
            app.init()
        yield app
    except RowErrors as error:
        for row in error.errors:
            problem(f"row {row.index + 1}: {row.error.field or 'row'}: {row.error.message}")
        raise typer.Exit(2) from None
    except DomainError as error:
        for line in error.problems or (
            f"{error.field + ': ' if error.field else ''}{error.message}",
        ):
            problem(line)
        raise typer.Exit(2) from None
    finally:
        if app is not None:
            app.close()


def parse_as_of(text: str | None) -> str | None:
    """An ``--as-of`` time: ISO 8601 with a UTC offset, as comparable UTC text."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"{text!r} is not an ISO 8601 time such as 2025-01-31T18:00:00+08:00", field="as_of"
        ) from None
    if moment.tzinfo is None:
        raise InvalidInput(f"{text!r} needs a UTC offset (e.g. +08:00)", field="as_of")
    return utc_text(moment)
