"""Properties of the ledger, on random histories of one province (in memory).

Each example builds a fresh ledger: four funds of Shanxi (two city pools, the provincial
adjustment fund, and a legacy NCMS fund that is merged into a city pool), and a random
history of single postings, inter-level pairs (levies up to the adjustment fund, draws down
from it), transfers between the pools, legacy merges and reversals. The expected figures are
computed by a model written here, independently of the ledger's own sign tables.

The last tests are examples, not properties, run on every backend: an import stays all or
none when another writer moves a fund while the import is being written, and when it does so
between the import's check and its write (the import checks again and retries).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.bootstrap import bootstrap
from api.settings import Settings
from domain.errors import DomainError
from domain.funds import FundId
from domain.ledger_service import Ledger, RowErrors
from domain.lines import Level, Line, Purpose
from domain.money import parse_yuan
from domain.postings import Posting
from projections.statement import statement_for
from tests.scenario import CITY, CITY2, PROVINCE_ADJUSTMENT

LEGACY = FundId.parse("ncms:140100")
FUNDS: tuple[FundId, ...] = (CITY, CITY2, PROVINCE_ADJUSTMENT, LEGACY)
OPENING_FEN: dict[FundId, int] = {
    CITY: 3_522_600,
    CITY2: 1_000_000,
    PROVINCE_ADJUSTMENT: 0,
    LEGACY: 250_000,
}
COUNTY_IN: dict[FundId, str] = {
    CITY: "140105",
    CITY2: "140211",
    PROVINCE_ADJUSTMENT: "140105",
    LEGACY: "140106",
}
FIRST_YEAR = 2023
YEARS = (2023, 2024, 2025)
LAST_YEAR = YEARS[-1]

INCOME_SIGN = 1
EXPENSE_SIGN = -1
EXTERNAL_LINES: dict[str, tuple[Line, str | None, Level | None, int]] = {
    "contribution": (Line.CONTRIBUTION, None, None, INCOME_SIGN),
    "contribution/individual": (Line.CONTRIBUTION, "individual", None, INCOME_SIGN),
    "subsidy/standard@central": (Line.SUBSIDY, "standard", Level.CENTRAL, INCOME_SIGN),
    "subsidy@county": (Line.SUBSIDY, None, Level.COUNTY, INCOME_SIGN),
    "interest": (Line.INTEREST, None, None, INCOME_SIGN),
    "other_income": (Line.OTHER_INCOME, None, None, INCOME_SIGN),
    "benefit/inpatient": (Line.BENEFIT, "inpatient", None, EXPENSE_SIGN),
    "benefit/outpatient": (Line.BENEFIT, "outpatient", None, EXPENSE_SIGN),
    "critical_illness": (Line.CRITICAL_ILLNESS, None, None, EXPENSE_SIGN),
    "other_expense": (Line.OTHER_EXPENSE, None, None, EXPENSE_SIGN),
    "transfer_out (portability)": (Line.TRANSFER_OUT, None, None, EXPENSE_SIGN),
}
"""Lines that move cash in or out of the province (no counterparty)."""

PROPERTY_SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# -------------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class Step:
    """A posting and what the model says it does to each fund and to the province."""

    posting: Posting
    effects: dict[FundId, int]
    external_fen: int
    kind: str
    source: Posting | None = None
    """For a reversal: the posting it undoes."""


def reversal_of(step: Step, reference: str, value_date: date, *, repeat: bool = False) -> Step:
    """The step that undoes ``step``.

    The line and amount are repeated, as the contract asks, and so is a subsidy's level
    (the postings file requires it on every subsidy row); the sub-line and county are
    repeated only when ``repeat`` (a reversal may leave them empty).
    """
    original = step.posting
    undo = Posting(
        fund=original.fund,
        line=original.line,
        amount_fen=original.amount_fen,
        value_date=value_date,
        reference=reference,
        sub_line=original.sub_line if repeat else None,
        level=original.level,
        county=original.county if repeat else None,
        reverses=original.reference,
    )
    effects = {fund: -fen for fund, fen in step.effects.items()}
    return Step(undo, effects, -step.external_fen, "reverse:" + step.kind, original)


amounts = st.integers(min_value=1, max_value=50_000_000)
value_dates = st.builds(
    date,
    st.sampled_from(YEARS),
    st.integers(min_value=1, max_value=12),
    st.integers(min_value=1, max_value=28),
)
KINDS = ("external", "external", "external", "levy", "draw", "transfer", "merge", "reverse")


@st.composite
def one_step(draw: st.DrawFn, reference: str, kind: str) -> Step:
    """A valid, non-reversal posting of ``kind``."""
    amount = draw(amounts)
    when = draw(value_dates)
    pools = (CITY, CITY2)
    if kind == "external":
        fund = draw(st.sampled_from(FUNDS))
        line, sub_line, level, sign = EXTERNAL_LINES[draw(st.sampled_from(sorted(EXTERNAL_LINES)))]
        county = draw(st.sampled_from([None, COUNTY_IN[fund]]))
        p = Posting(
            fund, line, amount, when, reference, sub_line=sub_line, level=level, county=county
        )
        return Step(p, {fund: sign * amount}, sign * amount, kind)
    if kind == "levy":
        pool = draw(st.sampled_from(pools))
        purpose = draw(st.sampled_from([Purpose.ADJUSTMENT_LEVY, None]))
        p = Posting(
            pool,
            Line.TO_UPPER,
            amount,
            when,
            reference,
            counterparty=PROVINCE_ADJUSTMENT,
            purpose=purpose,
        )
        return Step(p, {pool: -amount, PROVINCE_ADJUSTMENT: amount}, 0, kind)
    if kind == "draw":
        pool = draw(st.sampled_from(pools))
        purpose = draw(st.sampled_from([Purpose.ADJUSTMENT_DRAW, None]))
        p = Posting(
            PROVINCE_ADJUSTMENT,
            Line.TO_LOWER,
            amount,
            when,
            reference,
            counterparty=pool,
            purpose=purpose,
        )
        return Step(p, {PROVINCE_ADJUSTMENT: -amount, pool: amount}, 0, kind)
    if kind == "transfer":
        paying, receiving = draw(st.permutations(pools))
        p = Posting(paying, Line.TRANSFER_OUT, amount, when, reference, counterparty=receiving)
        return Step(p, {paying: -amount, receiving: amount}, 0, kind)
    assert kind == "merge", kind
    p = Posting(
        LEGACY,
        Line.TRANSFER_OUT,
        amount,
        when,
        reference,
        counterparty=CITY,
        purpose=Purpose.LEGACY_MERGE,
    )
    return Step(p, {LEGACY: -amount, CITY: amount}, 0, kind)


@st.composite
def histories(draw: st.DrawFn, max_steps: int = 25, prefix: str = "R") -> list[Step]:
    """A valid history: every step is accepted when posted in order."""
    steps: list[Step] = []
    reversible: list[Step] = []
    count = draw(st.integers(min_value=1, max_value=max_steps))
    for i in range(count):
        reference = f"{prefix}-{i}"
        kind = draw(st.sampled_from(KINDS))
        if kind == "reverse" and not reversible:
            kind = "external"
        if kind == "reverse":
            target = reversible.pop(draw(st.integers(0, len(reversible) - 1)))
            repeat = draw(st.booleans())
            steps.append(reversal_of(target, reference, draw(value_dates), repeat=repeat))
            continue
        step = draw(one_step(reference, kind))
        steps.append(step)
        reversible.append(step)
    return steps


def model_balances(steps: Sequence[Step]) -> dict[FundId, int]:
    balances = dict(OPENING_FEN)
    for step in steps:
        for fund, fen in step.effects.items():
            balances[fund] += fen
    return balances


def paired_total(steps: Sequence[Step], line: Line, year: int) -> int:
    """The model's total of paired postings on ``line`` dated in ``year`` (reversals net)."""
    total = 0
    for step in steps:
        p = step.posting
        if p.line is not line or p.value_date.year != year:
            continue
        if step.kind.removeprefix("reverse:") not in ("levy", "draw", "transfer"):
            continue
        total += -p.amount_fen if p.reverses else p.amount_fen
    return total


