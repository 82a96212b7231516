"""Every problem of a postings row is told (api.schemas.PostingIn), in the order of the
columns, whichever cells hold text no store keeps, are blank or are unknown."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from api.schemas import POSTING_COLUMNS, PostingIn, validation_problems

GOOD = {
    "fund": "resident:140100",
    "line": "interest",
    "amount": "12.34",
    "value_date": "2025-06-30",
    "reference": "R-1",
}


def problems(row: dict[str, object]) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as raised:
        PostingIn.model_validate(row)
    return validation_problems(raised.value)


def test_text_no_store_keeps_is_told_with_every_other_problem_in_column_order() -> None:
    row = {
        **GOOD,
        "fund": " ",
        "line": "nope",
        "reference": "R\x01",
        "memo": "\x0b",
        "county": "x\ud800",
        "extra": "\x01",
    }
    assert problems(row) == [
        ("fund", "is required"),
        ("line", f"'nope' is not one of: {LINES}"),
        ("reference", "holds a control character"),
        ("county", "is not valid Unicode text (a lone surrogate)"),
        ("memo", "holds a control character"),
        ("extra", "is not a known field"),
    ]


LINES = (
    "'contribution', 'subsidy', 'interest', 'other_income', 'transfer_in', 'from_upper', "
    "'from_lower', 'benefit', 'critical_illness', 'other_expense', 'transfer_out', 'to_lower' "
    "or 'to_upper'"
)


def test_an_empty_cell_is_absent_and_the_amount_keeps_its_own_words() -> None:
    parsed = PostingIn.model_validate({**GOOD, "memo": "", "county": "  "})
    assert (parsed.memo, parsed.county) == (None, None)
    assert problems({**GOOD, "reference": ""}) == [("reference", "is required")]
    assert problems({**GOOD, "amount": ""}) == [
        ("amount", "'' is not an amount of yuan with at most two decimals (e.g. \"1200.00\")")
    ]


@given(
    column=st.sampled_from([c for c in POSTING_COLUMNS if c != "amount"]),
    control=st.sampled_from(["\x00", "\x01", "\x0b", "\x1f", "\x7f"]),
)
def test_a_control_character_in_any_column_is_told_in_that_column(
    column: str, control: str
) -> None:
    assert (column, "holds a control character") in problems({**GOOD, column: f"a{control}b"})
