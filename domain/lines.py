"""Ledger lines of the official statement layout, docs/domain.md §2.

The fund is kept on a cash basis (收付实现制): a line is recognised when cash moves.
"""

from __future__ import annotations

from enum import StrEnum


class Line(StrEnum):
    """A line of the resident-fund statement (收支预算表 / 决算表); :data:`LINE_NAMES` names it."""

    CONTRIBUTION = "contribution"
    SUBSIDY = "subsidy"
    INTEREST = "interest"
    OTHER_INCOME = "other_income"
    TRANSFER_IN = "transfer_in"
    FROM_UPPER = "from_upper"
    FROM_LOWER = "from_lower"
    BENEFIT = "benefit"
    CRITICAL_ILLNESS = "critical_illness"
    OTHER_EXPENSE = "other_expense"
    TRANSFER_OUT = "transfer_out"
    TO_LOWER = "to_lower"
    TO_UPPER = "to_upper"


LINE_NAMES: dict[Line, str] = {
    Line.CONTRIBUTION: "基本医疗保险费收入",
    Line.SUBSIDY: "财政补贴收入",
    Line.INTEREST: "利息收入",
    Line.OTHER_INCOME: "其他收入",
    Line.TRANSFER_IN: "转移收入",
    Line.FROM_UPPER: "上级补助收入",
    Line.FROM_LOWER: "下级上解收入",
    Line.BENEFIT: "基本医疗保险待遇支出",
    Line.CRITICAL_ILLNESS: "大病保险支出",
    Line.OTHER_EXPENSE: "其他支出",
    Line.TRANSFER_OUT: "转移支出",
    Line.TO_LOWER: "补助下级支出",
    Line.TO_UPPER: "上解上级支出",
}
"""Each line's name in the official statement layout (docs/domain.md §2)."""


class Level(StrEnum):
    """The level of government that pays a subsidy (docs/domain.md §5)."""

    CENTRAL = "central"
    PROVINCIAL = "provincial"
    MUNICIPAL = "municipal"
    COUNTY = "county"


class Purpose(StrEnum):
    """What a transfer between funds is for."""

    ADJUSTMENT_LEVY = "adjustment_levy"  # 调剂金计提/上解
    ADJUSTMENT_DRAW = "adjustment_draw"  # 调剂金拨付
    LEGACY_MERGE = "legacy_merge"  # 清算、划转、合并


INCOME_LINES: tuple[Line, ...] = (
    Line.CONTRIBUTION,
    Line.SUBSIDY,
    Line.INTEREST,
    Line.OTHER_INCOME,
    Line.TRANSFER_IN,
)
"""Lines of the income subtotal (本年收入小计)."""

EXPENSE_LINES: tuple[Line, ...] = (
    Line.BENEFIT,
    Line.CRITICAL_ILLNESS,
    Line.OTHER_EXPENSE,
    Line.TRANSFER_OUT,
)
"""Lines of the expense subtotal (本年支出小计)."""

INTER_LEVEL_INCOME: tuple[Line, ...] = (Line.FROM_UPPER, Line.FROM_LOWER)
INTER_LEVEL_EXPENSE: tuple[Line, ...] = (Line.TO_LOWER, Line.TO_UPPER)

ALL_INCOME = frozenset(INCOME_LINES + INTER_LEVEL_INCOME)
ALL_EXPENSE = frozenset(EXPENSE_LINES + INTER_LEVEL_EXPENSE)

POSTABLE_LINES: tuple[Line, ...] = INCOME_LINES + EXPENSE_LINES + INTER_LEVEL_EXPENSE
"""Lines a postings file may name; ``from_upper``/``from_lower`` are only ever mirrors."""

MIRROR: dict[Line, Line] = {
    Line.TO_UPPER: Line.FROM_LOWER,
    Line.TO_LOWER: Line.FROM_UPPER,
    Line.TRANSFER_OUT: Line.TRANSFER_IN,
}
"""The line written on the counterparty when a paired posting is made."""

SUB_LINES: dict[Line, frozenset[str]] = {
    Line.CONTRIBUTION: frozenset(
        {"individual", "collective", "medical_assistance", "paid_for_needy"}
    ),
    Line.SUBSIDY: frozenset({"standard", "earmarked"}),
    Line.BENEFIT: frozenset(
        {
            "inpatient",
            "outpatient",
            "outpatient_pooling",
            "outpatient_chronic",
            "two_diseases",
        }
    ),
}
"""Sub-lines each line admits; a line not listed takes no sub-line."""


def sign_of(line: Line) -> int:
    """+1 for a line that brings money into the fund, -1 for one that takes it out."""
    return 1 if line in ALL_INCOME else -1
