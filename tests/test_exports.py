"""Exports (issue 3 item 9): the statement and the ratios as workbooks, a fund's chart as PNG.

The workbooks are read back with the standard library (an xlsx file is a zip of XML parts),
so that the values, number formats and frozen panes are checked as a spreadsheet sees them.
Every figure expected here is worked out by hand from the postings below.
"""

from __future__ import annotations

import json
import re
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from typer.testing import CliRunner, Result

from api.bootstrap import bootstrap_app
from api.cli import app
from api.exports import CHART_HEIGHT_PX, CHART_WIDTH_PX, ratios_xlsx, statement_xlsx
from api.settings import Settings
from domain.funds import FundId

HEADER = "fund,line,sub_line,level,amount,value_date,reference,county,counterparty,purpose,memo"
ROWS = (
    "resident:140100,contribution,individual,,6000.00,2024-11-02,C-1,140105,,,",
    "resident:140100,subsidy,standard,central,4000.00,2024-06-30,S-1,,,,",
    "resident:140100,benefit,inpatient,,9796.74,2024-03-31,B-1,,,,",
    "resident:140100,to_upper,,,100.00,2024-12-20,L-1,,adjustment:140000,adjustment_levy,",
    "resident:140100,benefit,outpatient,,1200.00,2025-02-10,B-2,,,,",
    "resident:140100,contribution,,,3000.00,2025-10-15,C-2,,,,",
)
"""Worked by hand (resident:140100, books from 2024, opening balance 5000.00):

2024: income subtotal 10000.00, expense subtotal 9796.74, to_upper 100.00, closing 5103.26;
      surplus rate 0.020326, balance rate 0.510326, months 5103.26 × 12 / 9796.74 = 6.2510
2025: income subtotal 3000.00, expense subtotal 1200.00, closing 6903.26;
      surplus rate 0.600000, balance rate 2.301087, months 6903.26 × 12 / 1200.00 = 69.0326
Month-end balances: 2024-01, -02 5000.00; -03 to -05 −4796.74; -06 to -10 −796.74;
      -11 5203.26; -12 5103.26; 2025-01 5103.26; -02 to -09 3903.26; -10 6903.26 (the last).
Months of coverage (balance over the average monthly expense of the trailing 12 months, or of
      the months on the books while fewer): 2024-01 none (nothing spent); 2024-03 (3 months)
      −4796.74 × 3 / 9796.74 = −1.4689; 2024-06 (6 months) −796.74 × 6 / 9796.74 = −0.4880;
      2024-12 = 6.2510 (the statement's); 2025-02 (2024-03..2025-02) 3903.26 × 12 / 10996.74 =
      4.2594; 2025-03 (March 2024 out of the window) 3903.26 × 12 / 1200.00 = 39.0326.
"""
FUND = "resident:140100"


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def ok(*args: str) -> Result:
    result = run(*args)
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result


def refused(*args: str) -> Result:
    result = run(*args)
    assert result.exit_code == 2, (result.stdout, result.stderr, result.exception)
    return result


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store with the postings above, built through the CLI, on SQLite and PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/x.db"
    else:
        url = request.getfixturevalue("postgres_url")
        assert isinstance(url, str)
    ok("init", "--db", url)
    ok("funds", "open", FUND, "--first-year", "2024", "--opening-balance", "5000.00", "--db", url)
    ok("funds", "open", "adjustment:140000", "--first-year", "2024", "--db", url)
    postings = tmp_path / "postings.csv"
    postings.write_text("\n".join([HEADER, *ROWS]) + "\n", "utf-8")
    ok("import", str(postings), "--db", url)
    return url


def statement_json(db: str, year: int) -> dict[str, Any]:
    data = json.loads(
        ok("statement", FUND, "--year", str(year), "--format", "json", "--db", db).stdout
    )
    assert isinstance(data, dict)
    return data


# ------------------------------------------------------------------ reading a workbook back

NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
BUILT_IN_FORMATS = {0: "General", 2: "0.00", 4: "#,##0.00", 10: "0.00%"}


@dataclass
class Cell:
    value: str
    """The text of the cell: a shared string's text, or a number as written in the file."""
    kind: str  # "s" (string), "n" (number), "b" (boolean)
    number_format: str


