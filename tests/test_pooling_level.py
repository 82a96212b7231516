"""Issue 9 point 3: the pooling level is policy data, and a policy governs the region it names.

Each test fails on the code before the fix: a county fund of a city-pooled province opened
without a word, the Nantong city policy settled Nanjing's pool, and a province without a
policy of its own got the national one under the national one's name alone.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from api.cli import app as cli
from clearing.policy import load_policy


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An initialised store, SQLite or PostgreSQL."""
    url = (
        f"sqlite:///{tmp_path}/pooling.db"
        if request.param == "sqlite"
        else str(request.getfixturevalue("postgres_url"))
    )
    assert run("init", "--db", url).exit_code == 0
    return url


def test_a_county_of_a_city_pooled_province_keeps_no_fund_after_integration(db: str) -> None:
    refused = run("funds", "open", "resident:520102", "--first-year", "2020", "--db", db)
    assert refused.exit_code == 2, refused.output
    assert "pooled at city level from 2020" in refused.stderr
    assert "县级不再设立" in refused.stderr
    assert "Traceback" not in refused.output
    # the city's own pool, and a county fund whose books began before integration, open
    assert (
        run("funds", "open", "resident:520100", "--first-year", "2020", "--db", db).exit_code == 0
    )
    assert run("funds", "open", "ncms:520102", "--first-year", "2016", "--db", db).exit_code == 0
    # Nantong pools its counties from 2020; a county of another Jiangsu city is not concerned
    nantong = run("funds", "open", "resident:320681", "--first-year", "2021", "--db", db)
    assert nantong.exit_code == 2
    assert "320600" in nantong.stderr
    assert (
        run("funds", "open", "resident:320681", "--first-year", "2019", "--db", db).exit_code == 0
    )
    assert (
        run("funds", "open", "resident:320111", "--first-year", "2021", "--db", db).exit_code == 0
    )
    events = run("events", "resident:520102", "--db", db)
    assert events.exit_code != 0  # nothing was written for the refused fund


def test_the_nantong_policy_does_not_settle_nanjing(db: str, tmp_path: Path) -> None:
    for fund in ("resident:320600", "resident:320100"):
        assert run("funds", "open", fund, "--first-year", "2021", "--db", db).exit_code == 0
    postings = tmp_path / "jiangsu.csv"
    postings.write_text(
        "fund,line,sub_line,level,amount,value_date,reference,county\n"
        "resident:320600,contribution,individual,,100.00,2021-11-02,C1,\n"
        "resident:320600,benefit,inpatient,,150.00,2021-09-30,B1,\n"
        "resident:320100,contribution,individual,,100.00,2021-11-02,C2,\n"
        "resident:320100,benefit,inpatient,,180.00,2021-09-30,B2,\n",
        encoding="utf-8",
    )
    assert run("import", str(postings), "--db", db).exit_code == 0
    result = run("settle", "dry-run", "--province", "320000", "--year", "2021",
                 "--format", "json", "--db", db)  # fmt: skip
    assert result.exit_code == 0, result.output
    pools = json.loads(result.stdout)["pools"]
    assert [(p["fund"], p["gap"]) for p in pools] == [("resident:320600", "50.00")]


def test_a_province_without_a_policy_is_told_it_gets_the_national_one() -> None:
    policy = load_policy("330000", 2024)
    assert policy.province == "330000"
    assert policy.name.endswith("(330000: no policy of its own)")
    assert load_policy("320000", 2021).region == "320600"