MIRROR_LINE = {
    Line.TO_UPPER: Line.FROM_LOWER,
    Line.TO_LOWER: Line.FROM_UPPER,
    Line.TRANSFER_OUT: Line.TRANSFER_IN,
}


@dataclass
class ModelYear:
    """The model's figures of one fund's year: line keys and merged-in balances."""

    lines_fen: dict[str, int]
    transfers_fen: int = 0


def model_years(steps: Sequence[Step]) -> dict[tuple[FundId, int], ModelYear]:
    """Every fund's line totals per year, as the statement layout should show them."""
    years = {(f, y): ModelYear({}) for f in FUNDS for y in YEARS}

    def add(fund: FundId, year: int, line: Line, p: Posting, fen: int) -> None:
        keys = [line.value]
        keys += [f"{line.value}.{x}" for x in (p.sub_line, p.level) if x is not None]
        for key in keys:
            lines = years[(fund, year)].lines_fen
            lines[key] = lines.get(key, 0) + fen

    for step in steps:
        source = step.source or step.posting
        year = step.posting.value_date.year
        fen = -source.amount_fen if step.source else source.amount_fen
        if source.purpose is Purpose.LEGACY_MERGE:
            assert source.counterparty is not None
            years[(source.fund, year)].transfers_fen -= fen
            years[(source.counterparty, year)].transfers_fen += fen
            continue
        add(source.fund, year, source.line, source, fen)
        if source.counterparty is not None:
            add(source.counterparty, year, MIRROR_LINE[source.line], source, fen)
    return years


