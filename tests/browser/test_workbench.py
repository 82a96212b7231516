"""The workbench in Chromium: sign-in, every page for every role, a refusal, a whole year end.

The screenshots of docs/workbench.md are taken here (docs/screenshots/<page>-<role>.png).
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from api.usecases.audit import verify_archive
from tests.browser.conftest import CITY, PROVINCE, YEAR, Sessions, User, Workbench, screenshot
from tests.test_exports import read_xlsx

pytestmark = pytest.mark.postgres

FUND = f"resident:{CITY}"


def grouped(yuan: str) -> str:
    """A yuan string of the API as the pages show it: ``1234.50`` -> ``1,234.50``."""
    return f"{Decimal(yuan):,.2f}"


def visible_text(page: Page) -> str:
    return page.inner_text("main")


def test_sign_in_sign_out_and_a_wrong_token(sessions: Sessions, workbench: Workbench) -> None:
    page = sessions.page()
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/signin"))
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    screenshot(page, "signin")
    page.fill("input[name=token]", "flt_not-a-token")
    page.click("main button[type=submit]")
    expect(page.locator("main [role=alert]")).to_be_visible()
    assert "/signin" in page.url

    page.fill("input[name=token]", workbench.drafter.token)
    page.click("main button[type=submit]")
    expect(page.locator("header .who")).to_contain_text("li-ming")
    cookie = next(c for c in page.context.cookies() if c["name"] == "fl_session")
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"

    page.click("header form[action='/signout'] button")
    expect(page).to_have_url(re.compile(r"/signin"))
    page.goto("/yearend")
    expect(page).to_have_url(re.compile(r"/signin\?next="))


def _roles(workbench: Workbench) -> list[tuple[str, User]]:
    return [
        ("municipal", workbench.municipal),
        ("provincial", workbench.drafter),
        ("auditor", workbench.auditor),
    ]


def test_every_page_for_every_role(sessions: Sessions, workbench: Workbench) -> None:
    for role, user in _roles(workbench):
        page = sessions.page(user)
        page.goto(f"/overview?year={YEAR}")
        expect(page.locator("main h1")).to_be_visible()
        screenshot(page, f"overview-{role}")

        page.goto(f"/funds/{FUND}?year={YEAR}")
        expect(page.locator("table#statement")).to_be_visible()
        screenshot(page, f"fund-{role}")
        page.goto(f"/funds/{FUND}/events")
        expect(page.locator("table#events")).to_be_visible()
        screenshot(page, f"fund-events-{role}")
        if role == "municipal":
            page.goto(f"/funds/resident:140200?year={YEAR}")
            expect(page.locator("main h1")).to_contain_text("403")

        page.goto(f"/yearend?province={PROVINCE}&year={YEAR}")
        expect(page.locator("#levies-table")).to_be_visible()
        text = visible_text(page)
        assert FUND in text
        if role == "municipal":
            assert "resident:140200" not in text, "a city sees only its own pools"
            expect(page.locator("#draft")).to_have_count(0)
            expect(page.locator("#what-if")).to_have_count(0)
        else:
            assert "resident:140900" in text
        screenshot(page, f"yearend-{role}")

        page.goto("/auditor")
        if role == "municipal":
            expect(page.locator("main h1")).to_contain_text("403")
        else:
            expect(page.locator("#verify")).to_be_visible()
            expect(page.locator("#seal")).to_have_count(1 if role == "provincial" else 0)
            screenshot(page, f"auditor-{role}")

        page.goto("/overview?lang=en")
        expect(page.locator("html")).to_have_attribute("lang", "en")
        page.goto("/overview?lang=zh")


def test_a_statement_is_downloaded(sessions: Sessions, workbench: Workbench) -> None:
    page = sessions.page(workbench.municipal)
    page.goto(f"/funds/{FUND}?year=2024")
    with page.expect_download() as started:
        page.click("a[href*='statement.csv']")
    assert started.value.suggested_filename == "statement-resident-140100-2024-restated.csv"
    text = Path(started.value.path()).read_text("utf-8-sig")
    with page.expect_download() as started:
        page.click("a[href*='statement.xlsx']")
    book = read_xlsx(Path(started.value.path()))
    api = workbench.server.client(workbench.municipal.token)
    statement = api.get(f"/v1/funds/{FUND}/statement", params={"year": 2024}).json()
    closing = statement["closing_balance"]
    assert closing in text
    cells = [c.value for sheet in book.values() for c in sheet.cells.values()]
    assert Decimal(closing) in {Decimal(c) for c in cells if re.fullmatch(r"-?[0-9.]+", c)}


def test_a_refused_action_is_not_offered_and_is_refused(
    sessions: Sessions, workbench: Workbench
) -> None:
    page = sessions.page(workbench.municipal)
    page.goto(f"/yearend?province={PROVINCE}&year={YEAR}")
    expect(page.locator("#draft")).to_have_count(0)
    csrf = page.locator("header form[action='/signout'] input[name=csrf]").get_attribute("value")
    answer = page.request.post(
        "/yearend/draft", form={"province": PROVINCE, "year": str(YEAR), "csrf": csrf or ""}
    )
    assert answer.status == 403
    assert "403" in answer.text()
    page.goto(f"/yearend?province={PROVINCE}&year={YEAR}")
    expect(page.locator("#settlement-status")).to_have_attribute("data-status", "none")

    forged = sessions.page(workbench.drafter)
    answer = forged.request.post(
        "/yearend/draft", form={"province": PROVINCE, "year": str(YEAR), "csrf": "forged"}
    )
    assert answer.status == 403, "a form without the session's CSRF secret writes nothing"
    forged.goto(f"/yearend?province={PROVINCE}&year={YEAR}")
    expect(forged.locator("#settlement-status")).to_have_attribute("data-status", "none")


def test_a_whole_year_end(sessions: Sessions, workbench: Workbench, tmp_path: Path) -> None:
    api = workbench.server.client(workbench.drafter.token)
    key = {"province": PROVINCE, "year": YEAR}
    expected = {p["fund"]: p for p in api.post("/v1/settlements/dry-run", json=key).json()["pools"]}
    drafter = sessions.page(workbench.drafter)
    drafter.goto(f"/yearend?province={PROVINCE}&year={YEAR}")
    # the dry run: every figure with its rules, as the API answers it; nothing recorded
    expect(drafter.locator("#settlement-status")).to_have_attribute("data-status", "none")
    taiyuan = drafter.locator("#allocation-table > tbody > tr", has_text=FUND)
    for figure in ("gap", "own_fault", "draw", "borne_by_balance", "residual_to_government"):
        expect(taiyuan).to_contain_text(grouped(expected[FUND][figure]))
    for rule in expected[FUND]["rules"]:
        expect(taiyuan).to_contain_text(rule)
    assert Decimal(expected[FUND]["gap"]) > 0, "the demo leaves Taiyuan a gap in 2025"

    # what-if: the first band's shares raised; the draws differ and are marked
    policy = drafter.locator("#policy").input_value()
    raised = policy.replace(
        'shares = { A = "0.80", B = "0.70", C = "0.60", D = "0.50" }',
        'shares = { A = "0.90", B = "0.85", C = "0.80", D = "0.75" }',
    )
    assert raised != policy
    drafter.fill("#policy", raised)
    drafter.click("#run-what-if")
    table = drafter.locator("#what-if-table")
    expect(table).to_be_visible()
    expect(table.locator("tr.differs", has_text=FUND)).to_have_count(1)
    expect(table.locator("tr.differs", has_text=FUND).locator("mark").first).to_be_visible()
    expect(table.locator("tr.differs", has_text="resident:140200")).to_have_count(0)
    screenshot(drafter, "yearend-what-if", at="#what-if-h")

    # draft: the drafter is shown and not offered the approval
    drafter.click("#draft")
    expect(drafter.locator("#settlement-status")).to_have_attribute("data-status", "draft")
    expect(drafter.locator("#drafted-by")).to_have_text("li-ming")
    expect(drafter.locator("#approve")).to_have_count(0)
    expect(drafter.locator("#approve-hint")).to_be_visible()
    csrf = drafter.locator("header form[action='/signout'] input[name=csrf]").get_attribute("value")
    refused = drafter.request.post(
        "/yearend/approve", form={"province": PROVINCE, "year": str(YEAR), "csrf": csrf or ""}
    )
    assert refused.status == 403, "the server refuses the drafter's approval anyway"

    # approve by a second user, then post
    approver = sessions.page(workbench.approver)
    approver.goto(f"/yearend?province={PROVINCE}&year={YEAR}")
    expect(approver.locator("#drafted-by")).to_have_text("li-ming")
    approver.click("#approve")
    expect(approver.locator("#settlement-status")).to_have_attribute("data-status", "approved")
    expect(approver.locator("#approved-by")).to_have_text("wang-fang")
    approver.click("#post")
    expect(approver.locator("#settlement-status")).to_have_attribute("data-status", "posted")
    expect(approver.locator("#posted-by")).to_have_text("wang-fang")
    expect(approver.locator("#post")).to_have_count(0)
    expect(approver.locator("#draft")).to_have_count(0)
    owed = approver.locator("#owed")
    expect(owed).to_be_visible()
    debts = api.get(f"/v1/provinces/{PROVINCE}/owed", params={"year": YEAR}).json()
    for debt in debts:
        row = owed.locator("tbody tr", has_text=debt["debtor"]).first
        expect(row).to_contain_text(grouped(debt["outstanding"]))
    if not debts:
        expect(owed).to_contain_text("无欠款")
    screenshot(approver, "yearend-posted")
    screenshot(approver, "yearend-owed", at="#owed-h")

    # the report, downloaded as a person does, matches the posted settlement
    with approver.expect_download() as started:
        approver.click("#report-xlsx")
    path = tmp_path / started.value.suggested_filename
    started.value.save_as(path)
    assert path.name == f"settlement-{PROVINCE}-{YEAR}.xlsx"
    cells = [c.value for sheet in read_xlsx(path).values() for c in sheet.cells.values()]
    assert "posted" in cells
    assert FUND in cells
    with approver.expect_download() as started:
        approver.click("#report-csv")
    rows = list(csv.DictReader(io.StringIO(Path(started.value.path()).read_text("utf-8"))))
    taiyuan_row = next(r for r in rows if FUND in r.values())
    assert expected[FUND]["draw"] in taiyuan_row.values()


def test_the_auditor_verifies_and_sees_the_seals(sessions: Sessions, workbench: Workbench) -> None:
    provincial = sessions.page(workbench.approver)
    provincial.goto(f"/auditor?province={PROVINCE}")
    provincial.fill("#seals form input[name=year]", "2024")
    provincial.click("#seal")
    expect(provincial.locator("#done")).to_be_visible()

    page = sessions.page(workbench.auditor)
    page.goto(f"/auditor?province={PROVINCE}")
    seal = page.locator("#seals-table tbody tr", has_text="2024")
    expect(seal).to_have_attribute("data-state", "verified")
    expect(seal).to_contain_text("wang-fang")
    expect(page.locator("#seal")).to_have_count(0)
    screenshot(page, "auditor-seals")

    page.click("#run-verify")
    result = page.locator("#verify-result")
    expect(result).to_have_attribute("data-ok", "true", timeout=120_000)
    steps = page.locator("#verify-progress li")
    assert steps.count() >= 2
    expect(steps.last).to_contain_text("12 / 12")
    expect(result).to_contain_text("封存与检查点 1 个")  # the seal was checked
    screenshot(page, "auditor-verify")

    page.goto(f"/auditor?province={PROVINCE}")
    page.fill("#export input[name=year]", "2024")
    with page.expect_download(timeout=120_000) as started:
        page.click("#download-export", no_wait_after=True)
    assert started.value.suggested_filename == f"export-{PROVINCE}-2024.zip"
    archive = Path(started.value.path())
    with zipfile.ZipFile(archive) as opened:
        manifest = json.loads(opened.read("manifest.json"))
    assert manifest["province"] == PROVINCE
    _, report = verify_archive(archive)
    assert report.ok, [str(f) for f in report.findings]