@dataclass
class Sheet:
    name: str
    xml: str
    cells: dict[str, Cell]

    def rows(self) -> dict[int, dict[str, Cell]]:
        """Row number → column letter → cell."""
        out: dict[int, dict[str, Cell]] = {}
        for ref, cell in self.cells.items():
            column, row = re.fullmatch(r"([A-Z]+)([0-9]+)", ref).groups()  # type: ignore[union-attr]
            out.setdefault(int(row), {})[column] = cell
        return out

    def row_where(self, column: str, text: str) -> dict[str, Cell]:
        found = [
            cells
            for cells in self.rows().values()
            if column in cells and cells[column].value == text
        ]
        assert len(found) == 1, (text, len(found))
        return found[0]


def read_xlsx(path: Path) -> dict[str, Sheet]:
    """Every sheet of a workbook, by name, in order."""
    with zipfile.ZipFile(path) as archive:

        def part(name: str) -> ElementTree.Element:
            return ElementTree.fromstring(archive.read(name))

        strings = [
            "".join(t.text or "" for t in si.iter(f"{{{NS['m']}}}t"))
            for si in part("xl/sharedStrings.xml").findall("m:si", NS)
        ]
        styles = part("xl/styles.xml")
        custom = {
            int(f.get("numFmtId", "0")): f.get("formatCode", "")
            for f in styles.findall("m:numFmts/m:numFmt", NS)
        }
        formats = [
            {**BUILT_IN_FORMATS, **custom}.get(int(xf.get("numFmtId", "0")), "?")
            for xf in styles.findall("m:cellXfs/m:xf", NS)
        ]
        targets = {rel.get("Id"): rel.get("Target") for rel in part("xl/_rels/workbook.xml.rels")}
        sheets: dict[str, Sheet] = {}
        for entry in part("xl/workbook.xml").findall("m:sheets/m:sheet", NS):
            name = f"xl/{targets[entry.get(REL)]}"
            xml = archive.read(name).decode("utf-8")
            cells: dict[str, Cell] = {}
            for c in ElementTree.fromstring(xml).iter(f"{{{NS['m']}}}c"):
                v = c.find("m:v", NS)
                if v is None:
                    continue
                kind = c.get("t", "n")
                text = strings[int(v.text or "0")] if kind == "s" else v.text or ""
                cells[c.get("r", "")] = Cell(text, kind, formats[int(c.get("s", "0"))])
            sheets[entry.get("name", "")] = Sheet(entry.get("name", ""), xml, cells)
    return sheets


def frozen_pane(sheet: Sheet) -> str:
    """The pane element of a sheet with frozen rows (fails when there is none)."""
    match = re.search(r'<pane [^>]*state="frozen"[^>]*/>', sheet.xml)
    assert match is not None, "no frozen pane"
    return match.group(0)


# ------------------------------------------------------------------------------- statement


def test_statement_xlsx(db: str, tmp_path: Path) -> None:
    data = statement_json(db, 2024)
    target = tmp_path / "statement.xlsx"
    result = ok(
        "statement", FUND, "--year", "2024", "--format", "xlsx", "--output", str(target), "--db", db
    )
    assert result.stdout.strip() == f"{target}: statement of {FUND} 2024"
    sheets = read_xlsx(target)
    assert list(sheets) == ["2024"]
    sheet = sheets["2024"]
    # the title rows name the fund, the year, the view and the as-of
    assert sheet.row_where("A", "fund")["B"].value == FUND
    assert sheet.row_where("A", "year")["B"].value == "2024"
    assert sheet.row_where("A", "view")["B"].value == "restated"
    assert sheet.row_where("A", "as of")["B"].value == "everything recorded"
    # a bold header, frozen under it
    header = sheet.row_where("A", "section")
    assert [header[c].value for c in "ABCD"] == ["section", "line", "名称", "amount (yuan)"]
    header_row = next(n for n, cells in sheet.rows().items() if cells.get("A") is header["A"])
    assert f'ySplit="{header_row}"' in frozen_pane(sheet)
    # the balances, as numbers equal to the statement's strings, shown as money
    closing = sheet.row_where("B", "closing balance")
    assert closing["D"].kind == "n"
    assert closing["D"].value == data["closing_balance"] == "5103.26"
    assert closing["D"].number_format == "#,##0.00"
    assert closing["C"].value == "年末滚存结余"
    assert sheet.row_where("B", "opening balance")["D"].value == "5000.00"
    assert sheet.row_where("B", "current surplus")["D"].value == "103.26"
    # every line, sub-line, subtotal and total, in yuan to the fen
    amounts = {
        (cells["A"].value, cells["B"].value): cells["D"]
        for cells in sheet.rows().values()
        if "D" in cells and cells["A"].value in ("income", "expense")
    }
    for side in ("income", "expense"):
        for key, value in data[side].items():
            label = f"{side} {key}" if key in ("subtotal", "total") else key.rpartition(".")[2]
            cell = amounts[(side, label)]
            assert (cell.value, cell.number_format) == (value, "#,##0.00"), (side, key)
    assert amounts[("income", "individual")].value == "6000.00"
    assert amounts[("expense", "expense subtotal")].value == "9796.74"
    assert amounts[("expense", "to_upper")].value == "100.00"
    # the ratios: the exact values, as percent and months
    surplus = sheet.row_where("B", "current surplus rate")["D"]
    assert (surplus.value, surplus.number_format) == ("0.020326", "0.00%")
    months = sheet.row_where("B", "months of coverage")["D"]
    assert (months.value, months.number_format) == ("6.2510", "0.00")
    assert sheet.row_where("A", "warning")["B"].value == "none"


