"""Exports finance staff use: workbooks (:mod:`.xlsx`), a fund's chart (:mod:`.png`) and CSV
(:mod:`.csv`), pure functions from read-model data to bytes or a file.

The spreadsheet and plotting libraries are imported only when a file is written, so that
importing this package costs a command nothing it does not use.
"""

from api.exports.png import CHART_DPI, CHART_HEIGHT_PX, CHART_WIDTH_PX, fund_chart_png
from api.exports.xlsx import ratios_xlsx, statement_xlsx

__all__ = [
    "CHART_DPI",
    "CHART_HEIGHT_PX",
    "CHART_WIDTH_PX",
    "fund_chart_png",
    "ratios_xlsx",
    "statement_xlsx",
]