# ------------------------------------------------------------------------------- harnesses


@contextmanager
def fresh_ledger() -> Iterator[Ledger]:
    ledger = bootstrap(Settings(database_url="memory://"))
    ledger.init(["140000", "220000"])
    try:
        for fund, fen in OPENING_FEN.items():
            ledger.open_fund(fund, first_year=FIRST_YEAR, opening_balance_fen=fen)
        yield ledger
    finally:
        ledger.close()


def post_all(ledger: Ledger, steps: Sequence[Step], *, batch: bool) -> None:
    postings = [s.posting for s in steps]
    if batch:
        report = ledger.import_postings(postings, chunk=7)
        assert (report.posted, report.duplicates) == (len(postings), 0)
        return
    for p in postings:
        assert ledger.post(p).status == "posted", p


def balance(ledger: Ledger, fund: FundId) -> int:
    found = ledger.find_fund(fund)
    assert found is not None
    return found.balance_fen


def versions(ledger: Ledger) -> dict[str, int]:
    out = {}
    for fund in FUNDS:
        found = ledger.find_fund(fund)
        assert found is not None
        out[str(fund)] = found.version
    return out


def statements(ledger: Ledger) -> dict[tuple[str, int], dict[str, Any]]:
    return {(str(f), y): statement_for(ledger, f, y).to_json() for f in FUNDS for y in YEARS}


def nonzero(lines_fen: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in lines_fen.items() if v}


# ------------------------------------------------------------------------------ properties


@PROPERTY_SETTINGS
@given(history=histories(), batch=st.booleans())
def test_money_is_conserved(history: list[Step], batch: bool) -> None:
    external_fen = sum(step.external_fen for step in history)
    expected = model_balances(history)
    assert sum(expected.values()) == sum(OPENING_FEN.values()) + external_fen
    with fresh_ledger() as ledger:
        post_all(ledger, history, batch=batch)
        balances = {fund: balance(ledger, fund) for fund in FUNDS}
        assert balances == expected
        assert sum(balances.values()) == sum(OPENING_FEN.values()) + external_fen
        closing = {f: statement_for(ledger, f, LAST_YEAR).closing_balance_fen for f in FUNDS}
        assert closing == expected
        # the province's consolidated surplus over the years is the external net
        surplus = sum(
            statement_for(ledger, f, y).current_surplus_fen
            + statement_for(ledger, f, y).opening_balance_transfers_fen
            for f in FUNDS
            for y in YEARS
        )
        assert surplus == external_fen


