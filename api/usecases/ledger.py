"""The ledger's use cases: init, funds, postings (one or a batch), enrolment, close (a fund's
history is in :mod:`api.usecases.history`).

One function per capability, called alike by the CLI and the HTTP routers (docs/architecture.md).
Each asks :func:`domain.access.authorize` first, with the region of the fund it concerns, and
answers a plain result that both adapters render. Postings of a batch come from the one parser
of :mod:`api.postings_csv`, whether they arrived as a file, an upload or a JSON array.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from domain.access import AccessDenied, Action, Principal, authorize
from domain.errors import Conflict, InvalidInput, ReferenceConflict
from domain.funds import FundId
from domain.money import format_fen
from domain.postings import refuse_value_date_after
from domain.today import china_today

if TYPE_CHECKING:
    from api.bootstrap import App
    from api.postings_csv import FileProblem, ParsedFile
    from domain.ledger import PostingOutcome
    from domain.postings import Posting
    from domain.vouchers import Voucher


def init(app: App, who: Principal) -> int:
    """Create every table of a new store; answers how many provinces' tables exist.

    Only the operator at the server's command line creates a store.
    """
    if not who.is_operator:
        raise AccessDenied(f"{who.name}: a store is created at the server's command line")
    return app.init()


@dataclass(frozen=True)
class OpenedFund:
    """A fund as registered, and whether this request registered it."""

    fund: str
    first_year: int
    opening_balance_fen: int
    name: str
    created: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "fund": self.fund,
            "first_year": self.first_year,
            "opening_balance": format_fen(self.opening_balance_fen),
            "name": self.name,
        }


def open_fund(
    app: App,
    who: Principal,
    fund: FundId,
    *,
    first_year: int,
    opening_balance_fen: int = 0,
    name: str = "",
) -> OpenedFund:
    """Register a fund; the same particulars again answer the fund already open.

    Raises:
        AccessDenied: the caller may not open funds of the fund's region.
        FundAlreadyRegistered: the fund is open with other particulars.
    """
    authorize(who, Action.OPEN_FUND, fund.region)
    opened, created = app.ledger.open_fund(
        fund,
        first_year=first_year,
        opening_balance_fen=opening_balance_fen,
        name=name,
        author=who.author,
    )
    return OpenedFund(
        str(fund), opened.first_year, opened.opening_balance_fen, opened.name, created
    )


@dataclass(frozen=True)
class PostedOne:
    """What became of one posting: ``posted`` now, or a ``duplicate`` of the original."""

    duplicate: bool
    posting: dict[str, Any]
    """The posting as recorded (JSON: money as yuan strings) with the fund's version."""


def post(app: App, who: Principal, posting: Posting, *, restate: bool = False) -> PostedOne:
    """Post one posting; the same reference and content again is a duplicate, not a write.

    Raises:
        AccessDenied: the paying fund lies outside the caller's region (the mirror of a pair
            is written on the counterparty by the ledger, under the payer's authority).
        ReferenceConflict: the reference was posted with other content; ``problems`` name
            each field that differs.
    """
    authorize(who, Action.WRITE, posting.fund.region)
    refuse_value_date_after(posting, china_today())
    try:
        outcome = app.ledger.post(replace(posting, author=who.author), restate=restate)
    except ReferenceConflict as error:
        raise _conflict_naming_fields(app, posting, error) from None
    return _posted(app, posting, outcome)


async def post_async(
    app: App, who: Principal, posting: Posting, *, restate: bool = False
) -> PostedOne:
    """:func:`post` for a caller on an event loop (the HTTP route): it waits for its save
    there instead of holding a thread (``Ledger.post_async``); the same checks, answers and
    refusals.
    """
    authorize(who, Action.WRITE, posting.fund.region)
    refuse_value_date_after(posting, china_today())
    try:
        outcome = await app.ledger.post_async(replace(posting, author=who.author), restate=restate)
    except ReferenceConflict as error:
        raise await asyncio.to_thread(_conflict_naming_fields, app, posting, error) from None
    return _posted(app, posting, outcome)


def _posted(app: App, posting: Posting, outcome: PostingOutcome) -> PostedOne:
    if outcome.status != "duplicate":
        app.read_models.wake()
    return PostedOne(outcome.status == "duplicate", _posting_json(posting, outcome.voucher))


def _posting_json(posting: Posting, voucher: Voucher) -> dict[str, Any]:
    content = posting.content()
    amount_fen = content.pop("amount_fen")
    return {**content, "amount": format_fen(amount_fen), "version": voucher.fund_version}


def _conflict_naming_fields(app: App, posting: Posting, error: ReferenceConflict) -> Conflict:
    """The conflict, with one problem per field whose content differs from the original."""
    original = _recorded_content(app, posting)
    if original is None:
        return error
    given = posting.content()
    given["amount"] = format_fen(given.pop("amount_fen"))
    differing = [key for key in given if key != "fund" and given[key] != original.get(key)]
    problems = tuple(
        f"{key}: the original has {original.get(key)!r}, this request {given[key]!r}"
        for key in differing
    )
    return ReferenceConflict(error.message, field="reference", problems=problems)