def test_statement_xlsx_needs_output(db: str) -> None:
    result = refused("statement", FUND, "--year", "2024", "--format", "xlsx", "--db", db)
    assert result.stderr.strip() == "output: --format xlsx needs --output FILE"
    assert "--output" in result.stderr


def test_statement_xlsx_cannot_write(db: str, tmp_path: Path) -> None:
    target = tmp_path / "no such folder" / "statement.xlsx"
    result = refused(
        "statement", FUND, "--year", "2024", "--format", "xlsx", "--output", str(target), "--db", db
    )
    assert result.stderr.startswith(f"output: cannot write {target}")


def test_statement_xlsx_several_statements_one_sheet_each(db: str, tmp_path: Path) -> None:
    fl = bootstrap_app(Settings(database_url=db))
    try:
        years = [fl.read_models.statement(FundId.parse(FUND), y).to_json() for y in (2024, 2025)]
        other = fl.read_models.statement(FundId.parse("adjustment:140000"), 2024).to_json()
    finally:
        fl.close()
    same_fund = tmp_path / "years.xlsx"
    statement_xlsx(years, same_fund)
    sheets = read_xlsx(same_fund)
    assert list(sheets) == ["2024", "2025"]
    assert sheets["2025"].row_where("B", "closing balance")["D"].value == "6903.26"
    assert sheets["2025"].row_where("B", "opening balance")["D"].value == "5103.26"
    two_funds = tmp_path / "funds.xlsx"
    statement_xlsx([years[0], other], two_funds)
    sheets = read_xlsx(two_funds)
    assert list(sheets) == ["resident-140100 2024", "adjustment-140000 2024"]
    adjustment = sheets["adjustment-140000 2024"]
    assert adjustment.row_where("B", "from_lower")["D"].value == "100.00"
    assert "D" not in adjustment.row_where("B", "months of coverage")  # null: a blank cell


# ---------------------------------------------------------------------------------- ratios


def test_ratios_xlsx_one_sheet_per_year(db: str, tmp_path: Path) -> None:
    rows: list[dict[str, Any]] = []
    for asked in (2024, 2025):
        rows += json.loads(
            ok("ratios", "--year", str(asked), "--format", "json", "--db", db).stdout
        )
    target = tmp_path / "ratios.xlsx"
    ratios_xlsx(rows, target)
    sheets = read_xlsx(target)
    assert list(sheets) == ["2024", "2025"]
    for year, closing, rate, months in (
        ("2024", "5103.26", "0.020326", "6.2510"),
        ("2025", "6903.26", "0.600000", "69.0326"),
    ):
        sheet = sheets[year]
        heads = sheet.row_where("A", "fund")
        column = {cell.value: letter for letter, cell in heads.items()}
        fund = sheet.row_where("A", FUND)
        assert fund[column["year"]].value == year
        cell = fund[column["closing balance"]]
        assert (cell.kind, cell.value, cell.number_format) == ("n", closing, "#,##0.00")
        cell = fund[column["current surplus rate"]]
        assert (cell.value, cell.number_format) == (rate, "0.00%")
        cell = fund[column["months of coverage"]]
        assert (cell.value, cell.number_format) == (months, "0.00")
        assert fund[column["warning level"]].value in ("green", "blue", "yellow", "orange", "red")
        assert 'state="frozen"' in frozen_pane(sheet)
        assert 'ySplit="3"' in frozen_pane(sheet)
        assert re.search(r'<autoFilter ref="A3:[A-Z]+5"/>', sheet.xml), sheet.xml[-300:]
        adjustment = sheet.row_where("A", "adjustment:140000")
        assert column["current surplus rate"] not in adjustment  # null: a blank cell
        assert adjustment[column["closing balance"]].value == "100.00"
        if year == "2025":
            assert fund[column["accumulated balance rate"]].value == "2.301087"


