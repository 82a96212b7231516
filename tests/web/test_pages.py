"""The workbench's pages on the demo province, for each role: real figures, the region's
limits, the downloads, the languages, and nothing fetched from outside the server."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from api.bootstrap import App
from api.exports.csv import statement_csv
from api.http.app import create_app
from api.settings import Settings
from api.usecases import history, ledger, read_models
from api.web.money import yuan
from domain.access import Principal, Role
from domain.funds import FundId

Signed = Callable[[str, str], TestClient]
YEAR = 2024
PROVINCIAL = Principal(name="reader", role=Role.PROVINCIAL, region="140000")
TAIYUAN = "resident:140100"
DATONG = "resident:140200"


def pool_rows(html: str) -> list[str]:
    """The funds listed in the overview's pool table, in the order shown."""
    table = html.split('<table id="pools"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<a href="/funds/(resident:\d{6})\?year=\d+">', table)


@pytest.mark.parametrize(("role", "region"), [("provincial", "140000"), ("auditor", "000000")])
def test_the_overview_shows_every_pool_with_its_figures(
    signed_in: Signed, demo_app: App, role: str, region: str
) -> None:
    expected = {
        r["fund"]: r
        for r in read_models.ratios(demo_app, PROVINCIAL, YEAR)
        if r["fund"].startswith("resident:")
    }
    page = signed_in(role, region).get("/overview", params={"year": YEAR})
    assert page.status_code == 200
    assert sorted(pool_rows(page.text)) == sorted(expected)
    assert len(expected) == 11
    taiyuan = expected[TAIYUAN]
    row = page.text.split(f'href="/funds/{TAIYUAN}?year={YEAR}"', 1)[1].split("</tr>", 1)[0]
    assert yuan(taiyuan["income_subtotal"]) in row
    assert yuan(taiyuan["expense_subtotal"]) in row
    assert f"level-{taiyuan['warning_level']}" in row
    assert "<svg" in page.text  # months of coverage per pool against the bands
    assert "调剂金余额" in page.text  # the adjustment fund's balance and levies
    assert "/overview/trend.svg?year=2024" in page.text
    assert ('href="/yearend"' in page.text) == (role == "provincial")  # offered to its role only
    assert 'href="/auditor"' in page.text


def test_the_overview_sorts_and_filters_on_the_server(signed_in: Signed, demo_app: App) -> None:
    rows = [
        r
        for r in read_models.ratios(demo_app, PROVINCIAL, YEAR)
        if r["fund"].startswith("resident:")
    ]
    client = signed_in("provincial", "140000")
    page = client.get("/overview", params={"year": YEAR, "sort": "months", "desc": "true"})
    by_months = sorted(rows, key=lambda r: float(r["months_of_coverage"]), reverse=True)
    assert pool_rows(page.text) == [r["fund"] for r in by_months]
    level = rows[0]["warning_level"]
    filtered = client.get("/overview", params={"year": YEAR, "level": level})
    assert pool_rows(filtered.text) == sorted(
        r["fund"] for r in rows if r["warning_level"] == level
    )


def test_a_municipal_user_sees_its_own_region_only(signed_in: Signed) -> None:
    client = signed_in("municipal", "140100")
    page = client.get("/overview", params={"year": YEAR})
    assert page.status_code == 200
    assert pool_rows(page.text) == [TAIYUAN]
    assert 'href="/auditor"' not in page.text  # what the role may not do is not offered
    refused = client.get("/overview", params={"year": YEAR, "region": "140200"})
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("text/html")


def test_the_trend_chart_is_an_svg_of_the_years(signed_in: Signed) -> None:
    answer = signed_in("auditor", "000000").get("/overview/trend.svg", params={"year": 2025})
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "image/svg+xml"
    assert all(str(year) in answer.text for year in (2022, 2023, 2024, 2025))
    assert "<script" not in answer.text


def test_the_fund_page_shows_the_official_statement(signed_in: Signed, demo_app: App) -> None:
    statement = read_models.statement(demo_app, PROVINCIAL, FundId.parse(TAIYUAN), YEAR)
    page = signed_in("municipal", "140100").get(f"/funds/{TAIYUAN}", params={"year": YEAR})
    assert page.status_code == 200
    text = page.text
    assert "年初滚存结余" in text
    assert '<span class="en">opening balance</span>' in text
    assert yuan(statement["closing_balance"]) in text
    assert "," in yuan(statement["closing_balance"])
    assert text.index("年初滚存结余") < text.index("本年收入合计") < text.index("年末滚存结余")
    assert "其中：中央" in text  # subsidies per level
    assert "<svg" in text  # monthly balance and trailing-12-month coverage
    assert f"/funds/{TAIYUAN}/statement.xlsx?year={YEAR}" in text


def test_the_as_closed_view_and_as_of_reach_the_statement(signed_in: Signed, demo_app: App) -> None:
    client = signed_in("provincial", "140000")
    open_year = client.get(f"/funds/{TAIYUAN}", params={"year": 2022, "view": "as_closed"})
    assert open_year.status_code == 400
    assert "is not closed: there is no as-closed view" in open_year.text
    assert '<select id="view"' in open_year.text  # the page stays, to choose another view
    ledger.close_year(demo_app, PROVINCIAL, FundId.parse(TAIYUAN), 2022)
    closed = read_models.statement(
        demo_app, PROVINCIAL, FundId.parse(TAIYUAN), 2022, view="as_closed"
    )
    page = client.get(f"/funds/{TAIYUAN}", params={"year": 2022, "view": "as_closed"})
    assert page.status_code == 200
    assert "结账时" in page.text
    assert closed["closed_at"] in page.text
    assert yuan(closed["closing_balance"]) in page.text
    before = client.get(
        f"/funds/{TAIYUAN}", params={"year": YEAR, "as_of": "2001-01-01T00:00+08:00"}
    )
    assert before.status_code == 404  # nothing was recorded then
    assert "not registered" in before.text


