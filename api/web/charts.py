"""The workbench's charts: SVG drawn on the server by pygal, inline in the page.

pygal's own page script (tooltips) would be fetched from outside the server, so it is turned
off: the SVG stands alone (docs/workbench.md). A bar of months of coverage takes the colour
of its warning band, and the bands' limits are the chart's horizontal guides. Money is drawn
in 万元 (10,000 yuan) from integer fen; a chart is a drawing, its tables give the exact figures.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import pygal  # type: ignore[import-untyped]
from markupsafe import Markup
from pygal.style import Style  # type: ignore[import-untyped]

from projections.monthly import MonthFigures
from projections.policy import Band

_SCRIPT = re.compile(r"<script\b.*?</script>", re.DOTALL)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
LEVEL_COLOURS = {
    "red": "#b3261e",
    "orange": "#c2570c",
    "yellow": "#a07800",
    "blue": "#1f5fae",
    "green": "#2e7d32",
}
FONT = "Noto Sans CJK SC, Noto Sans SC, sans-serif"
STYLE = Style(
    background="white",
    plot_background="white",
    font_family=FONT,
    label_font_family=FONT,
    major_label_font_family=FONT,
    value_font_family=FONT,
    legend_font_family=FONT,
    title_font_family=FONT,
    tooltip_font_family=FONT,
    title_font_size=22,
    label_font_size=16,
    major_label_font_size=16,
    legend_font_size=16,
    value_font_size=14,
    colors=(
        "#0b5cad",
        "#c2570c",
        "#2e7d32",
        "#6a1b9a",
        "#00838f",
        "#ad1457",
        "#5d4037",
        "#455a64",
        "#9e9d24",
        "#283593",
        "#bf360c",
        "#1b5e20",
    ),
)


def _config(**options: object) -> dict[str, object]:
    return {"style": STYLE, "js": [], "disable_xml_declaration": True, **options}


def svg(chart: Any) -> Markup:
    """The chart as inline SVG markup, without script (pygal's tooltip configuration is
    dropped: the page runs no script of pygal's) nor comments."""
    rendered = _SCRIPT.sub("", chart.render(is_unicode=True))
    rendered = _COMMENT.sub("", rendered)
    return Markup(rendered)  # noqa: S704 - pygal's own SVG, every label escaped by pygal


def band_limits(bands: Sequence[Band]) -> list[float]:
    """The months where one band ends and the next begins (the guides of a chart)."""
    limits = {b.to_months for b in bands if b.to_months is not None}
    limits |= {b.from_months for b in bands if b.from_months is not None}
    return [float(limit) for limit in sorted(limits)]


def level_of(months: Decimal, bands: Sequence[Band]) -> str:
    """The warning level of the band ``months`` falls in (green when no band holds it)."""
    for band in bands:
        low_ok = band.from_months is None or months >= band.from_months
        high_ok = band.to_months is None or months < band.to_months
        if low_ok and high_ok:
            return band.level.value
    return "green"


def coverage_bars(
    title: str, pools: Sequence[tuple[str, str | None]], bands: Sequence[Band]
) -> Markup:
    """Months of coverage per pool (label, decimal text or None), each bar in its band's
    colour, the bands' limits as guides."""
    chart = pygal.Bar(
        **_config(
            title=title,
            show_legend=False,
            height=380,
            width=900,
            x_label_rotation=30,
            y_labels=[0.0, *band_limits(bands)],
            print_values=False,
        )
    )
    chart.x_labels = [label for label, _ in pools]
    values: list[dict[str, object] | None] = []
    for _, months in pools:
        if months is None:
            values.append(None)
            continue
        exact = Decimal(months)
        values.append({"value": float(exact), "color": LEVEL_COLOURS[level_of(exact, bands)]})
    chart.add(title, values)
    return svg(chart)


def coverage_trend(
    title: str,
    years: Sequence[int],
    series: Mapping[str, Sequence[str | None]],
    bands: Sequence[Band],
) -> Markup:
    """Each pool's months of coverage over the years, the bands' limits as guides."""
    chart = pygal.Line(
        **_config(
            title=title,
            height=380,
            width=900,
            legend_at_bottom=True,
            legend_at_bottom_columns=4,
            y_labels=[0.0, *band_limits(bands)],
            dots_size=3,
        )
    )
    chart.x_labels = [str(year) for year in years]
    for name, points in series.items():
        chart.add(name, [None if p is None else float(Decimal(p)) for p in points])
    return svg(chart)


def monthly_balance(
    title: str,
    balance_label: str,
    coverage_label: str,
    months: Sequence[MonthFigures],
    bands: Sequence[Band],
) -> Markup:
    """Month-end balance (万元, left axis) and trailing-12-month months of coverage (right
    axis) of one fund, the bands' limits as guides of the right axis."""
    chart = pygal.Line(
        **_config(
            title=title,
            height=400,
            width=1000,
            legend_at_bottom=True,
            x_label_rotation=45,
            show_minor_x_labels=False,
            x_labels_major_every=max(1, len(months) // 12),
            dots_size=2,
            secondary_range=(0, max([15.0, *band_limits(bands)])),
        )
    )
    chart.x_labels = [m.label for m in months]
    chart.add(balance_label, [m.closing_balance_fen / 1_000_000 for m in months])
    coverage = [m.months_of_coverage for m in months]
    chart.add(
        coverage_label,
        [None if c is None else float(Decimal(c)) for c in coverage],
        secondary=True,
    )
    return svg(chart)
