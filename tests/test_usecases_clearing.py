"""The clearing, settlement, budget and audit use cases on memory, SQLite and PostgreSQL.

Who may do what (docs/contract.md, "Identity and access"), what a city sees of a province's
documents (docs/clearing.md §6), maker ≠ checker on principals, and the identity of a retried
post.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from api.bootstrap import App
from api.usecases import audit, budgets, clearing, settlements
from api.usecases.settlements import SettlementKey
from domain.access import AccessDenied, Principal, Role
from domain.errors import Conflict, NotFound
from domain.funds import FundId
from domain.settlement import settlement_id
from tests.scenario import CITY, CITY2, PROVINCE_ADJUSTMENT, posting
from tests.test_budgets import TAIYUAN_2025, budget
from tests.test_settlement import POSTINGS, make_app

KEY = SettlementKey("140000", 2024)
LI = Principal("li", Role.PROVINCIAL, "140000")
ZHAO = Principal("zhao", Role.PROVINCIAL, "140000")
TAIYUAN = Principal("taiyuan", Role.MUNICIPAL, "140100")
TAIYUAN_2 = Principal("taiyuan-2", Role.MUNICIPAL, "140100")
AUDITOR = Principal("audit", Role.AUDITOR, "000000")
JIANGSU = Principal("js", Role.PROVINCIAL, "320000")


@pytest.fixture
def app(store_url: str) -> Iterator[App]:
    built = make_app(store_url)
    for fund, balance in ((CITY, 1_000_000_00), (CITY2, 500_000_00), (PROVINCE_ADJUSTMENT, 0)):
        built.ledger.open_fund(fund, first_year=2023, opening_balance_fen=balance)
    built.ledger.import_postings([posting(p) for p in POSTINGS])
    try:
        yield built
    finally:
        built.close()


def test_a_year_end_by_principals(app: App) -> None:
    posted = clearing.post_levy(app, LI, "140000", 2024)
    assert [r["status"] for r in posted.rows] == ["posted", "posted"]
    assert settlements.draft(app, LI, KEY).changed
    with pytest.raises(AccessDenied, match="li drafted this settlement"):
        settlements.approve(app, LI, KEY)
    assert settlements.approve(app, ZHAO, KEY).view.approved_by == "zhao"
    first = settlements.post(app, ZHAO, KEY, repeat=True)
    assert (first.changed, first.view.status, first.view.posted_by) == (True, "posted", "zhao")
    again = settlements.post(app, ZHAO, KEY, repeat=True)
    assert (again.changed, again.view) == (False, first.view)
    with pytest.raises(Conflict, match="already posted"):
        settlements.post(app, ZHAO, KEY)  # no retry said: refused
    with pytest.raises(Conflict, match="already posted"):
        settlements.post(app, LI, KEY, repeat=True)  # another officer's retry is not a repeat
    events = app.ledger.fund_events(PROVINCE_ADJUSTMENT)
    draws = [e for e in events if getattr(e, "reference", "").startswith("DRAW-2024-")]
    assert [e.recorded_by for e in draws] == ["zhao", "zhao"]  # type: ignore[attr-defined]


def test_a_city_sees_only_its_own_pool(app: App) -> None:
    clearing.post_levy(app, LI, "140000", 2024)
    settlements.draft(app, LI, KEY)
    whole = settlements.report(app, AUDITOR, KEY)
    assert [p["fund"] for p in whole.result["pools"]] == ["resident:140100", "resident:140200"]
    mine = settlements.report(app, TAIYUAN, KEY).to_json()
    assert [p["fund"] for p in mine["pools"]] == ["resident:140100"]
    assert mine["pools"][0]["draw"] == "300000.00"
    assert (mine["adjustment_fund"]["balance"], mine["adjustment_fund"]["draws_total"]) == (
        None,
        None,
    )
    levies = clearing.levies(app, TAIYUAN, "140000", 2024)
    assert ([r["fund"] for r in levies.rows], levies.total) == (["resident:140100"], None)
    with pytest.raises(AccessDenied):
        settlements.report(app, JIANGSU, KEY)
    for write in (settlements.draft, settlements.dry_run, settlements.approve):
        with pytest.raises(AccessDenied):
            write(app, TAIYUAN, KEY)
    with pytest.raises(AccessDenied):
        clearing.post_levy(app, AUDITOR, "140000", 2024)


def test_settlement_ids_are_their_business_keys() -> None:
    assert KEY.id == str(settlement_id("140000", 2024))
    assert SettlementKey.from_id(KEY.id) == KEY
    with pytest.raises(NotFound):
        SettlementKey.from_id("00000000-0000-0000-0000-000000000000")
    with pytest.raises(NotFound):
        SettlementKey.from_id("140000-2024")


def test_a_budget_is_approved_by_another_than_its_drafter(app: App) -> None:
    fund = FundId.parse("resident:140100")
    lines = budget()
    drafted = budgets.draft(app, TAIYUAN, fund, 2025, lines, opening_balance_fen=850_000_000_00)
    assert (drafted.changed, drafted.current_surplus) == (True, "79000000.00")
    with pytest.raises(AccessDenied, match="taiyuan drafted"):
        budgets.approve(app, TAIYUAN, fund, 2025, "晋医保〔2025〕3号")
    with pytest.raises(AccessDenied):
        budgets.approve(app, Principal("datong", Role.MUNICIPAL, "140200"), fund, 2025, "x")
    approved = budgets.approve(app, TAIYUAN_2, fund, 2025, "晋医保〔2025〕3号")
    assert approved.status == "approved"
    shown = budgets.show(app, AUDITOR, fund, 2025)
    assert shown["original"]["expense"]["benefit"] == TAIYUAN_2025["benefit"]
    with pytest.raises(AccessDenied):
        budgets.draft(app, AUDITOR, fund, 2026, lines, opening_balance_fen=0)


def test_audit_verify_is_for_auditors_and_the_province(app: App) -> None:
    report = audit.verify(app, AUDITOR)
    assert report.ok, report.findings
    assert audit.report_json(report)["checked"]["funds"] == 3
    one = audit.verify(app, LI, fund=CITY, year=2024)
    assert (one.funds, one.statements) == (1, 1)
    with pytest.raises(AccessDenied):
        audit.verify(app, TAIYUAN, fund=CITY)
    with pytest.raises(AccessDenied):
        audit.verify(app, JIANGSU, province="140000")
    assert audit.verify(app, JIANGSU).funds == 0  # its own province: nothing on its books
