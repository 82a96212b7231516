"""The money filter: yuan with thousands separators, exact, from fen or from yuan text."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from api.web.money import percent, ratio, yuan
from domain.money import format_fen, parse_yuan


def test_examples() -> None:
    assert yuan(123456789) == "1,234,567.89"
    assert yuan(-5) == "-0.05"
    assert yuan("35226.00") == "35,226.00"
    assert yuan("-73579108.73") == "-73,579,108.73"
    assert yuan(None) == ""
    assert percent("0.020326") == "2.03%"
    assert ratio("4.2340", 4) == "4.2340"
    assert ratio(None) == ""


@given(st.integers(min_value=-(10**15) + 1, max_value=10**15 - 1))
def test_the_grouped_text_is_the_same_amount(fen: int) -> None:
    shown = yuan(fen)
    assert parse_yuan(shown.replace(",", "")) == fen
    assert yuan(format_fen(fen)) == shown
    whole = shown.lstrip("-").split(".")[0]
    assert all(len(group) == 3 for group in whole.split(",")[1:])