@PROPERTY_SETTINGS
@given(history=histories())
def test_inter_level_pairs_cancel_in_the_province_total(history: list[Step]) -> None:
    with fresh_ledger() as ledger:
        post_all(ledger, history, batch=False)
        for year in YEARS:
            lines = [statement_for(ledger, f, year).lines_fen for f in FUNDS]

            def total(*keys: Line, of: list[dict[str, int]] = lines) -> int:
                return sum(s.get(k.value, 0) for s in of for k in keys)

            received = total(Line.FROM_UPPER, Line.FROM_LOWER)
            paid = total(Line.TO_UPPER, Line.TO_LOWER)
            assert received == paid
            assert total(Line.TO_UPPER) == total(Line.FROM_LOWER)
            assert total(Line.TO_LOWER) == total(Line.FROM_UPPER)
            assert total(Line.TO_UPPER) == paired_total(history, Line.TO_UPPER, year)
            assert total(Line.TO_LOWER) == paired_total(history, Line.TO_LOWER, year)
            transfers = [
                statement_for(ledger, f, year).opening_balance_transfers_fen for f in FUNDS
            ]
            assert sum(transfers) == 0


@PROPERTY_SETTINGS
@given(history=histories(), data=st.data())
def test_a_reimport_of_an_accepted_file_changes_nothing(
    history: list[Step], data: st.DataObject
) -> None:
    postings = [s.posting for s in history]
    with fresh_ledger() as ledger:
        first = ledger.import_postings(postings, chunk=5)
        assert (first.posted, first.duplicates) == (len(postings), 0)
        before, versions_before = statements(ledger), versions(ledger)
        again = ledger.import_postings(postings)
        assert (again.posted, again.duplicates) == (0, len(postings))
        assert statements(ledger) == before
        assert versions(ledger) == versions_before
        # any part of the file, in any order, is all duplicates too
        part = data.draw(st.lists(st.sampled_from(postings), min_size=1, unique=True))
        again = ledger.import_postings(part)
        assert (again.posted, again.duplicates) == (0, len(part))
        for p in part:
            assert ledger.post(p).status == "duplicate"
        assert statements(ledger) == before
        assert versions(ledger) == versions_before


PRIOR = Posting(CITY, Line.BENEFIT, 10_000, date(2023, 1, 31), "PRIOR-1", sub_line="inpatient")

BAD_ROWS: dict[str, tuple[Posting, str]] = {
    "subsidy without level": (
        Posting(CITY, Line.SUBSIDY, 100, date(2024, 6, 30), "BAD-1", sub_line="standard"),
        "level",
    ),
    "unknown fund": (
        Posting(FundId.parse("resident:140300"), Line.BENEFIT, 100, date(2024, 6, 30), "BAD-1"),
        "fund",
    ),
    "unknown counterparty": (
        Posting(
            CITY,
            Line.TO_UPPER,
            100,
            date(2024, 6, 30),
            "BAD-1",
            counterparty=FundId.parse("resident:140000"),
        ),
        "counterparty",
    ),
    "value date before the first year": (
        Posting(CITY2, Line.BENEFIT, 100, date(FIRST_YEAR - 1, 12, 31), "BAD-1"),
        "value_date",
    ),
    "conflicting reference": (replace(PRIOR, amount_fen=PRIOR.amount_fen + 1), "reference"),
    "to_upper to a fund of the same level": (
        Posting(CITY, Line.TO_UPPER, 100, date(2024, 6, 30), "BAD-1", counterparty=CITY2),
        "counterparty",
    ),
    "reversal of nothing": (
        Posting(CITY, Line.BENEFIT, 100, date(2024, 6, 30), "BAD-1", reverses="NOPE"),
        "reverses",
    ),
    "reversal with another amount": (
        Posting(CITY, Line.BENEFIT, 99, date(2024, 6, 30), "BAD-1", reverses="PRIOR-1"),
        "amount",
    ),
    "a mirror line": (
        Posting(PROVINCE_ADJUSTMENT, Line.FROM_LOWER, 100, date(2024, 6, 30), "BAD-1"),
        "line",
    ),
    "a draw out of a pool": (
        Posting(
            CITY,
            Line.TO_LOWER,
            100,
            date(2024, 6, 30),
            "BAD-1",
            counterparty=FundId.parse("resident:140105"),
            purpose=Purpose.ADJUSTMENT_DRAW,
        ),
        "fund",
    ),
}


