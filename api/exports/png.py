"""A fund's chart as PNG: month-end balance and months of coverage against the warning bands.

Matplotlib is imported only when a chart is drawn.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from api.exports.workbook import LEVEL_COLOURS
from domain.errors import InvalidInput

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from projections.monthly import MonthFigures
    from projections.policy import Band

CHART_WIDTH_PX = 1200
CHART_HEIGHT_PX = 750
CHART_DPI = 100


def fund_chart_png(
    fund: str,
    months: Sequence[MonthFigures],
    path: Path | BinaryIO,
    *,
    bands: Sequence[Band] = (),
) -> None:
    """A PNG of a fund's month-end balance and months of coverage across its years.

    Top panel: the month-end balance in yuan. Bottom panel: months of coverage, the month-end
    balance over the average monthly expense subtotal of the trailing 12 months (of the
    months on the books while they hold fewer than 12, drawn dotted), with the province's
    bands of months of coverage shaded behind. Dashed lines mark the year boundaries. The
    image is ``CHART_WIDTH_PX`` × ``CHART_HEIGHT_PX`` pixels.
    """
    if not months:
        raise InvalidInput(f"{fund} has no postings in the years asked for: nothing to chart")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(
        figsize=(CHART_WIDTH_PX / CHART_DPI, CHART_HEIGHT_PX / CHART_DPI), dpi=CHART_DPI
    )
    FigureCanvasAgg(figure)
    top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    _balance_panel(top, months)
    _coverage_panel(bottom, months, bands)
    januaries = [i for i, m in enumerate(months) if m.month == 1]
    for axes in (top, bottom):
        for i in januaries:
            if i > 0:
                axes.axvline(i - 0.5, color="#888888", linestyle="--", linewidth=0.9)
        axes.set_xlim(-0.5, len(months) - 0.5)
    starts = sorted({0, *januaries})
    bottom.set_xticks(starts, [months[i].label for i in starts])
    bottom.set_xticks(range(len(months)), minor=True)
    figure.suptitle(
        f"{fund}: month-end balance and months of coverage, "
        f"{months[0].label} to {months[-1].label}",
        fontweight="bold",
    )
    figure.subplots_adjust(left=0.11, right=0.92, top=0.93, bottom=0.07, hspace=0.08)
    try:
        figure.savefig(path, format="png", dpi=CHART_DPI, metadata={"Software": None})
    except OSError as error:
        raise InvalidInput(f"cannot write {path}: {error.strerror}", field="output") from None


def _balance_panel(axes: Axes, months: Sequence[MonthFigures]) -> None:
    from matplotlib.ticker import FuncFormatter

    balances = [float(Decimal(m.closing_balance_fen) / 100) for m in months]
    axes.plot(
        range(len(months)), balances, color="#1f4e79", marker="o", markersize=3, linewidth=1.6
    )
    if min(balances) < 0:
        axes.axhline(0, color="#555555", linewidth=0.8)
    axes.set_ylabel("month-end balance (yuan)")
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _pos: f"{value:,.0f}"))
    axes.grid(axis="y", alpha=0.3)


def _coverage_panel(axes: Axes, months: Sequence[MonthFigures], bands: Sequence[Band]) -> None:
    nan = float("nan")
    coverage = [
        nan if m.months_of_coverage is None else float(m.months_of_coverage) for m in months
    ]
    full = [c if m.window_months >= 12 else nan for c, m in zip(coverage, months, strict=True)]
    young = [c if m.window_months < 12 else nan for c, m in zip(coverage, months, strict=True)]
    first_full = next((i for i, m in enumerate(months) if m.window_months >= 12), None)
    if first_full is not None and first_full > 0:
        young[first_full] = coverage[first_full]  # the dotted stretch joins the solid line
    xs = range(len(months))
    axes.plot(
        xs,
        full,
        color="#7f3f00",
        marker="o",
        markersize=3,
        linewidth=1.6,
        label="trailing 12 months",
    )
    if first_full != 0:
        axes.plot(
            xs,
            young,
            color="#7f3f00",
            marker="o",
            markersize=3,
            linewidth=1.2,
            linestyle=":",
            label="fewer than 12 months on the books",
        )
    known = [c for c in coverage if not math.isnan(c)]
    edges = [float(b.from_months) for b in bands if b.from_months is not None]
    low_limit = min([*known, 0.0]) * 1.1
    high_limit = max([*known, *edges, 3.0]) * 1.15
    axes.set_ylim(low_limit, high_limit)
    for band in bands:
        low = low_limit if band.from_months is None else float(band.from_months)
        high = high_limit if band.to_months is None else float(band.to_months)
        colour = LEVEL_COLOURS.get(band.level.value, "#EEEEEE")
        axes.axhspan(low, high, color=colour, alpha=0.35, linewidth=0)
        axes.text(
            len(months) - 0.4,
            (low + min(high, high_limit)) / 2,
            band.label,
            fontsize=7,
            va="center",
            ha="left",
            color="#444444",
        )
    axes.set_ylabel("months of coverage\n(balance ÷ average monthly\nexpense, trailing 12 months)")
    axes.grid(axis="y", alpha=0.3)
    axes.legend(loc="upper left", fontsize=8)


def fund_chart_png_bytes(
    fund: str, months: Sequence[MonthFigures], *, bands: Sequence[Band] = ()
) -> bytes:
    """The chart as PNG bytes (``GET /v1/funds/{fund}/chart``)."""
    buffer = io.BytesIO()
    fund_chart_png(fund, months, buffer, bands=bands)
    return buffer.getvalue()
