"""The fund aggregate: one per fund, every movement of its cash an immutable event.

Commands (plain methods) check every rule and raise a domain error; the events' ``apply``
methods only assign state, because they run again on every replay. Every event carries the
hash chain of :mod:`domain.chain`. Event classes have explicit topics, so that the modules
may move without breaking stored events: the topics are forever.

Every event records who made it (``recorded_by``, ``request_id``) from class version 2 on;
events stored before are upcast with both None (:mod:`domain.authored`), and a fund's
snapshots are unchanged (the fund's own state does not hold the author).
"""

from __future__ import annotations

from collections.abc import Mapping
from copy import deepcopy
from datetime import date, datetime
from types import MappingProxyType
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.authored import AUTHORED_CLASS_VERSION, author_fields, upcast_without_author
from domain.authorship import Author
from domain.chain import GENESIS_HASH, chain_hash
from domain.errors import InvalidInput, PostingRefused
from domain.funds import FundId
from domain.lines import MIRROR, Line, sign_of
from domain.pooling import refuse_county_fund_under_municipal_pooling
from domain.postings import Posting
from domain.regions import contains
from domain.vouchers import Voucher

EARLIEST_FIRST_YEAR = 1998
MAX_ENROLLED = 100_000_000
LATEST_FIRST_YEAR = 2100


_NO_ENROLMENT: Mapping[str, int] = MappingProxyType({})


def enrolment_key(year: int, county: str) -> str:
    """The key of a county's enrolment for a year in :attr:`Fund.enrolment`."""
    return f"{year}:{county}"