@PROPERTY_SETTINGS
@given(history=histories(), bad=st.sampled_from(sorted(BAD_ROWS)), data=st.data())
def test_a_file_with_any_bad_row_writes_nothing(
    history: list[Step], bad: str, data: st.DataObject
) -> None:
    good = [s.posting for s in history]
    position = data.draw(st.integers(min_value=0, max_value=len(good)), label="position")
    bad_row, field = BAD_ROWS[bad]
    rows = [*good[:position], bad_row, *good[position:]]
    with fresh_ledger() as ledger:
        assert ledger.post(PRIOR).status == "posted"
        before, versions_before = statements(ledger), versions(ledger)
        with pytest.raises(RowErrors) as raised:
            ledger.import_postings(rows, chunk=3)
        assert [(e.index, e.error.field) for e in raised.value.errors] == [(position, field)]
        assert versions(ledger) == versions_before
        assert statements(ledger) == before
        # the ledger holds nothing of the refused file: the good rows alone all post now
        report = ledger.import_postings(good)
        assert (report.posted, report.duplicates) == (len(good), 0)


@PROPERTY_SETTINGS
@given(history=histories(), data=st.data())
def test_a_reversal_nets_its_posting_to_zero(history: list[Step], data: st.DataObject) -> None:
    kind = data.draw(st.sampled_from(["external", "levy", "draw", "transfer", "merge"]))
    x = data.draw(one_step("X-1", kind), label="x")
    undo_date = data.draw(
        st.builds(
            date,
            st.just(x.posting.value_date.year),
            st.integers(min_value=1, max_value=12),
            st.integers(min_value=1, max_value=28),
        ),
        label="undo date",
    )
    undo = reversal_of(x, "X-1R", undo_date)
    at = data.draw(st.integers(min_value=0, max_value=len(history)), label="x at")
    undo_at = data.draw(st.integers(min_value=at, max_value=len(history)), label="undo at")
    with_x = [*history[:at], x, *history[at:undo_at], undo, *history[undo_at:]]
    with fresh_ledger() as plain, fresh_ledger() as reversed_:
        post_all(plain, history, batch=False)
        post_all(reversed_, with_x, batch=data.draw(st.booleans(), label="batch"))
        for fund in FUNDS:
            assert balance(reversed_, fund) == balance(plain, fund)
            for year in YEARS:
                a = statement_for(plain, fund, year)
                b = statement_for(reversed_, fund, year)
                assert nonzero(b.lines_fen) == nonzero(a.lines_fen), (fund, year)
                assert b.opening_balance_fen == a.opening_balance_fen
                assert b.opening_balance_transfers_fen == a.opening_balance_transfers_fen
                assert b.closing_balance_fen == a.closing_balance_fen


def fen(text: str) -> int:
    return parse_yuan(text)


@PROPERTY_SETTINGS
@given(history=histories())
def test_the_statement_adds_up(history: list[Step]) -> None:
    income_lines = ("contribution", "subsidy", "interest", "other_income", "transfer_in")
    expense_lines = ("benefit", "critical_illness", "other_expense", "transfer_out")
    model = model_years(history)
    with fresh_ledger() as ledger:
        post_all(ledger, history, batch=False)
        for fund in FUNDS:
            previous_closing = OPENING_FEN[fund]
            for year in YEARS:
                data = statement_for(ledger, fund, year).to_json()
                income, expense = data["income"], data["expense"]
                assert fen(income["subtotal"]) == sum(fen(income[k]) for k in income_lines)
                assert fen(income["total"]) == fen(income["subtotal"]) + fen(
                    income["from_upper"]
                ) + fen(income["from_lower"])
                assert fen(expense["subtotal"]) == sum(fen(expense[k]) for k in expense_lines)
                assert fen(expense["total"]) == fen(expense["subtotal"]) + fen(
                    expense["to_lower"]
                ) + fen(expense["to_upper"])
                assert fen(data["current_surplus"]) == fen(income["total"]) - fen(expense["total"])
                assert fen(data["opening_balance"]) == previous_closing
                assert fen(data["closing_balance"]) == (
                    fen(data["opening_balance"])
                    + fen(data["opening_balance_transfers"])
                    + fen(data["current_surplus"])
                )
                statement = statement_for(ledger, fund, year)
                expected = model[(fund, year)]
                assert nonzero(statement.lines_fen) == nonzero(expected.lines_fen)
                assert statement.opening_balance_transfers_fen == expected.transfers_fen
                for side in (income, expense):  # every posted key is shown, with its total
                    for key, value in side.items():
                        if key not in ("subtotal", "total"):
                            assert fen(value) == statement.lines_fen.get(key, 0), key
                previous_closing = fen(data["closing_balance"])
            assert previous_closing == balance(ledger, fund)


