"""Seals and checkpoints anchor every chain head: verify finds what a valid-looking chain hides.

Real stores (a SQLite file and a PostgreSQL schema) edited behind the ledger's back: a tail
deleted, a fund deleted, the last event forged with its hash recomputed, a whole history
rewritten with a consistent chain, a seal edited, a voucher deleted. Each is reported by
``fundledger audit verify``, naming the fund and the version.
"""

from __future__ import annotations

import json
import re
import sqlite3
import zipfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from uuid import UUID

import psycopg
import pytest
from typer.testing import CliRunner

from api.bootstrap import bootstrap_app
from api.cli import app as cli
from api.settings import Settings
from domain.chain import chain_hash
from domain.funds import FundId
from domain.seal import Anchor, Head, anchor_digest, check_anchor, seal_id
from domain.seal_keys import SIGNING_KEY_FILE_ENV, new_private_pem, signer_from_pem
from domain.today import china_today
from tests.scenario import CITY, PROVINCE_ADJUSTMENT, posting

EVENTS = "ledger_140000_events"
VOUCHERS = "ledger_140000_vouchers"
POSTINGS = (
    "resident:140100 contribution/individual 1200.00 2024-11-02 C-1",  # version 2
    "resident:140100 benefit/inpatient 3000.50 2024-03-31 B-1",  # version 3
    "resident:140100 to_upper 100.00 2024-12-20 L-1 "  # version 4
    "counterparty=adjustment:140000 purpose=adjustment_levy",
    "resident:140100 subsidy/standard@central 5000.00 2024-06-30 S-1",  # version 5
)
LIBRARY_KEYS = ("timestamp", "originator_topic", "chain_hash", "class_version")


def run_sql(url: str, statement: str, params: tuple[Any, ...] = ()) -> list[Any]:
    """Run one statement on the store, behind the ledger's back (``?`` placeholders)."""
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            rows = conn.execute(statement, params).fetchall()
        conn.close()
        return rows
    parts = urlsplit(url)
    schema = parse_qs(parts.query)["schema"][0]
    with psycopg.connect(parts._replace(query="").geturl(), autocommit=True) as pg:
        pg.execute(f'SET search_path TO "{schema}"')
        cursor = pg.execute(statement.replace("?", "%s"), params)
        return cursor.fetchall() if cursor.description else []


def key_of(url: str, fund_or_id: FundId | UUID) -> str | UUID:
    """The ``originator_id`` of a fund (or an aggregate id) as the store keeps it."""
    aggregate_id = fund_or_id.aggregate_id if isinstance(fund_or_id, FundId) else fund_or_id
    return aggregate_id.hex if url.startswith("sqlite:") else aggregate_id


def rows(url: str, fund: FundId) -> dict[int, tuple[str, dict[str, Any]]]:
    found = run_sql(
        url,
        f"SELECT originator_version, topic, state FROM {EVENTS} WHERE originator_id = ?",
        (key_of(url, fund),),
    )
    return {int(v): (str(t), json.loads(bytes(s))) for v, t, s in found}


def put(url: str, fund: FundId, version: int, data: dict[str, Any]) -> None:
    run_sql(
        url,
        f"UPDATE {EVENTS} SET state = ? WHERE originator_id = ? AND originator_version = ?",
        (json.dumps(data).encode(), key_of(url, fund), version),
    )


def rehash(fund: FundId, topic: str, version: int, data: dict[str, Any]) -> str:
    return chain_hash(
        topic=topic,
        originator_id=fund.aggregate_id,
        originator_version=version,
        timestamp=datetime.fromisoformat(data["timestamp"]["_data_"]),
        payload={k: v for k, v in data.items() if k not in LIBRARY_KEYS},
    )