class Fund(Aggregate, created_event_name="Opened"):
    """A fund (docs/domain.md §1), identified by ``scheme:region``."""

    TOPIC = "fundledger:Fund"

    class Event(Aggregate.Event):
        """Every fund event is a link of the fund's hash chain and names who recorded it."""

        TOPIC: ClassVar[str]
        class_version = AUTHORED_CLASS_VERSION
        prev_hash: str
        chain_hash: str
        recorded_by: str | None
        request_id: str | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            upcast_without_author(state)

        def apply(self, aggregate: Any) -> None:
            aggregate.last_hash = self.chain_hash

    class Created(Aggregate.Created):
        """The library's base creation event, named here only to give it a stable topic."""

        TOPIC = "fundledger:Fund.Created"

    class Opened(Created):
        """The fund was registered (funds open)."""

        TOPIC = "fundledger:Fund.Opened"
        class_version = AUTHORED_CLASS_VERSION
        fund: str
        first_year: int
        opening_balance_fen: int
        name: str
        prev_hash: str
        chain_hash: str
        recorded_by: str | None
        request_id: str | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            upcast_without_author(state)

    class Posted(Event):
        """Cash moved on one line of the statement."""

        TOPIC = "fundledger:Fund.Posted"
        LINE: ClassVar[Line]
        reference: str
        amount_fen: int
        value_date: str
        sub_line: str | None
        level: str | None
        county: str | None
        counterparty: str | None
        purpose: str | None
        memo: str | None
        restatement: bool

        def apply(self, aggregate: Any) -> None:
            aggregate.last_hash = self.chain_hash
            aggregate.balance_fen += sign_of(self.LINE) * self.amount_fen

    class ContributionReceived(Posted):
        TOPIC = "fundledger:Fund.ContributionReceived"
        LINE = Line.CONTRIBUTION

    class SubsidyReceived(Posted):
        TOPIC = "fundledger:Fund.SubsidyReceived"
        LINE = Line.SUBSIDY

    class InterestEarned(Posted):
        TOPIC = "fundledger:Fund.InterestEarned"
        LINE = Line.INTEREST

    class OtherIncomeReceived(Posted):
        TOPIC = "fundledger:Fund.OtherIncomeReceived"
        LINE = Line.OTHER_INCOME

    class TransferredIn(Posted):
        TOPIC = "fundledger:Fund.TransferredIn"
        LINE = Line.TRANSFER_IN

    class ReceivedFromUpper(Posted):
        TOPIC = "fundledger:Fund.ReceivedFromUpper"
        LINE = Line.FROM_UPPER

    class ReceivedFromLower(Posted):
        TOPIC = "fundledger:Fund.ReceivedFromLower"
        LINE = Line.FROM_LOWER

    class BenefitPaid(Posted):
        TOPIC = "fundledger:Fund.BenefitPaid"
        LINE = Line.BENEFIT

    class CriticalIllnessPremiumPaid(Posted):
        TOPIC = "fundledger:Fund.CriticalIllnessPremiumPaid"
        LINE = Line.CRITICAL_ILLNESS

    class OtherExpensePaid(Posted):
        TOPIC = "fundledger:Fund.OtherExpensePaid"
        LINE = Line.OTHER_EXPENSE

    class TransferredOut(Posted):
        TOPIC = "fundledger:Fund.TransferredOut"
        LINE = Line.TRANSFER_OUT

    class GrantedToLower(Posted):
        TOPIC = "fundledger:Fund.GrantedToLower"
        LINE = Line.TO_LOWER

    class RemittedToUpper(Posted):
        TOPIC = "fundledger:Fund.RemittedToUpper"
        LINE = Line.TO_UPPER

    class LegacyBalanceTransferredOut(Posted):
        """A legacy fund's balance moved into the merged fund, against the opening balance."""

        TOPIC = "fundledger:Fund.LegacyBalanceTransferredOut"
        LINE = Line.TRANSFER_OUT

    class LegacyBalanceTransferredIn(Posted):
        """The merged fund received a legacy fund's balance, against its opening balance."""

        TOPIC = "fundledger:Fund.LegacyBalanceTransferredIn"
        LINE = Line.TRANSFER_IN

    class PostingReversed(Event):
        """An earlier posting, named by ``reverses``, was undone by a new voucher."""

        TOPIC = "fundledger:Fund.PostingReversed"
        reference: str
        reverses: str
        line: str
        amount_fen: int
        value_date: str
        sub_line: str | None
        level: str | None
        county: str | None
        purpose: str | None
        memo: str | None
        restatement: bool

        def apply(self, aggregate: Any) -> None:
            aggregate.last_hash = self.chain_hash
            aggregate.balance_fen -= sign_of(Line(self.line)) * self.amount_fen

    class YearClosed(Event):
        """The year's final accounts (决算) were approved; later postings are restatements."""

        TOPIC = "fundledger:Fund.YearClosed"
        year: int

        def apply(self, aggregate: Any) -> None:
            aggregate.last_hash = self.chain_hash
            aggregate.closed_years = sorted({*aggregate.closed_years, self.year})

    class EnrolmentRecorded(Event):
        """Residents enrolled in a county of the fund's area for a year (参保人数)."""

        TOPIC = "fundledger:Fund.EnrolmentRecorded"
        year: int
        county: str
        enrolled: int

        def apply(self, aggregate: Any) -> None:
            aggregate.last_hash = self.chain_hash
            key = enrolment_key(self.year, self.county)
            aggregate.enrolment_on_record = {**aggregate.enrolment, key: self.enrolled}

    def __init__(
        self,
        *,
        fund: str,
        first_year: int,
        opening_balance_fen: int,
        name: str,
        prev_hash: str,
        chain_hash: str,
    ) -> None:
        self.fund = fund
        self.first_year = first_year
        self.opening_balance_fen = opening_balance_fen
        self.name = name
        self.balance_fen = opening_balance_fen
        self.last_hash = chain_hash
        self.closed_years: list[int] = []
        del prev_hash

    def __deepcopy__(self, memo: dict[int, Any]) -> Fund:
        """A copy for one command (of the cached fund): immutable values are shared.

        The library's generic deep copy walks every value; a fund's state is a few immutable
        values (ids, numbers, text, times) and small lists, which alone are copied.
        """
        copied = object.__new__(type(self))
        copied.__dict__.update(
            (name, value if type(value) in _IMMUTABLE else deepcopy(value, memo))
            for name, value in self.__dict__.items()
        )
        return copied

    # ----------------------------------------------------------------- commands

    @classmethod
    def open(
        cls,
        fund: FundId,
        *,
        first_year: int,
        opening_balance_fen: int,
        name: str,
        author: Author | None,
    ) -> Fund:
        """Register a fund. Its first year bounds every value date posted to it."""
        if not EARLIEST_FIRST_YEAR <= first_year <= LATEST_FIRST_YEAR:
            raise InvalidInput(
                f"first year {first_year} is outside {EARLIEST_FIRST_YEAR}-{LATEST_FIRST_YEAR}",
                field="first_year",
            )
        refuse_county_fund_under_municipal_pooling(fund, first_year)
        timestamp = cls.Opened.create_timestamp()
        payload: dict[str, Any] = {
            "fund": str(fund),
            "first_year": first_year,
            "opening_balance_fen": opening_balance_fen,
            "name": name,
            "prev_hash": GENESIS_HASH,
            **author_fields(author),
        }
        digest = chain_hash(
            topic=cls.Opened.TOPIC,
            originator_id=fund.aggregate_id,
            originator_version=cls.INITIAL_VERSION,
            timestamp=timestamp,
            payload=payload,
        )
        return cls._create(
            cls.Opened, id=fund.aggregate_id, timestamp=timestamp, chain_hash=digest, **payload
        )

    def post(self, posting: Posting, *, restate: bool = False, author: Author | None) -> None:
        """Record a posting made on this fund (the paying side of a pair, or a single line).

        ``author`` is who the event records: the ledger passes the posting's own author (a
        batch may carry the postings of several callers).
        """
        assert str(posting.fund) == self.fund
        assert posting.reverses is None
        restatement = self.check_can_post(posting.value_date, restate=restate)
        event_class = _EVENT_FOR_LINE[posting.line]
        if posting.is_legacy_merge:
            event_class = Fund.LegacyBalanceTransferredOut
        payload = _posted_payload(posting, posting.reference)
        self._trigger_chained(event_class, {**payload, "restatement": restatement}, author)

    def receive(self, posting: Posting, *, restate: bool = False, author: Author | None) -> None:
        """Record the mirror of a paired posting made by ``posting.fund`` on this fund.

        The mirror's reference is ``paying-fund#reference``: unique on this fund because the
        paying side's reference is unique on the paying fund. The ledger gives it the author of
        the paying side: one posting, one author.
        """
        assert str(posting.counterparty) == self.fund
        restatement = self.check_can_post(posting.value_date, restate=restate)
        mirror_line = MIRROR[posting.line]
        event_class = _EVENT_FOR_LINE[mirror_line]
        if posting.is_legacy_merge:
            event_class = Fund.LegacyBalanceTransferredIn
        payload = _posted_payload(posting, mirror_reference(posting.fund, posting.reference))
        payload["counterparty"] = str(posting.fund)
        self._trigger_chained(event_class, {**payload, "restatement": restatement}, author)

    def reverse(
        self,
        reference: str,
        original: Voucher,
        value_date: date,
        memo: str | None,
        *,
        restate: bool = False,
        author: Author | None,
    ) -> None:
        """Undo an earlier posting on this fund with a new voucher that names it."""
        restatement = self.check_can_post(value_date, restate=restate)
        self._trigger_chained(
            Fund.PostingReversed,
            {
                "reference": reference,
                "reverses": original.reference,
                "line": original.line,
                "amount_fen": original.amount_fen,
                "value_date": value_date.isoformat(),
                "sub_line": original.sub_line,
                "level": original.level,
                "county": original.county,
                "purpose": original.purpose,
                "memo": memo,
                "restatement": restatement,
            },
            author,
        )

    def close_year(self, year: int, *, today: date, author: Author | None) -> None:
        """Approve the year's final accounts (决算): later postings to it are restatements."""
        if year < self.first_year:
            raise PostingRefused(
                f"{self.fund} keeps its books from {self.first_year}, not {year}", field="year"
            )
        if year >= today.year:
            raise PostingRefused(
                f"{year} is not over yet: a year is closed after its last day", field="year"
            )
        if year in self.closed_years:
            raise PostingRefused(f"{self.fund} {year} is already closed", field="year")
        self.check_earlier_years_closed(year)
        self._trigger_chained(Fund.YearClosed, {"year": year}, author)

    def check_earlier_years_closed(self, year: int) -> None:
        """Final accounts are approved year after year (决算逐年审批): a year is closed only
        once every earlier year of the fund's books is, so that a closed year's opening
        balance can move only through a restatement of an earlier closed year, which its
        statement then shows (docs/domain.md §7)."""
        open_before = [y for y in range(self.first_year, year) if y not in self.closed_years]
        if open_before:
            raise PostingRefused(
                f"{self.fund} {open_before[0]} is not closed yet: close the years in order, "
                f"{open_before[0]} before {year}",
                field="year",
            )

    def record_enrolment(
        self,
        year: int,
        county: str,
        enrolled: int,
        *,
        correct: bool = False,
        author: Author | None,
    ) -> bool:
        """Record how many residents a county enrolled for a year (the latest record counts).

        Idempotent: the figure already on record for the county and year records nothing
        (answers False). Another figure is refused unless ``correct`` says it corrects the
        one on record; the correction is a new event, the earlier figure stays in the history.
        """
        if year < self.first_year:
            raise PostingRefused(
                f"{self.fund} keeps its books from {self.first_year}, not {year}", field="year"
            )
        region = self.fund_id.region
        if county != region and not contains(region, county):
            raise InvalidInput(
                f"{county!r} is not inside the fund's region {region}", field="county"
            )
        if not 0 <= enrolled <= MAX_ENROLLED:
            raise InvalidInput(f"enrolment must be 0 to {MAX_ENROLLED}", field="enrolled")
        if year in self.closed_years:
            raise PostingRefused(
                f"{self.fund} {year} is closed: its enrolment, on which the subsidy due rests, "
                "is final",
                field="year",
            )
        on_record = self.enrolment.get(enrolment_key(year, county))
        if on_record == enrolled:
            return False
        if on_record is not None and not correct:
            raise PostingRefused(
                f"{self.fund} {year}: {county} already has {on_record} residents enrolled on "
                f"record, not {enrolled}: record it as a correction (--correct) to replace it",
                field="enrolled",
            )
        self._trigger_chained(
            Fund.EnrolmentRecorded,
            {"year": year, "county": county, "enrolled": enrolled},
            author,
        )
        return True

    @property
    def enrolment(self) -> Mapping[str, int]:
        """The latest enrolment on record per ``year:county`` (read from the instance's
        state, so that snapshots taken before it was kept still load: empty until then)."""
        on_record: Mapping[str, int] = self.__dict__.get("enrolment_on_record", _NO_ENROLMENT)
        return on_record

    def enrolled_in(self, year: int, county: str) -> int | None:
        """The enrolment on record for a county and year (None when none was recorded)."""
        return self.enrolment.get(enrolment_key(year, county))

    @property
    def fund_id(self) -> FundId:
        """The fund's business identity."""
        return FundId.parse(self.fund)

    # ----------------------------------------------------------------- helpers

    def check_can_post(self, value_date: date, *, restate: bool = False) -> bool:
        """Refuse a value date this fund's books do not cover; True for a restatement.

        docs/domain.md §7: after a year's final accounts are approved, a change to that year is a
        restatement, recorded only when the caller says so (``import --restate``).
        """
        if value_date.year < self.first_year:
            raise PostingRefused(
                f"{self.fund} keeps its books from {self.first_year}; "
                f"{value_date.isoformat()} is before that",
                field="value_date",
            )
        if value_date.year in self.closed_years:
            if not restate:
                raise PostingRefused(
                    f"{self.fund} {value_date.year} is closed: import with --restate to record "
                    "a restatement of that year",
                    field="value_date",
                )
            return True
        return False

    def _trigger_chained(
        self, event_class: type[Fund.Event], payload: dict[str, Any], author: Author | None
    ) -> None:
        """Trigger one link of the chain: its hash covers the payload and who recorded it."""
        timestamp: datetime = event_class.create_timestamp()
        payload = {**payload, "prev_hash": self.last_hash, **author_fields(author)}
        digest = chain_hash(
            topic=event_class.TOPIC,
            originator_id=self.id,
            originator_version=self.version + 1,
            timestamp=timestamp,
            payload=payload,
        )
        self.trigger_event(event_class, timestamp=timestamp, chain_hash=digest, **payload)


