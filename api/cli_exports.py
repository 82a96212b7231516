"""Commands that export spreadsheets and charts (to be built)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``fundledger`` application."""
    del app