def rewrite_from(url: str, fund: FundId, first: int, change: dict[int, dict[str, Any]]) -> None:
    """Change events from ``first`` on and recompute every hash after: a consistent chain."""
    stored = rows(url, fund)
    previous = stored[first - 1][1]["chain_hash"]
    for version in range(first, max(stored) + 1):
        topic, data = stored[version]
        data.update(change.get(version, {}))
        data["prev_hash"] = previous
        data["chain_hash"] = previous = rehash(fund, topic, version, data)
        put(url, fund, version, data)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A store with two funds, a signed seal of 2024 and a signed checkpoint."""
    found = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")
    assert isinstance(found, str)
    key = tmp_path / "signing.pem"
    key.write_bytes(new_private_pem())
    monkeypatch.setenv(SIGNING_KEY_FILE_ENV, str(key))
    app = bootstrap_app(Settings(database_url=found))
    try:
        app.ledger.init(["140000"])
        app.read_models.create_tables()
        app.ledger.open_fund(CITY, first_year=2024, opening_balance_fen=3_522_600)
        app.ledger.open_fund(PROVINCE_ADJUSTMENT, first_year=2024)
        app.ledger.import_postings([posting(text) for text in POSTINGS])
    finally:
        app.close()
    assert invoke(found, "audit", "seal", "--province", "140000", "--year", "2024").exit_code == 0
    assert invoke(found, "audit", "checkpoint", "--province", "140000").exit_code == 0
    return found


def invoke(url: str, *args: str) -> Any:
    return CliRunner().invoke(cli, [*args, "--db", url])


def findings(url: str, *extra: str) -> list[dict[str, Any]]:
    result = invoke(url, "audit", "verify", "--format", "json", *extra)
    document = json.loads(result.stdout)
    assert result.exit_code == (0 if document["ok"] else 1), result.output
    return list(document["findings"])


def anchored(found: list[dict[str, Any]]) -> set[tuple[str, str, int | None]]:
    return {
        (f["check"], f["fund"], f["version"]) for f in found if f["check"] in {"seal", "checkpoint"}
    }


def test_a_sealed_store_verifies_clean_and_lists_its_signed_anchors(url: str) -> None:
    assert findings(url) == []
    listed = json.loads(invoke(url, "audit", "anchors", "--province", "140000").stdout)
    assert [a["kind"] for a in listed] == ["seal", "checkpoint"]
    seal = listed[0]
    assert {h["fund"]: h["version"] for h in seal["heads"]} == {
        "adjustment:140000": 2,
        "resident:140100": 5,
    }
    city = next(h for h in seal["heads"] if h["fund"] == str(CITY))
    assert city["totals"] == {
        "opening_balance": 3_522_600,
        "income": 620_000,
        "expense": 310_050,
        "closing_balance": 3_832_550,
    }
    keys = invoke(url, "audit", "keys").stdout
    assert seal["key_id"] in keys
    assert "BEGIN PUBLIC KEY" in keys
    assert all(a["signature"] and a["key_id"] == seal["key_id"] for a in listed)


def test_a_truncated_tail_is_reported_by_fund_and_version(url: str) -> None:
    run_sql(
        url,
        f"DELETE FROM {EVENTS} WHERE originator_id = ? AND originator_version = 5",
        (key_of(url, CITY),),
    )
    found = findings(url)
    assert anchored(found) == {("seal", str(CITY), 5), ("checkpoint", str(CITY), 5)}
    assert "ends at version 4 but had reached version 5" in json.dumps(found)
    assert not [f for f in found if f["check"] == "chain"]  # the chain itself looks whole


def test_a_deleted_fund_is_reported(url: str) -> None:
    run_sql(
        url, f"DELETE FROM {EVENTS} WHERE originator_id = ?", (key_of(url, PROVINCE_ADJUSTMENT),)
    )
    found = findings(url)
    assert ("seal", str(PROVINCE_ADJUSTMENT), 2) in anchored(found)
    assert ("checkpoint", str(PROVINCE_ADJUSTMENT), 2) in anchored(found)


def test_a_forged_last_event_with_its_hash_recomputed_is_reported(url: str) -> None:
    rewrite_from(url, CITY, 5, {5: {"amount_fen": 50_000}})
    found = findings(url)
    assert not [f for f in found if f["check"] == "chain"]
    assert anchored(found) == {("seal", str(CITY), 5), ("checkpoint", str(CITY), 5)}
    assert "its history was rewritten up to there" in json.dumps(found)


def test_a_replaced_history_with_a_consistent_chain_is_reported(url: str) -> None:
    rewrite_from(url, CITY, 2, {2: {"amount_fen": 1}, 3: {"amount_fen": 2}})
    run_sql(url, "UPDATE fl_postings SET amount_fen = 1 WHERE reference = 'C-1'")
    found = findings(url)
    assert not [f for f in found if f["check"] == "chain"]
    assert ("seal", str(CITY), 5) in anchored(found)
    assert ("checkpoint", str(CITY), 5) in anchored(found)


def test_an_edited_seal_and_an_untrusted_key_are_reported(url: str, tmp_path: Path) -> None:
    seal_key = key_of(url, seal_id("140000", 2024))
    [(state,)] = run_sql(
        url,
        f"SELECT state FROM {EVENTS} WHERE originator_id = ? AND originator_version = 2",
        (seal_key,),
    )
    data = json.loads(bytes(state))
    data["heads"][1]["version"] = 4  # hide that version 5 existed
    run_sql(
        url,
        f"UPDATE {EVENTS} SET state = ? WHERE originator_id = ? AND originator_version = 2",
        (json.dumps(data).encode(), seal_key),
    )
    assert "the record was edited" in json.dumps(findings(url))
    other = tmp_path / "other.pem"
    other.write_bytes(new_private_pem())
    found = json.dumps(findings(url, "--key", str(other)))
    assert "which is not trusted" in found


def test_a_deleted_voucher_and_a_reference_posted_twice_are_reported(url: str) -> None:
    run_sql(url, f"DELETE FROM {VOUCHERS} WHERE reference = 'C-1'")
    found = findings(url)
    assert {(f["check"], f["fund"], f["version"]) for f in found} == {("voucher", str(CITY), 2)}
    app = bootstrap_app(Settings(database_url=url))
    try:
        app.ledger.post(posting(POSTINGS[0]))  # no voucher: the ledger takes it again
    finally:
        app.close()
    again = {(f["check"], f["version"]) for f in findings(url) if f["fund"] == str(CITY)}
    assert ("reference", 6) in again


def test_a_voucher_without_its_event_is_reported(url: str) -> None:
    """A voucher for a reference never posted (written behind the ledger's back) would refuse
    the real posting of that reference as already made: the audit names it."""
    run_sql(
        url,
        f"INSERT INTO {VOUCHERS} (fund, reference, digest, line, amount_fen, sub_line, level, "
        "county, counterparty, purpose, reverses, fund_version) "
        "VALUES (?, 'X-1', 'd', 'benefit', 100, 'inpatient', NULL, NULL, NULL, NULL, NULL, 3)",
        (str(CITY),),
    )
    found = findings(url)
    assert [(f["check"], f["fund"], f["version"], f["detail"]) for f in found] == [
        ("voucher", str(CITY), 3, "the voucher of X-1 has no posting or reversal event")
    ]


def test_closing_a_year_seals_it(url: str) -> None:
    closed = invoke(url, "close", str(CITY), "--year", "2024")
    assert closed.exit_code == 0, closed.output
    listed = json.loads(invoke(url, "audit", "anchors", "--province", "140000").stdout)
    assert [a["kind"] for a in listed] == ["seal", "checkpoint", "seal"]
    assert {h["fund"]: h["version"] for h in listed[-1]["heads"]}[str(CITY)] == 6
    assert findings(url) == []


def test_check_anchor_is_pure_and_names_every_problem() -> None:
    signer = signer_from_pem(new_private_pem(), source="test")
    heads = (Head("resident:140100", 3, "a" * 64), Head("resident:140200", 1, "b" * 64))
    digest = anchor_digest("checkpoint", "140000", None, "2025-01-01T00:00:00+00:00", heads)
    anchor = Anchor(
        "checkpoint",
        "140000",
        None,
        "2025-01-01T00:00:00+00:00",
        heads,
        digest,
        signer.sign(digest),
        signer.key_id,
    )
    found = check_anchor(anchor, {}, {signer.key_id: signer.public_key})
    assert [(f.fund, f.version) for f in found] == [("resident:140100", 3), ("resident:140200", 1)]
    forged = Anchor(**{**anchor.__dict__, "signature": signer.sign("x" * 64)})
    assert (
        "does not verify" in check_anchor(forged, {}, {signer.key_id: signer.public_key})[0].detail
    )


def archive_findings(path: Path, *extra: str) -> list[dict[str, Any]]:
    result = CliRunner().invoke(
        cli, ["audit", "verify", "--archive", str(path), "--format", "json", *extra]
    )
    document = json.loads(result.stdout)
    assert result.exit_code == (0 if document["ok"] else 1), result.output
    return list(document["findings"])


def export(url: str, path: Path) -> None:
    done = invoke(
        url, "audit", "export", "--province", "140000", "--year", "2024", "--output", str(path)
    )
    assert done.exit_code == 0, done.output


def test_an_archive_verifies_offline_and_reproduces_every_statement(
    url: str, tmp_path: Path
) -> None:
    path = tmp_path / "140000-2024.zip"
    export(url, path)
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        statement = json.loads(archive.read("statements/resident_140100.json"))
        manifest = json.loads(archive.read("manifest.json"))
    assert {
        "manifest.json",
        "events.jsonl",
        "vouchers.jsonl",
        "heads.json",
        "anchors.json",
    } <= names
    assert statement["closing_balance"] == "38325.50"
    assert manifest["signature"]
    public = tmp_path / "public.pem"
    public.write_text(invoke(url, "audit", "keys").stdout.split("\n", 1)[1])
    assert archive_findings(path, "--key", str(public)) == []
    other = tmp_path / "other.pem"
    other.write_bytes(new_private_pem())
    assert "not trusted" in json.dumps(archive_findings(path, "--key", str(other)))


def test_the_statements_an_audit_replays_are_the_archive_s_own_folds(url: str) -> None:
    """The offline check takes each fund's statement from the audit's own walk instead of
    walking the chains again: those must be, byte for byte, what a fold of the chain gives,
    for every fund and every year, and a fund the walk did not replay is folded anyway."""
    from api.archive import statement_documents
    from projections.audit import audit
    from projections.statement import Statement

    app = bootstrap_app(Settings(database_url=url))
    try:
        replayed: dict[str, dict[int, Statement]] = {}
        report = audit(app.ledger, app.read_models, provinces=["140000"], replayed=replayed)
        assert report.ok, report.findings
        assert set(replayed) == {str(CITY), str(PROVINCE_ADJUSTMENT)}
        assert set(replayed[str(CITY)]) == {2024}
        assert report.statements == sum(len(years) for years in replayed.values())
        walked = statement_documents(app.ledger, "140000", 2024)
        assert statement_documents(app.ledger, "140000", 2024, replayed=replayed) == walked
        assert json.loads(walked[str(CITY)])["closing_balance"] == "38325.50"
        partial = {str(CITY): replayed[str(CITY)]}
        assert statement_documents(app.ledger, "140000", 2024, replayed=partial) == walked
        later = statement_documents(app.ledger, "140000", 2025, replayed=replayed)
        assert json.loads(later[str(CITY)])["opening_balance"] == "38325.50"
    finally:
        app.close()


def test_an_archive_finds_tampering_done_before_the_export_and_after(
    url: str, tmp_path: Path
) -> None:
    run_sql(
        url,
        f"DELETE FROM {EVENTS} WHERE originator_id = ? AND originator_version = 5",
        (key_of(url, CITY),),
    )
    before = tmp_path / "before.zip"
    export(url, before)
    assert ("seal", str(CITY), 5) in anchored(archive_findings(before))
    edited = tmp_path / "edited.zip"
    with zipfile.ZipFile(before) as source, zipfile.ZipFile(edited, "w") as target:
        for name in source.namelist():
            data = source.read(name)
            if name == "statements/resident_140100.json":
                data = data.replace(b'"closing_balance":"33325.50"', b'"closing_balance":"1.00"')
                assert b'"1.00"' in data
            target.writestr(name, data)
    text = json.dumps(archive_findings(edited))
    assert "statements/resident_140100.json does not match its hash" in text
    assert "the 2024 statement of resident:140100 is not what its events give" in text


def _edited_line(data: bytes, number: int, line: bytes) -> bytes:
    lines = data.split(b"\n")
    lines[number - 1] = line
    return b"\n".join(lines)


def _repeated_line(data: bytes, number: int) -> bytes:
    lines = data.split(b"\n")
    return b"\n".join([*lines[:number], lines[number - 1], *lines[number:]])


EDITED_LINES: dict[str, tuple[str, Callable[[bytes], bytes], str]] = {
    "an event's id a number": (
        "events.jsonl",
        lambda d: _edited_line(d, 4, d.split(b"\n")[3].replace(b'"originator_id":"', b'"x":"')),
        "events.jsonl line 4 is not a stored event (KeyError",
    ),
    "an event line not JSON": (
        "events.jsonl",
        lambda d: _edited_line(d, 2, b"not json"),
        "events.jsonl line 2 is not a stored event (JSONDecodeError",
    ),
    "an event's state not base64": (
        "events.jsonl",
        lambda d: _edited_line(
            d, 3, re.sub(rb'"state":"[^"]*"', b'"state":"%%%"', d.split(b"\n")[2])
        ),
        "events.jsonl line 3 is not a stored event (Error",
    ),
    "an event repeated": (
        "events.jsonl",
        lambda d: _repeated_line(d, 3),
        "events.jsonl holds the event of",
    ),
    "an opening's topic edited": (
        "events.jsonl",
        lambda d: d.replace(b'"topic":"fundledger:Fund.Opened"', b'"topic":"fundledger:F.X"', 1),
        "has events but none that creates it",
    ),
    "a voucher without its fields": (
        "vouchers.jsonl",
        lambda d: _edited_line(d, 1, b'{"fund": 1}'),
        "vouchers.jsonl line 1 is not a voucher (TypeError",
    ),
    "a voucher repeated": (
        "vouchers.jsonl",
        lambda d: _repeated_line(d, 1),
        "vouchers.jsonl holds the voucher of",
    ),
}


@pytest.mark.parametrize("edit", sorted(EDITED_LINES))
def test_an_archive_with_an_unreadable_or_repeated_line_is_reported_not_a_traceback(
    url: str, tmp_path: Path, edit: str
) -> None:
    """An edited events or vouchers file is a finding naming its line, with every other check
    still made; never a traceback (the line used to end the check with one)."""
    clean = tmp_path / "clean.zip"
    export(url, clean)
    name, change, expected = EDITED_LINES[edit]
    edited = tmp_path / "edited.zip"
    with zipfile.ZipFile(clean) as source, zipfile.ZipFile(edited, "w") as target:
        for each in source.namelist():
            data = source.read(each)
            target.writestr(each, change(data) if each == name else data)
    details = [f["detail"] for f in archive_findings(edited)]
    assert f"{name} does not match its hash in the manifest" in details
    assert any(expected in d for d in details), details


def test_an_archive_whose_manifest_lacks_its_year_is_refused_in_one_line(
    url: str, tmp_path: Path
) -> None:
    clean = tmp_path / "clean.zip"
    export(url, clean)
    edited = tmp_path / "edited.zip"
    with zipfile.ZipFile(clean) as source, zipfile.ZipFile(edited, "w") as target:
        for each in source.namelist():
            data = source.read(each)
            if each == "manifest.json":
                manifest = json.loads(data)
                del manifest["year"]
                data = json.dumps(manifest).encode()
            target.writestr(each, data)
    result = CliRunner().invoke(cli, ["audit", "verify", "--archive", str(edited)])
    assert result.exit_code == 2, result.output
    assert "manifest.json does not give the archive's province, year" in result.output
    assert "Traceback" not in result.output


def test_replay_rebuilds_a_statement_from_raw_events_as_of_a_time(url: str) -> None:
    result = invoke(url, "audit", "replay", str(CITY), "--year", "2024", "--format", "json")
    assert result.exit_code == 0, result.output
    replayed = json.loads(result.stdout)
    assert (replayed["events"], replayed["version"], replayed["differences"]) == (5, 5, [])
    assert replayed["replayed"]["closing_balance"] == "38325.50"
    shown = invoke(url, "audit", "replay", str(CITY), "--year", "2024")
    assert shown.exit_code == 0, shown.output
    assert re.search(r"(?m)^closing_balance\s+38,325\.50\s+38,325\.50\s*$", shown.stdout), (
        shown.stdout
    )
    early = invoke(
        url,
        "audit",
        "replay",
        str(CITY),
        "--year",
        "2024",
        "--as-of",
        "2000-01-01T00:00:00+08:00",
        "--format",
        "json",
    )
    assert early.exit_code == 0, early.output
    assert (json.loads(early.stdout)["events"], json.loads(early.stdout)["read_models"]) == (
        0,
        None,
    )
    early_table = invoke(
        url, "audit", "replay", str(CITY), "--year", "2024", "--as-of", "2000-01-01T00:00:00+08:00"
    )
    assert re.search(r"(?m)^closing_balance\s+0\.00\s+—\s*$", early_table.stdout), (
        early_table.stdout
    )
    assert "None" not in early_table.stdout
    unyeared = invoke(
        url,
        "audit",
        "replay",
        str(CITY),
        "--as-of",
        "2000-01-01T00:00:00+08:00",
        "--format",
        "json",
    )
    assert json.loads(unyeared.stdout)["year"] == china_today().year  # no event by then
    run_sql(url, "UPDATE fl_postings SET amount_fen = 1 WHERE reference = 'C-1'")
    changed = invoke(url, "audit", "replay", str(CITY), "--year", "2024")
    assert changed.exit_code == 1
    assert re.search(r"(?m)^income\.contribution\s+1,200\.00\s+0\.01\s*$", changed.stdout), (
        changed.stdout
    )


def test_an_edited_snapshot_is_reported(sqlite_url: str) -> None:
    app = bootstrap_app(Settings(database_url=sqlite_url))
    try:
        app.ledger.init(["140000"])
        app.read_models.create_tables()
        app.ledger.open_fund(CITY, first_year=2024)
        app.ledger.import_postings(
            [posting(f"resident:140100 contribution 1.00 2024-01-02 C-{n}") for n in range(600)]
        )
    finally:
        app.close()
    assert findings(sqlite_url) == []
    [(version, state)] = run_sql(
        sqlite_url, "SELECT originator_version, state FROM ledger_140000_snapshots"
    )
    data = json.loads(bytes(state))
    data["state"]["balance_fen"] += 100
    run_sql(
        sqlite_url, "UPDATE ledger_140000_snapshots SET state = ?", (json.dumps(data).encode(),)
    )
    found = findings(sqlite_url)
    assert ("snapshot", str(CITY), version) in {
        (f["check"], f["fund"], f["version"]) for f in found
    }
    assert "balance_fen" in json.dumps(found)