def _recorded_content(app: App, posting: Posting) -> dict[str, Any] | None:
    """The content of the posting recorded under the same reference, from its event."""
    for event in app.ledger.fund_events(posting.fund):
        if getattr(event, "reference", None) != posting.reference:
            continue
        line = getattr(type(event), "LINE", None)
        return {
            "line": getattr(event, "line", None) or (line.value if line else None),
            "amount": format_fen(event.amount_fen),  # type: ignore[attr-defined]
            "value_date": getattr(event, "value_date", None),
            "reference": posting.reference,
            "sub_line": getattr(event, "sub_line", None),
            "level": getattr(event, "level", None),
            "county": getattr(event, "county", None),
            "counterparty": getattr(event, "counterparty", None),
            "purpose": getattr(event, "purpose", None),
            "reverses": getattr(event, "reverses", None),
            "memo": getattr(event, "memo", None),
        }
    return None


class BatchRefused(InvalidInput):
    """Rows of a batch were refused; ``rows`` says where (line) and what (field, reason).

    Nothing was written, unless ``written`` names provinces written in full before a later
    province's rows were refused at their write (another writer moved its funds meanwhile).
    """

    def __init__(self, rows: list[FileProblem], written: tuple[str, ...] = ()) -> None:
        name = rows[0].path if rows else "batch"
        if written:
            tail = (
                f"{name}: {len(rows)} problem(s) found while writing; the rows of provinces "
                f"{', '.join(written)} were written, nothing of the others: fix the rows and "
                "send the same batch again (rows already written count as duplicates)"
            )
        else:
            tail = f"{name}: {len(rows)} problem(s); nothing was written"
        super().__init__(tail, field="rows", problems=tuple(str(r) for r in rows))
        self.rows = rows
        self.written = written


@dataclass(frozen=True)
class PostedBatch:
    """What a batch did: postings written, and rows that repeated one already posted."""

    accepted: int
    duplicates: int

    def to_json(self) -> dict[str, int]:
        return {"accepted": self.accepted, "duplicates": self.duplicates}


def post_batch(
    app: App,
    who: Principal,
    parsed: ParsedFile,
    *,
    restate: bool = False,
    chunk: int = 2_000,
    progress: Callable[[int], None] = lambda _: None,
) -> PostedBatch:
    """Post every row of a parsed batch, all or none (docs/contract.md, "Postings file").

    Every row is checked, by the parser and then by the ledger, before anything is written,
    so one refusal lists the problems of every bad row.

    Raises:
        AccessDenied: a row's fund lies outside the caller's region.
        BatchRefused: every bad row, by its line.
    """
    from api.postings_csv import FileProblem
    from domain.ledger_service import RowErrors

    for region in sorted({p.fund.region for p in parsed.postings}):
        authorize(who, Action.WRITE, region)
    problems = list(parsed.problems)
    today = china_today()
    for index, posting in enumerate(parsed.postings):
        try:
            refuse_value_date_after(posting, today)
        except InvalidInput as error:
            problems.append(
                FileProblem(parsed.name, parsed.lines[index], "value_date", error.message)
            )
    try:
        if problems:
            app.ledger.import_postings(parsed.postings, dry_run=True, restate=restate)
            report = None
        else:
            report = app.ledger.import_postings(
                parsed.postings,
                chunk=chunk,
                restate=restate,
                progress=progress,
                author=who.author,
            )
    except RowErrors as error:
        problems.extend(
            FileProblem(
                parsed.name, parsed.lines[row.index], row.error.field or "row", row.error.message
            )
            for row in error.errors
        )
        raise BatchRefused(sorted(problems, key=lambda p: p.line), error.written) from None
    if report is None:
        raise BatchRefused(sorted(problems, key=lambda p: p.line))
    app.read_models.written()
    return PostedBatch(report.posted, report.duplicates)


@dataclass(frozen=True)
class Enrolment:
    """A county's enrolment as recorded; ``previous`` the figure it replaced (if any)."""

    fund: str
    year: int
    county: str
    enrolled: int
    previous: int | None

    @property
    def unchanged(self) -> bool:
        """True when the same figure was already on record (nothing was written)."""
        return self.previous == self.enrolled

    def to_json(self) -> dict[str, Any]:
        status = "unchanged" if self.unchanged else "corrected" if self.previous else "recorded"
        return {
            "fund": self.fund,
            "year": self.year,
            "county": self.county,
            "enrolled": self.enrolled,
            "previous": self.previous,
            "status": status,
        }


def record_enrolment(
    app: App,
    who: Principal,
    fund: FundId,
    *,
    year: int,
    county: str,
    enrolled: int,
    correct: bool = False,
) -> Enrolment:
    """Record how many residents a county enrolled (docs/domain.md, "Subsidies and enrolment").

    The same figure again records nothing; another one is refused unless ``correct``.
    """
    from domain.regions import check_region

    authorize(who, Action.WRITE, fund.region)
    check_region(county, field="county")
    before = app.ledger.find_fund(fund)
    previous = None if before is None else before.enrolled_in(year, county)
    app.ledger.record_enrolment(fund, year, county, enrolled, correct=correct, author=who.author)
    app.read_models.fresh(provinces=(fund.province,))
    return Enrolment(str(fund), year, county, enrolled, previous)


def close_year(app: App, who: Principal, fund: FundId, year: int) -> dict[str, Any]:
    """Approve a fund's final accounts (决算) for a year: later postings are restatements."""
    authorize(who, Action.WRITE, fund.region)
    closed = app.ledger.close_year(fund, year, author=who.author)
    from api.usecases.audit import seal_after_close

    seal_after_close(app, fund, year, who.author)  # closing a year seals it (audit.md)
    app.read_models.fresh(provinces=(fund.province,))
    return {"fund": str(fund), "year": year, "closed": True, "version": closed.version}
