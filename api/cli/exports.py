"""``fundledger chart``: a fund's month-end balance and months of coverage as a PNG (the
drawing is in :mod:`api.exports.png`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli.common import DbOption, FundArgument, open_app, out, settings_for
from api.cli.principal import cli_principal


def chart(
    fund: FundArgument,
    output: Annotated[Path, typer.Option("--output", help="the PNG file to write")],
    from_year: Annotated[
        int | None, typer.Option("--from-year", help="the first year shown (default: the first)")
    ] = None,
    to_year: Annotated[
        int | None, typer.Option("--to-year", help="the last year shown (default: the latest)")
    ] = None,
    db: DbOption = None,
) -> None:
    """A PNG of a fund's month-end balance and months of coverage across its years.

    Months of coverage: the month-end balance over the average monthly expense subtotal of
    the trailing 12 months (of the months on the books while they hold fewer than 12).
    """
    from api.exports import fund_chart_png
    from api.usecases.read_models import chart_data
    from domain.funds import FundId

    with open_app(settings_for(db)) as fl:
        fund_id = FundId.parse(fund)
        data = chart_data(fl, cli_principal(), fund_id, from_year=from_year, to_year=to_year)
        fund_chart_png(data.fund, data.months, output, bands=data.bands)
    first, last = data.months[0].label, data.months[-1].label
    out.print(f"{output}: {fund_id}, {len(data.months)} months, {first} to {last}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``fundledger`` application."""
    app.command("chart")(chart)