def test_a_municipal_user_is_refused_another_regions_fund(signed_in: Signed) -> None:
    client = signed_in("municipal", "140100")
    for path in (
        f"/funds/{DATONG}",
        f"/funds/{DATONG}/statement.csv",
        f"/funds/{DATONG}/events",
    ):
        answer = client.get(path, params={"year": YEAR})
        assert answer.status_code == 403, path
        assert answer.headers["content-type"].startswith("text/html")
        assert "403" in answer.text


def test_the_downloads_are_the_api_exports(signed_in: Signed, demo_app: App) -> None:
    statement = read_models.statement(demo_app, PROVINCIAL, FundId.parse(TAIYUAN), YEAR)
    client = signed_in("auditor", "000000")
    csv = client.get(f"/funds/{TAIYUAN}/statement.csv", params={"year": YEAR})
    assert csv.status_code == 200
    assert csv.text == statement_csv(statement)
    assert "attachment" in csv.headers["content-disposition"]
    xlsx = client.get(f"/funds/{TAIYUAN}/statement.xlsx", params={"year": YEAR})
    assert xlsx.status_code == 200
    assert xlsx.content[:2] == b"PK"


def test_the_events_page_is_paged_with_authors_and_the_chain(
    signed_in: Signed, demo_app: App
) -> None:
    found = history.events(demo_app, PROVINCIAL, FundId.parse(TAIYUAN), after=0, limit=50)
    client = signed_in("auditor", "000000")
    page = client.get(f"/funds/{TAIYUAN}/events")
    assert page.status_code == 200
    assert "完整" in page.text  # the chain is intact
    assert str(found["chain"]["events"]) in page.text
    assert f"<td>{found['events'][0]['recorded_by']}</td>" in page.text
    assert f"?after={found['next']}" in page.text
    second = client.get(f"/funds/{TAIYUAN}/events", params={"after": found["next"]})
    assert f'<td class="num">{found["next"] + 1}</td>' in second.text


def test_chinese_by_default_english_on_request(signed_in: Signed) -> None:
    client = signed_in("provincial", "140000")
    assert '<html lang="zh-CN">' in client.get("/overview", params={"year": YEAR}).text
    english = client.get("/overview", params={"year": YEAR, "lang": "en"})
    assert '<html lang="en">' in english.text
    assert "Province overview" in english.text
    assert client.cookies["fl_lang"] == "en"
    assert '<html lang="en">' in client.get(f"/funds/{TAIYUAN}", params={"year": YEAR}).text


def test_nothing_is_fetched_from_outside_the_server(signed_in: Signed) -> None:
    client = signed_in("provincial", "140000")
    for path in ("/overview?year=2024", f"/funds/{TAIYUAN}?year=2024", "/signin", "/me"):
        html = client.get(path).text
        for url in re.findall(r'(?:src|href)="([^"]*)"', html):
            assert url.startswith(("/", "?", "#")), (path, url)
    assert client.get("/static/workbench.css").status_code == 200
    assert client.get("/static/workbench.js").status_code == 200


def test_an_unknown_fund_is_a_404_page(signed_in: Signed) -> None:
    answer = signed_in("provincial", "140000").get("/funds/resident:140999", params={"year": YEAR})
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")


BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.mark.parametrize("path", ["/fundz", "/funds/resident:140100/nothing", "/static/none.css"])
def test_a_browser_asking_for_no_route_gets_the_404_page(signed_in: Signed, path: str) -> None:
    client = signed_in("provincial", "140000")
    answer = client.get(path, headers=BROWSER)
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")
    assert '<html lang="zh-CN">' in answer.text
    assert "404 · 未找到" in answer.text
    assert "此地址没有页面。" in answer.text
    assert '<a href="/">返回首页</a>' in answer.text
    assert 'action="/signout"' in answer.text  # the signed-in navigation is kept


def test_the_404_page_is_in_the_language_chosen(signed_in: Signed) -> None:
    client = signed_in("provincial", "140000")
    client.get("/overview", params={"year": YEAR, "lang": "en"})
    answer = client.get("/fundz", headers=BROWSER)
    assert answer.status_code == 404
    assert '<html lang="en">' in answer.text
    assert "404 · Not found" in answer.text
    assert "There is no page at this address." in answer.text
    assert '<a href="/">Back to the start</a>' in answer.text


def test_a_signed_out_browser_gets_the_404_page_too(demo_store: str) -> None:
    with TestClient(create_app(Settings(database_url=demo_store))) as client:
        answer = client.get("/fundz", headers=BROWSER)
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")
    assert "404 · 未找到" in answer.text


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/v1/fundz", BROWSER),
        ("/v1/funds/resident:140100/nothing", BROWSER),
        ("/fundz", {"Accept": "application/json"}),
        ("/fundz", {}),
    ],
)
def test_the_api_and_other_clients_keep_problem_json(
    demo_store: str, path: str, headers: dict[str, str]
) -> None:
    with TestClient(create_app(Settings(database_url=demo_store))) as client:
        answer = client.get(path, headers=headers)
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["detail"] == "no such route"