# ------------------------------------------------------------ all or none, on every backend


def test_an_import_is_all_or_none_when_another_writer_moves_a_fund_between_chunks(
    ledger: Ledger,
) -> None:
    ledger.open_fund(CITY, first_year=2024)
    rows = [
        Posting(CITY, Line.INTEREST, 100, date(2024, 1, day), f"I-{day}") for day in range(1, 5)
    ]
    other = Posting(CITY, Line.BENEFIT, 500, date(2024, 2, 1), "OTHER")
    outcomes: list[str] = []
    writer = threading.Thread(target=lambda: outcomes.append(ledger.post(other).status))

    def progress(done: int) -> None:
        if done == 2:  # the first chunk is written: another writer posts meanwhile
            writer.start()
            writer.join(timeout=0.3)  # it may wait for the import's transaction

    with contextlib.suppress(DomainError):  # a refusal is fine, provided it wrote nothing
        ledger.import_postings(rows, chunk=2, progress=progress)
    writer.join()
    assert outcomes == ["posted"]
    ledger.province("140000").forget_cached([CITY.aggregate_id])
    posted = {getattr(e, "reference", None) for e in ledger.fund_events(CITY)} - {None, "OTHER"}
    assert posted in (set(), {p.reference for p in rows})


@contextmanager
def another_writer_after_the_check(ledger: Ledger, *postings: Posting) -> Iterator[None]:
    """Post ``postings`` once the import has checked its rows, before it writes them."""
    app = ledger.province("140000")
    check_many = app.check_many
    calls = 0

    def check_then_post(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        checked = check_many(*args, **kwargs)
        calls += 1
        if calls == 1:
            for posting in postings:
                assert ledger.post(posting).status == "posted"
        return checked

    app.check_many = check_then_post  # type: ignore[method-assign]
    try:
        yield
    finally:
        del app.check_many


def test_an_import_checks_again_and_writes_when_another_writer_moved_its_fund(
    ledger: Ledger,
) -> None:
    ledger.open_fund(CITY, first_year=2024)
    rows = [
        Posting(CITY, Line.INTEREST, 100, date(2024, 1, day), f"I-{day}") for day in range(1, 5)
    ]
    same = rows[2]
    other = Posting(CITY, Line.BENEFIT, 500, date(2024, 2, 1), "OTHER")
    with another_writer_after_the_check(ledger, other, same):
        report = ledger.import_postings(rows, chunk=2)
    assert (report.posted, report.duplicates) == (3, 1)
    ledger.province("140000").forget_cached([CITY.aggregate_id])
    references = [getattr(e, "reference", None) for e in ledger.fund_events(CITY)]
    assert references == [None, "OTHER", "I-3", "I-1", "I-2", "I-4"]
    assert all(link.ok for link in ledger.chain(CITY))


def test_an_import_refuses_a_reference_another_writer_took_meanwhile_and_writes_nothing(
    ledger: Ledger,
) -> None:
    ledger.open_fund(CITY, first_year=2024)
    rows = [
        Posting(CITY, Line.INTEREST, 100, date(2024, 1, day), f"I-{day}") for day in range(1, 5)
    ]
    clash = replace(rows[1], amount_fen=999)
    with another_writer_after_the_check(ledger, clash), pytest.raises(RowErrors) as raised:
        ledger.import_postings(rows, chunk=2)
    assert [(e.index, e.error.field) for e in raised.value.errors] == [(1, "reference")]
    assert raised.value.written == ()
    ledger.province("140000").forget_cached([CITY.aggregate_id])
    references = [getattr(e, "reference", None) for e in ledger.fund_events(CITY)]
    assert references == [None, "I-2"]
