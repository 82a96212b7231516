"""The pro-rata figures explained (issue 9, point 7): each pool's request before scaling, the
scale, and which pool took each remaining fen, so that request × scale can be checked by hand.

Three pools request 100.00 each of an adjustment fund holding 200.00: each exact share is
66.666…, the floors 66.66 leave 2 fen, which go to the two lowest fund ids (equal remainders).
"""

from __future__ import annotations

from rich.console import Console

from api.cli.clearing_tables import adjustment_line
from clearing.allocation import PoolInput, ProvinceInput, allocate
from clearing.policy import load_policy
from clearing.report import SettlementView, result_document

NATIONAL = load_policy("440000", 2024)


def test_each_remaining_fen_names_the_pool_that_took_it() -> None:
    pools = tuple(
        PoolInput(fund=f"resident:44{n}00", income_fen=0, expense_fen=100_00, levy_fen=0,
                  levy_due_fen=0, balance_fen=0)
        for n in ("03", "01", "02")
    )  # fmt: skip
    inputs = ProvinceInput("440000", 2024, "adjustment:440000", 200_00, pools)
    allocation = allocate(inputs, NATIONAL)
    result = result_document(allocation)
    view = SettlementView("x", "440000", 2024, "draft", NATIONAL.model_dump(mode="json"), "h",
                          result)  # fmt: skip
    data = view.to_json()
    assert data["adjustment_fund"]["requested_total"] == "300.00"
    assert data["adjustment_fund"]["scale"] == "0.666666"
    rows = [(p["fund"], p["request"], p["draw"], p["remaining_fen_taken"]) for p in data["pools"]]
    assert rows == [
        ("resident:440100", "100.00", "66.67", 1),
        ("resident:440200", "100.00", "66.67", 1),
        ("resident:440300", "100.00", "66.66", 0),
    ]
    assert (
        "draw scaled pro rata to what the adjustment fund holds: request 100.00 × balance ÷ "
        "requests = 66.66 rounded down + 1 remaining fen (largest remainder) = 66.67 (以收定支)"
    ) in data["pools"][0]["rules"]
    line = adjustment_line(view)
    assert "requested 300.00" in line
    assert "remaining fen to resident:440100, resident:440200" in line
    Console(record=True).print(line)