def test_ratios_xlsx_cli_one_year_one_sheet(db: str, tmp_path: Path) -> None:
    target = tmp_path / "ratios.xlsx"
    result = ok("ratios", "--year", "2024", "--format", "xlsx", "--output", str(target), "--db", db)
    assert result.stdout.strip() == f"{target}: 2 funds"
    sheets = read_xlsx(target)
    assert list(sheets) == ["2024"]
    assert sheets["2024"].row_where("A", "adjustment:140000")


# ----------------------------------------------------------------------------------- chart


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_chart(db: str, tmp_path: Path) -> None:
    target = tmp_path / "chart.png"
    result = ok("chart", FUND, "--output", str(target), "--db", db)
    assert result.stdout.strip() == f"{target}: {FUND}, 22 months, 2024-01 to 2025-10"
    assert png_size(target) == (CHART_WIDTH_PX, CHART_HEIGHT_PX) == (1200, 750)
    one_year = tmp_path / "2025.png"
    result = ok(
        "chart",
        FUND,
        "--output",
        str(one_year),
        "--from-year",
        "2025",
        "--to-year",
        "2025",
        "--db",
        db,
    )
    assert result.stdout.strip() == f"{one_year}: {FUND}, 10 months, 2025-01 to 2025-10"
    assert png_size(one_year) == (1200, 750)
    result = ok("chart", FUND, "--output", str(one_year), "--to-year", "2024", "--db", db)
    assert "12 months, 2024-01 to 2024-12" in result.stdout


def test_chart_refusals(db: str, tmp_path: Path) -> None:
    target = tmp_path / "chart.png"
    result = refused("chart", "resident:149900", "--output", str(target), "--db", db)
    assert result.stderr.strip() == "fund: resident:149900 is not registered"
    result = refused("chart", FUND, "--output", str(target), "--from-year", "2023", "--db", db)
    assert result.stderr.strip() == "from_year: resident:140100 keeps its books from 2024, not 2023"
    result = refused(
        "chart",
        FUND,
        "--output",
        str(target),
        "--from-year",
        "2025",
        "--to-year",
        "2024",
        "--db",
        db,
    )
    assert "to_year: --to-year 2024 is before" in result.stderr
    result = refused("chart", FUND, "--output", str(target), "--from-year", "2026", "--db", db)
    assert "nothing to chart" in result.stderr
    assert not target.exists()


def test_monthly_figures_from_the_read_model(db: str) -> None:
    fl = bootstrap_app(Settings(database_url=db))
    try:
        months = {m.label: m for m in fl.read_models.monthly(FundId.parse(FUND))}
    finally:
        fl.close()
    assert [*months][0::21] == ["2024-01", "2025-10"]
    balances = {label: m.closing_balance_fen for label, m in months.items()}
    assert balances["2024-02"] == 500_000
    assert balances["2024-03"] == balances["2024-05"] == -479_674
    assert balances["2024-06"] == balances["2024-10"] == -79_674
    assert balances["2024-11"] == 520_326
    assert balances["2024-12"] == balances["2025-01"] == 510_326
    assert balances["2025-02"] == balances["2025-09"] == 390_326
    assert balances["2025-10"] == 690_326
    assert months["2024-11"].income_subtotal_fen == 600_000
    assert months["2024-12"].expense_subtotal_fen == 0  # to_upper is not in the subtotal
    coverage = {label: m.months_of_coverage for label, m in months.items()}
    assert coverage["2024-01"] is None
    assert (months["2024-03"].window_months, coverage["2024-03"]) == (3, "-1.4689")
    assert coverage["2024-06"] == "-0.4880"
    assert (months["2024-12"].window_months, coverage["2024-12"]) == (12, "6.2510")
    assert coverage["2025-02"] == "4.2594"
    assert coverage["2025-03"] == "39.0326"
