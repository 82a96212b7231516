"""The read models of every database the ledger uses, behind one façade."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, Protocol

from domain.errors import DomainError
from domain.funds import FundId
from domain.today import china_today
from projections.monthly import MonthFigures, monthly_figures
from projections.policy import Policy, load_policy
from projections.queries import View, read_statement, summed_postings
from projections.ratios_report import statement_warnings
from projections.runner import Projector, ProvinceStatus
from projections.schema import tables_exist
from projections.statement import Statement


class ProjectionsNotInitialised(DomainError):
    """The read-model tables do not exist yet: ``fundledger init`` creates them."""


class Follower(Protocol):
    """A projector applying events in the background (a server's; the CLI has none)."""

    def wait_for(self, heads: Mapping[str, int]) -> bool:
        """Wait (bounded) until each province's position has reached its head; False when
        it did not, and the caller catches up itself."""

    def wake(self) -> None:
        """Events were just recorded: apply them soon."""


PhaseObserver = Callable[[str, float], None]
"""Told the seconds of each phase of a read: ``wait`` (for the follower), ``catch_up`` (the
read's own, when the follower did not get there in time) and ``query``."""


class ReadModels:
    """Routes each province to the projector of the database that holds its events."""

    def __init__(self, projectors: Sequence[Projector]) -> None:
        self.projectors = tuple(projectors)
        self._by_province = {p: proj for proj in self.projectors for p in proj.provinces}
        self.follower: Follower | None = None
        self.observe: PhaseObserver = lambda _phase, _seconds: None

    def fresh(self, provinces: Sequence[str] | None = None, *, fund: FundId | None = None) -> None:
        """Make the read models hold every event recorded before this call (of
        ``provinces`` only, when given; of ``fund`` only, when given: for a read of that
        fund's own rows): a posting acknowledged before a read is in it.

        Without a follower this catches up (the province of ``fund``). With one, it takes the
        provinces' heads, or the fund's last event, and then their positions (two queries per
        database); a province not yet applied up to there is waited for, until the follower
        has passed it, catching up itself only when the follower did not in time. So a read of
        one fund waits only while its own events are being applied, not for the other funds'
        postings of its province (docs/architecture.md, "Read side").
        """
        if fund is not None:
            provinces = (fund.province,)
        if self.follower is None:
            self.catch_up(provinces=provinces)
            return
        self.check_initialised()
        heads: dict[str, int] = {}
        for projector in self.projectors:
            projector.prepare()  # an older store's new tables, before any query reads them
            mine = [p for p in projector.provinces if provinces is None or p in provinces]
            if mine:
                if fund is None:
                    found = projector.source.heads(mine)
                else:
                    head = projector.source.fund_head(fund.province, fund.aggregate_id)
                    found = {fund.province: head}
                applied = projector.positions()  # after the heads: reached means applied
                heads.update((p, h) for p, h in found.items() if applied.get(p, 0) < h)
        started = time.perf_counter()
        passed = self.follower.wait_for(heads)
        waited = time.perf_counter()
        self.observe("wait", waited - started)
        if not passed:
            self.catch_up(provinces=provinces)
            self.observe("catch_up", time.perf_counter() - waited)

    def wake(self) -> None:
        """Events were just recorded: the follower (if any) applies them soon."""
        if self.follower is not None:
            self.follower.wake()

    def written(self) -> None:
        """Events were just recorded: the follower applies them soon; without a follower
        they are applied now (the CLI's import leaves its read models caught up)."""
        if self.follower is None:
            self.catch_up()
        else:
            self.follower.wake()

    def for_province(self, province: str) -> Projector:
        return self._by_province[province]

    def create_tables(self) -> None:
        for projector in self.projectors:
            projector.create_tables()

    def check_initialised(self) -> None:
        for projector in self.projectors:
            if not tables_exist(projector.db):
                raise ProjectionsNotInitialised(
                    "this store has no read-model tables yet: run 'fundledger init' first"
                )

    def catch_up(
        self,
        progress: Callable[[int], None] = lambda _: None,
        provinces: Sequence[str] | None = None,
    ) -> int:
        """Apply every event not yet applied, in every database (of ``provinces`` only, when
        given)."""
        self.check_initialised()
        done = 0
        projectors = (
            self.projectors
            if provinces is None
            else list(dict.fromkeys(self.for_province(p) for p in provinces))
        )
        for projector in projectors:

            def report(count: int, base: int = done) -> None:
                progress(base + count)

            done += projector.catch_up(report, provinces)
        return done

    def status(self) -> list[ProvinceStatus]:
        self.check_initialised()
        return [s for projector in self.projectors for s in projector.status()]

    def rebuild(self, progress: Callable[[int], None] = lambda _: None) -> int:
        self.check_initialised()
        done = 0
        for projector in self.projectors:

            def report(count: int, base: int = done) -> None:
                progress(base + count)

            done += projector.rebuild(report)
        return done

    def summed_postings(
        self, province: str, funds: Sequence[str]
    ) -> dict[str, list[tuple[Any, ...]]]:
        """The postings of ``funds`` (of ``province``) summed for every statement of theirs,
        after applying every event recorded so far (:func:`summed_postings`)."""
        self.fresh(provinces=(province,))
        return summed_postings(self.for_province(province).db, funds)

    def statement(
        self,
        fund: FundId,
        year: int,
        *,
        view: View = "restated",
        as_of: str | None = None,
        policy: Policy | None = None,
        today: date | None = None,
        from_postings: bool = False,
        summed: Sequence[tuple[Any, ...]] | None = None,
    ) -> Statement:
        """A fund's statement, after applying every event recorded so far, with its warnings.

        The accumulated balance rate's denominator and the warnings follow ``policy`` (the
        province's own file when not given). The warnings are those of docs/domain.md §3
        (:func:`statement_warnings`): a complete year is judged on its own figures, an
        incomplete one on the trailing 12 months, never on the year to date alone. "Complete"
        is judged on ``today``, or, for an ``as_of`` statement, on the day of ``as_of`` in
        China Standard Time (the funds' fiscal calendar). ``from_postings``: summed from
        ``fl_postings`` even where ``fl_sums`` answers, ``summed``: from the fund's sums of
        :meth:`summed_postings` (:func:`read_statement`).
        """
        self.fresh(fund=fund)
        started = time.perf_counter()
        db = self.for_province(fund.province).db
        statement = read_statement(
            db,
            str(fund),
            year,
            view=view,
            as_of=as_of,
            from_postings=from_postings,
            summed=summed,
        )
        policy = policy or load_policy(fund.province)
        statement.accumulated_balance_denominator = policy.accumulated_balance_denominator
        if today is None:
            today = china_date(as_of) if as_of else china_today()
        statement.warnings = statement_warnings(statement, policy, db=db, today=today)
        self.observe("query", time.perf_counter() - started)
        return statement

    def monthly(
        self, fund: FundId, *, from_year: int | None = None, to_year: int | None = None
    ) -> list[MonthFigures]:
        """A fund's months (:func:`monthly_figures`), after applying every event so far; months
        of coverage over what the province's policy divides by."""
        self.fresh(fund=fund)
        db = self.for_province(fund.province).db
        denominator = load_policy(fund.province).months_of_coverage_denominator
        return monthly_figures(
            db, str(fund), from_year=from_year, to_year=to_year, denominator=denominator
        )

    def close(self) -> None:
        for projector in self.projectors:
            projector.source.close()
            projector.db.close()


CHINA_STANDARD_TIME = timezone(timedelta(hours=8), "CST")
"""The funds' fiscal calendar: a year ends at midnight in Beijing, not in UTC."""


def china_date(moment: str) -> date:
    """The calendar day in China of an ISO 8601 time (UTC when it names no offset)."""
    parsed = datetime.fromisoformat(moment)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(CHINA_STANDARD_TIME).date()
