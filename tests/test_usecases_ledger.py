"""The ledger and read-model use cases, on memory, SQLite and PostgreSQL, for every role.

Each use case is called as both adapters call it: with the principal who acts. Figures are
worked out by hand from the postings of the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest

from api.bootstrap import App, bootstrap_app
from api.postings_csv import parse_postings, rows_postings
from api.settings import Settings
from api.usecases import history, ledger, read_models
from domain.access import AccessDenied, Principal, Role
from domain.errors import FundAlreadyRegistered, InvalidInput, ReferenceConflict
from domain.funds import FundId
from domain.today import china_today
from tests.scenario import CITY, CITY2, PROVINCE_ADJUSTMENT, posting

OPERATOR = Principal("cli:operator")
PROVINCIAL = Principal("wang", Role.PROVINCIAL, "140000")
TAIYUAN = Principal("taiyuan-finance", Role.MUNICIPAL, "140100", request_id="req-1")
DATONG = Principal("datong-finance", Role.MUNICIPAL, "140200")
AUDITOR = Principal("audit-office", Role.AUDITOR, "000000")
JIANGSU = Principal("su", Role.PROVINCIAL, "320000")


@pytest.fixture
def fl(store_url: str) -> Iterator[App]:
    built = bootstrap_app(Settings(database_url=store_url))
    built.ledger.init(["140000", "320000"])
    built.read_models.create_tables()
    for fund in (CITY, CITY2, PROVINCE_ADJUSTMENT):
        ledger.open_fund(built, PROVINCIAL, fund, first_year=2024, opening_balance_fen=500_000)
    try:
        yield built
    finally:
        built.close()


def event_count(fl: App) -> int:
    return sum(len(list(fl.ledger.fund_events(f))) for f in (CITY, CITY2, PROVINCE_ADJUSTMENT))


def test_open_fund_is_idempotent_and_only_for_the_province(fl: App) -> None:
    again = ledger.open_fund(fl, PROVINCIAL, CITY, first_year=2024, opening_balance_fen=500_000)
    assert (again.created, again.to_json()) == (
        False,
        {"fund": "resident:140100", "first_year": 2024, "opening_balance": "5000.00", "name": ""},
    )
    with pytest.raises(FundAlreadyRegistered):
        ledger.open_fund(fl, PROVINCIAL, CITY, first_year=2023)
    with pytest.raises(AccessDenied, match="the municipal role may not open fund"):
        ledger.open_fund(fl, TAIYUAN, CITY, first_year=2024)
    with pytest.raises(AccessDenied, match="140300 lies outside the caller's region 320000"):
        ledger.open_fund(fl, JIANGSU, posting_fund("resident:140300"), first_year=2024)
    events = list(fl.ledger.fund_events(CITY))
    assert [e.recorded_by for e in events] == ["wang"]  # type: ignore[attr-defined]


def posting_fund(text: str) -> FundId:
    return FundId.parse(text)


def test_post_answers_posted_then_duplicate_with_the_original(fl: App) -> None:
    given = posting("resident:140100 contribution/individual 6000.00 2024-11-02 C-1 memo=十一月")
    first = ledger.post(fl, TAIYUAN, given)
    assert first.duplicate is False
    assert first.posting == {
        "fund": "resident:140100",
        "line": "contribution",
        "value_date": "2024-11-02",
        "reference": "C-1",
        "sub_line": "individual",
        "level": None,
        "county": None,
        "counterparty": None,
        "purpose": None,
        "reverses": None,
        "memo": "十一月",
        "amount": "6000.00",
        "version": 2,
    }
    again = ledger.post(fl, PROVINCIAL, given)
    assert again.duplicate is True
    assert again.posting == first.posting
    (opened, contribution) = list(fl.ledger.fund_events(CITY))
    assert (contribution.recorded_by, contribution.request_id) == ("taiyuan-finance", "req-1")  # type: ignore[attr-defined]
    assert opened.recorded_by == "wang"  # type: ignore[attr-defined]


def test_other_content_under_the_same_reference_names_the_fields_that_differ(fl: App) -> None:
    ledger.post(fl, TAIYUAN, posting("resident:140100 contribution 6000.00 2024-11-02 C-1"))
    before = event_count(fl)
    other = posting("resident:140100 contribution 6000.01 2024-11-03 C-1 memo=改")
    with pytest.raises(ReferenceConflict) as caught:
        ledger.post(fl, TAIYUAN, other)
    assert caught.value.problems == (
        "value_date: the original has '2024-11-02', this request '2024-11-03'",
        "memo: the original has None, this request '改'",
        "amount: the original has '6000.00', this request '6000.01'",
    )
    assert event_count(fl) == before


def test_post_outside_the_region_is_refused(fl: App) -> None:
    with pytest.raises(AccessDenied, match="140200 lies outside the caller's region 140100"):
        ledger.post(fl, TAIYUAN, posting("resident:140200 benefit 1.00 2024-03-01 B-1"))
    with pytest.raises(AccessDenied, match="the auditor role may not write"):
        ledger.post(fl, AUDITOR, posting("resident:140100 benefit 1.00 2024-03-01 B-1"))


def test_a_batch_is_all_or_nothing_with_every_bad_line(fl: App) -> None:
    rows = [
        {"fund": "resident:140100", "line": "contribution", "amount": "10.00",
         "value_date": "2024-01-02", "reference": "J-1"},
        {"fund": "resident:140100", "line": "benefit", "amount": 10,
         "value_date": "2024-01-02", "reference": "J-2"},
        {"fund": "resident:140100", "line": "subsidy", "amount": "1.00",
         "value_date": "2024-01-02", "reference": "J-3"},
        {"fund": "resident:140100", "line": "interest", "amount": "1.001",
         "value_date": "2024-01-02", "reference": "J-4"},
    ]  # fmt: skip
    before = event_count(fl)
    with pytest.raises(ledger.BatchRefused) as caught:
        ledger.post_batch(fl, TAIYUAN, rows_postings(rows))
    found = [(p.line, p.field) for p in caught.value.rows]
    assert found == [(2, "amount"), (3, "level"), (4, "amount")]
    assert event_count(fl) == before
    done = ledger.post_batch(fl, TAIYUAN, rows_postings([rows[0]]))
    assert done.to_json() == {"accepted": 1, "duplicates": 0}
    again = ledger.post_batch(fl, TAIYUAN, rows_postings([rows[0]]))
    assert again.to_json() == {"accepted": 0, "duplicates": 1}
    assert event_count(fl) == before + 1


def test_a_value_date_after_today_in_china_is_refused_and_today_is_not(fl: App) -> None:
    """The value date is the day the cash moved: a day after today in Beijing is refused, by
    the single posting and by every row of a batch, naming the field and writing nothing."""
    today = china_today()
    tomorrow = today + timedelta(days=1)
    before = event_count(fl)
    ahead = posting(f"resident:140100 interest 1.00 {tomorrow.isoformat()} F-1")
    with pytest.raises(InvalidInput) as caught:
        ledger.post(fl, TAIYUAN, ahead)
    assert (caught.value.field, caught.value.message) == (
        "value_date",
        f"{tomorrow.isoformat()} is after today ({today.isoformat()} in China): "
        "a value date is the day the cash moved",
    )
    rows = [
        {"fund": "resident:140100", "line": "interest", "amount": "1.00",
         "value_date": day.isoformat(), "reference": f"F-{n}"}
        for n, day in enumerate([today, tomorrow, date(2062, 3, 1)], start=2)
    ]  # fmt: skip
    with pytest.raises(ledger.BatchRefused) as refused:
        ledger.post_batch(fl, TAIYUAN, rows_postings(rows))
    assert [(p.line, p.field) for p in refused.value.rows] == [(2, "value_date"), (3, "value_date")]
    assert event_count(fl) == before
    done = ledger.post(fl, TAIYUAN, posting(f"resident:140100 interest 1.00 {today} F-2"))
    assert (done.duplicate, done.posting["value_date"]) == (False, today.isoformat())


def test_a_batch_outside_the_region_is_refused_whole(fl: App) -> None:
    data = (
        b"fund,line,amount,value_date,reference\n"
        b"resident:140100,benefit,1.00,2024-02-01,K-1\n"
        b"resident:140200,benefit,1.00,2024-02-01,K-1\n"
    )
    before = event_count(fl)
    with pytest.raises(AccessDenied):
        ledger.post_batch(fl, TAIYUAN, parse_postings(data, "upload"))
    assert event_count(fl) == before
    assert ledger.post_batch(fl, PROVINCIAL, parse_postings(data, "upload")).accepted == 2


def test_a_gbk_upload_names_its_line() -> None:
    header = "fund,line,amount,value_date,reference,memo\n"
    data = header + "resident:140100,benefit,1.00,2024-02-01,K-1,个人缴费\n"
    parsed = parse_postings(data.encode("gbk"), "upload.csv")
    assert [(p.line, p.field) for p in parsed.problems] == [(2, "file")]


def test_events_are_paged_by_version_with_the_whole_chains_state(fl: App) -> None:
    for n in range(1, 5):
        ledger.post(fl, TAIYUAN, posting(f"resident:140100 benefit {n}.00 2024-03-0{n} B-{n}"))
    first = history.events(fl, AUDITOR, CITY, limit=2)
    assert [e["version"] for e in first["events"]] == [1, 2]
    assert first["next"] == 2
    assert first["chain"]["ok"] is True
    assert first["chain"]["events"] == 5
    last = history.events(fl, AUDITOR, CITY, after=first["next"], limit=3)
    assert [e["version"] for e in last["events"]] == [3, 4, 5]
    assert last["next"] is None
    assert last["chain"]["head"] == last["events"][-1]["chain_hash"]
    assert (
        last["events"][0]["prev_hash"]
        == history.events(fl, AUDITOR, CITY)["events"][1]["chain_hash"]
    )
    assert last["events"][0]["payload"]["amount"] == "2.00"
    assert last["events"][0]["recorded_by"] == "taiyuan-finance"
    own = history.events(fl, TAIYUAN, CITY, limit=1)  # municipal: its own funds' history
    assert own["events"][0]["topic"] == "fundledger:Fund.Opened"
    with pytest.raises(AccessDenied):
        history.events(fl, DATONG, CITY)
    for limit in (0, 1001):
        with pytest.raises(InvalidInput, match="a page holds 1 to 1000 events"):
            history.events(fl, AUDITOR, CITY, limit=limit)


def test_ratios_and_warnings_stay_inside_the_callers_region(fl: App) -> None:
    ledger.post(fl, TAIYUAN, posting("resident:140100 contribution 10000.00 2024-06-30 C-1"))
    ledger.post(fl, TAIYUAN, posting("resident:140100 benefit 9000.00 2024-06-30 B-1"))
    ledger.post(fl, DATONG, posting("resident:140200 contribution 100.00 2024-06-30 C-1"))
    ledger.post(fl, DATONG, posting("resident:140200 benefit 900.00 2024-06-30 B-1"))
    everyone = read_models.ratios(fl, AUDITOR, 2024)
    assert [r["fund"] for r in everyone] == [
        "adjustment:140000",
        "resident:140100",
        "resident:140200",
    ]
    mine = read_models.ratios(fl, TAIYUAN, 2024)
    assert [(r["fund"], r["closing_balance"]) for r in mine] == [("resident:140100", "6000.00")]
    assert mine[0]["current_surplus_rate"] == "0.100000"
    with pytest.raises(AccessDenied):
        read_models.ratios(fl, TAIYUAN, 2024, region="140200")
    warned = read_models.warnings(fl, PROVINCIAL, 2024)
    assert "resident:140200" in [r["fund"] for r in warned]
    assert all(r["warning_level"] != "green" for r in warned)
    assert read_models.warnings(fl, JIANGSU, 2024) == []


def test_statement_close_and_enrolment(fl: App) -> None:
    ledger.post(fl, TAIYUAN, posting("resident:140100 contribution 6000.00 2024-11-02 C-1"))
    data = read_models.statement(fl, TAIYUAN, CITY, 2024)
    assert (data["income"]["subtotal"], data["closing_balance"]) == ("6000.00", "11000.00")
    with pytest.raises(AccessDenied):
        read_models.statement(fl, DATONG, CITY, 2024)
    with pytest.raises(InvalidInput, match="needs a UTC offset"):
        read_models.statement(fl, TAIYUAN, CITY, 2024, as_of="2025-01-01T00:00:00")
    recorded = ledger.record_enrolment(fl, TAIYUAN, CITY, year=2024, county="140105", enrolled=10)
    assert recorded.to_json()["status"] == "recorded"
    same = ledger.record_enrolment(fl, TAIYUAN, CITY, year=2024, county="140105", enrolled=10)
    assert same.unchanged
    fixed = ledger.record_enrolment(
        fl, TAIYUAN, CITY, year=2024, county="140105", enrolled=12, correct=True
    )
    assert fixed.to_json()["status"] == "corrected"
    assert fixed.previous == 10
    (row,) = read_models.subsidies(fl, TAIYUAN, 2024)
    assert (row["fund"], row["enrolled"]) == ("resident:140100", 12)
    closed = ledger.close_year(fl, TAIYUAN, CITY, 2024)
    assert closed["closed"] is True
    assert read_models.statement(fl, AUDITOR, CITY, 2024)["closed_at"] is not None
    assert list(fl.ledger.fund_events(CITY))[-1].recorded_by == "taiyuan-finance"  # type: ignore[attr-defined]


def test_projections_status_and_rebuild(fl: App) -> None:
    ledger.post(fl, TAIYUAN, posting("resident:140100 benefit 1.00 2024-03-01 B-1"))
    fl.read_models.catch_up()
    rows = read_models.projections_status(fl, TAIYUAN)
    assert rows == [{"province": "140000", "position": 4, "head": 4, "lag": 0}]
    assert rows[0] in read_models.projections_status(fl, OPERATOR)
    assert read_models.projections_status(fl, JIANGSU) == []
    with pytest.raises(AccessDenied):
        read_models.projections_rebuild(fl, PROVINCIAL)
    assert read_models.projections_rebuild(fl, OPERATOR) == 4
