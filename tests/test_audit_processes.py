"""``audit verify`` in several processes gives the report one process gives, finding for finding.

A demo store (twelve funds of Shanxi, with inter-level postings and their mirrors), sealed and
checkpointed, on SQLite and PostgreSQL. With three processes the province's funds are dealt
one at a time to the calling process and to two helper processes on the same store; the
report must be the same document as with one, untampered and after edits behind the ledger's
back in funds spread over the processes.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest
from typer.testing import CliRunner

from api.bootstrap import bootstrap_app
from api.cli import app
from api.settings import Settings
from domain.funds import FundId
from projections.audit import Anchored, FundPass, _largest_first, _Offers, registered_funds
from tests.test_tamper import PostgresStore, SQLiteStore, Store, delete_voucher

FUNDS = [FundId.parse(f"resident:14{n:02d}00") for n in (1, 2, 4, 7, 10)]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest) -> str:
    """A sealed and checkpointed demo store."""
    if request.param == "sqlite":
        found = str(request.getfixturevalue("sqlite_url"))
    else:
        found = str(request.getfixturevalue("postgres_url"))
    runner = CliRunner()
    for command in (
        ["demo", "--db", found],
        ["audit", "seal", "--province", "140000", "--year", "2024", "--db", found],
        ["audit", "checkpoint", "--province", "140000", "--db", found],
    ):
        done = runner.invoke(app, command)
        assert done.exit_code == 0, (command, done.output)
    return found


def verified(url: str, processes: int) -> dict[str, Any]:
    result = CliRunner().invoke(
        app, ["audit", "verify", "--db", url, "--processes", str(processes), "--format", "json"]
    )
    assert result.stdout, (result.output, result.exception)
    document: dict[str, Any] = json.loads(result.stdout)
    assert result.exit_code == (0 if document["ok"] else 1), result.output
    return document


def store(url: str, fund: FundId) -> Store:
    return SQLiteStore(url, fund) if url.startswith("sqlite:") else PostgresStore(url, fund)


def first_posting(edited: Store) -> tuple[int, str, dict[str, Any]]:
    """The fund's first posting of its own (not a mirror): version, topic, stored state."""
    for version, (topic, state) in sorted(edited.rows().items()):
        data = json.loads(state)
        if "amount_fen" in data and "#" not in data["reference"]:
            return version, topic, data
    raise AssertionError("the fund has no posting")


def test_the_funds_are_offered_the_most_postings_first(url: str) -> None:
    built = bootstrap_app(Settings(database_url=url))
    try:
        built.read_models.catch_up()
        funds = registered_funds(built.ledger, built.read_models, ["140000"])
        ordered = _largest_first(built.read_models, "140000", funds)
        postings = {
            str(row[0]): int(row[1])
            for row in built.read_models.for_province("140000").db.query(
                "SELECT fund, count(*) FROM fl_postings GROUP BY fund"
            )
        }
    finally:
        built.close()
    assert len(funds) == 12
    assert sorted(ordered) == sorted(funds)
    sizes = [postings.get(str(f), 0) for f in ordered]
    assert sizes == sorted(sizes, reverse=True)
    assert sizes[0] > sizes[-1]


def test_an_untampered_store_gives_the_same_report_in_three_processes(url: str) -> None:
    one = verified(url, 1)
    assert one["ok"] is True
    assert one["checked"]["funds"] == 12
    assert one["checked"]["events"] > 17_000
    assert one["checked"]["anchors"] == 2
    assert verified(url, 3) == one


def test_edits_in_funds_of_every_process_are_found_alike_in_three_processes(url: str) -> None:
    for fund in FUNDS[:3]:  # a changed amount: the chain and the replayed statement
        edited = store(url, fund)
        version, topic, data = first_posting(edited)
        data["amount_fen"] += 1
        edited.put(version, topic, json.dumps(data).encode())
    store(url, FUNDS[3]).delete(max(store(url, FUNDS[3]).rows()))  # a tail behind the checkpoint
    reference = first_posting(store(url, FUNDS[4]))[2]["reference"]
    delete_voucher(url, reference)
    one = verified(url, 1)
    found = {(f["check"], f["fund"]) for f in one["findings"]}
    for fund in FUNDS[:3]:
        assert ("chain", str(fund)) in found
        assert ("statement", str(fund)) in found
    assert ("checkpoint", str(FUNDS[3])) in found
    assert ("voucher", str(FUNDS[4])) in found
    assert verified(url, 3) == one


class _RecordingHelper:
    """A helper that runs its passes on threads and records which funds it was given (its
    passes return nothing: only the dealing is under test)."""

    def __init__(self, helpers: int) -> None:
        self.helpers = helpers
        self.given: list[str] = []
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=helpers)

    def submit(
        self,
        province: str,
        funds: list[FundId],
        year: int | None,
        anchored: dict[str, list[Anchored]],
        summed: dict[str, list[tuple[Any, ...]]],
    ) -> Future[list[FundPass]]:
        assert len(funds) == 1
        assert set(anchored) == set(summed) == {str(funds[0])}

        def run() -> list[FundPass]:
            time.sleep(0.01)
            with self._lock:
                self.given.append(str(funds[0]))
            return []

        return self._pool.submit(run)


@pytest.mark.parametrize("helpers", [1, 3])
def test_every_fund_is_dealt_once_the_largest_to_the_helpers(helpers: int) -> None:
    funds = [FundId.parse(f"resident:14{n:02d}00") for n in range(1, 12)]
    helper = _RecordingHelper(helpers)
    offers = _Offers(helper, "140000", list(funds))
    offers.start(None, {}, {})
    taken: list[str] = []
    while (fund := offers.smallest()) is not None:
        taken.append(str(fund))
        time.sleep(0.015)  # the caller's own pass
    assert offers.results() == []
    helper._pool.shutdown()
    assert sorted(taken + helper.given) == sorted(str(f) for f in funds)
    assert len(taken) + len(helper.given) == len(funds)
    assert taken
    assert helper.given
    assert taken[0] == str(funds[-1])  # the caller starts from the smallest
    assert str(funds[0]) in helper.given  # a helper from the largest