_IMMUTABLE = frozenset({int, str, bool, type(None), UUID, datetime, date})
"""Types of a fund's values that a copy shares instead of copying."""

_EVENT_FOR_LINE: dict[Line, type[Fund.Posted]] = {
    cls.LINE: cls
    for cls in (
        Fund.ContributionReceived,
        Fund.SubsidyReceived,
        Fund.InterestEarned,
        Fund.OtherIncomeReceived,
        Fund.TransferredIn,
        Fund.ReceivedFromUpper,
        Fund.ReceivedFromLower,
        Fund.BenefitPaid,
        Fund.CriticalIllnessPremiumPaid,
        Fund.OtherExpensePaid,
        Fund.TransferredOut,
        Fund.GrantedToLower,
        Fund.RemittedToUpper,
    )
}
assert len(_EVENT_FOR_LINE) == len(Line)


def mirror_reference(paying: FundId, reference: str) -> str:
    """The reference under which a pair's mirror is recorded on the receiving fund."""
    return f"{paying}#{reference}"


def _posted_payload(posting: Posting, reference: str) -> dict[str, Any]:
    return {
        "reference": reference,
        "amount_fen": posting.amount_fen,
        "value_date": posting.value_date.isoformat(),
        "sub_line": posting.sub_line,
        "level": posting.level.value if posting.level else None,
        "county": posting.county,
        "counterparty": str(posting.counterparty) if posting.counterparty else None,
        "purpose": posting.purpose.value if posting.purpose else None,
        "memo": posting.memo,
    }
