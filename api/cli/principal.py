"""Who acts at the command line: one rule for every command (docs/contract.md, "Identity").

``--by NAME``, else ``FUNDLEDGER_PRINCIPAL``, else ``cli:<operating-system user>``. The
operator at the server's command line has every right (no role), and the name is what every
write records and what maker ≠ checker compares.
"""

from __future__ import annotations

import getpass
import os
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from domain.access import Principal

ByOption = Annotated[
    str | None,
    typer.Option("--by", help="who acts (default: FUNDLEDGER_PRINCIPAL, else cli:<your login>)"),
]


def cli_principal(by: str | None = None) -> Principal:
    """The principal of a command: ``--by``, else the environment, else ``cli:<login>``."""
    from domain.access import Principal
    from domain.errors import InvalidInput

    name = (by or "").strip() or os.environ.get("FUNDLEDGER_PRINCIPAL", "").strip()
    if not name:
        try:
            name = f"cli:{getpass.getuser()}"
        except (OSError, KeyError):
            raise InvalidInput(
                "say who acts with --by or FUNDLEDGER_PRINCIPAL", field="by"
            ) from None
    return Principal(name=name)
