"""``fundledger tokens add|list|revoke``: the HTTP API's tokens (docs/operations.md, "Tokens").

``add`` prints the new token once, alone on one line of stdout, so that a script can capture
it (``TOKEN=$(fundledger tokens add ...)``); everything else goes to stderr. Nothing ever
prints a token's hash.
"""

from __future__ import annotations

import csv
import getpass
import io
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli.common import DbOption, Format, FormatOption, open_app, out, problem, settings_for

if TYPE_CHECKING:
    from api.identity.tokens import TokenRecord
    from domain.access import Principal

tokens_app = typer.Typer(help="The HTTP API's tokens: add, list, revoke.", no_args_is_help=True)


def _operator() -> Principal:
    """The operator at the server's command line (every right: tokens are managed here)."""
    from domain.access import Principal

    return Principal(name=f"cli:{getpass.getuser()}")


@tokens_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="unique; becomes recorded_by of every write")],
    role: Annotated[str, typer.Option("--role", help="municipal, provincial or auditor")],
    region: Annotated[
        str, typer.Option("--region", help="city or county (municipal), province (000000: auditor)")
    ],
    db: DbOption = None,
) -> None:
    """Create a token and print it once (only its SHA-256 is kept)."""
    from api.usecases.tokens import add_token

    with open_app(settings_for(db)) as fl:
        issued = add_token(fl, _operator(), name, role, region)
    sys.stdout.write(issued.token + "\n")
    record = issued.record
    problem(
        f"token {record.name!r} ({record.role} {record.region}) created; it is shown only this once"
    )


def _row(record: TokenRecord) -> dict[str, str | None]:
    return {
        "name": record.name,
        "role": record.role.value,
        "region": record.region,
        "created_at": record.created_at,
        "revoked_at": record.revoked_at,
    }


@tokens_app.command("list")
def list_(format: FormatOption = Format.table, db: DbOption = None) -> None:  # noqa: A002
    """Name, role, region, created and revoked of every token; never a token or its hash."""
    from rich.table import Table

    from api.render import to_json
    from api.usecases.tokens import list_tokens

    with open_app(settings_for(db)) as fl:
        rows = [_row(record) for record in list_tokens(fl, _operator())]
    if format is Format.json:
        sys.stdout.write(to_json(rows) + "\n")
    elif format is Format.csv:
        buffer = io.StringIO()
        writer = csv.DictWriter(
            buffer, ["name", "role", "region", "created_at", "revoked_at"], lineterminator="\n"
        )
        writer.writeheader()
        writer.writerows(rows)
        sys.stdout.write(buffer.getvalue())
    else:
        table = Table("name", "role", "region", "created", "revoked", title="tokens")
        for row in rows:
            table.add_row(*(value or "" for value in row.values()))
        out.print(table)


@tokens_app.command("revoke")
def revoke(
    name: Annotated[str, typer.Argument(help="the token's name")], db: DbOption = None
) -> None:
    """Revoke a token: refused from the next request on, in every server process."""
    from api.usecases.tokens import revoke_token

    with open_app(settings_for(db)) as fl:
        record = revoke_token(fl, _operator(), name)
    problem(f"token {record.name!r} revoked at {record.revoked_at}")
