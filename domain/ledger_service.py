"""The ledger across provinces: routes each command to its province's ledger.

Each province is its own eventsourcing application with its own tables, so that writes of
two provinces never contend and a province can be moved to a server of its own by
configuration alone (``env_for`` answers each province's storage settings).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol

from domain.audit import ChainLink
from domain.authorship import Author
from domain.errors import ConcurrentWrites, DomainError, FundNotRegistered
from domain.fund import Fund
from domain.funds import FundId
from domain.group_commit import BatchObserver, GroupCommitter
from domain.ledger import (
    IMPORT_ATTEMPTS,
    PostingOutcome,
    ProvinceLedger,
    RowError,
    named_funds,
)
from domain.postings import Posting
from domain.regions import PROVINCES

EnvFor = Callable[[str], dict[str, str]]


class NotInitialised(DomainError):
    """The store has no tables yet: ``fundledger init`` creates them."""


class RowErrors(DomainError):
    """Some postings of a request were refused; nothing was written.

    In an import spanning provinces, ``written`` names the provinces already written (in
    full) before a later province's postings were refused at its write (another writer moved
    its funds after the check); nothing of the refused province or the later ones was written.
    """

    def __init__(self, errors: list[RowError], written: Sequence[str] = ()) -> None:
        if written:
            message = (
                f"{len(errors)} posting(s) refused; provinces {', '.join(written)} were "
                "written in full before, nothing of the others"
            )
        else:
            message = f"{len(errors)} posting(s) refused; nothing was written"
        super().__init__(message)
        self.errors = errors
        self.written = tuple(written)


@dataclass(frozen=True)
class ImportReport:
    """What an import did."""

    posted: int
    duplicates: int


class Ledger:
    """Every province's ledger, created on first use, from one storage configuration."""

    def __init__(self, env_for: EnvFor) -> None:
        self._env_for = env_for
        self._provinces: dict[str, ProvinceLedger] = {}
        self._committers: dict[str, GroupCommitter] = {}
        self._opening = threading.Lock()
        self._on_batch: BatchObserver | None = None

    def province(self, code: str) -> ProvinceLedger:
        """The ledger of a province, refusing a store that was never initialised."""
        try:
            return self._provinces[code]
        except KeyError:
            pass
        with self._opening:  # one ProvinceLedger (one cache, one committer) per province
            if code in self._provinces:
                return self._provinces[code]
            app = ProvinceLedger(code, env={**self._env_for(code), "CREATE_TABLE": "n"})
            if not app.vouchers.tables_exist():
                app.close()
                raise NotInitialised("this store has no tables yet: run 'fundledger init' first")
            self._committers[code] = GroupCommitter(app, self._on_batch)
            self._provinces[code] = app
        return app

    def committer(self, code: str) -> GroupCommitter:
        """The write path of a province (docs/architecture.md, "Group commit")."""
        self.province(code)
        return self._committers[code]

    @contextmanager
    def writing(self, code: str) -> Iterator[ProvinceLedger]:
        """Hold a province's writes while a command writes it other than by :meth:`post`
        (its fund cache is not safe to share between two writing threads)."""
        with self.committer(code).exclusive():
            yield self._provinces[code]

    def observe_batches(self, on_batch: BatchObserver | None) -> None:
        """Tell ``on_batch`` the size of every group-commit batch saved from now on."""
        with self._opening:
            self._on_batch = on_batch
            for committer in self._committers.values():
                committer.on_batch = on_batch

    def init(self, provinces: Sequence[str] = tuple(PROVINCES)) -> int:
        """Create every province's tables, one after another; answer how many provinces."""
        for code in provinces:
            if code in self._provinces:
                continue
            ProvinceLedger(code, env={**self._env_for(code), "CREATE_TABLE": "y"}).close()
        return len(provinces)

    def is_initialised(self) -> bool:
        """True when the store's tables exist (checked on one province)."""
        try:
            self.province(next(iter(PROVINCES)))
        except NotInitialised:
            return False
        return True

    def open_fund(
        self,
        fund: FundId,
        *,
        first_year: int,
        opening_balance_fen: int = 0,
        name: str = "",
        author: Author | None = None,
    ) -> tuple[Fund, bool]:
        """Register a fund (idempotent for the same particulars), recording ``author``."""
        with self.writing(fund.province) as app:
            return app.open_fund(
                fund,
                first_year=first_year,
                opening_balance_fen=opening_balance_fen,
                name=name,
                author=author,
            )

    def find_fund(self, fund: FundId) -> Fund | None:
        """A registered fund, or None."""
        return self.province(fund.province).find_fund(fund)

    def post(self, posting: Posting, *, restate: bool = False) -> PostingOutcome:
        """Post one posting; its events record ``posting.author``.

        It shares one save with the postings of its province that other threads submit
        meanwhile (:mod:`domain.group_commit`); alone, it is one save of its own, the single
        round trip of :meth:`ProvinceLedger.post`.
        """
        return self.committer(posting.fund.province).submit(posting, restate=restate)

    async def post_async(self, posting: Posting, *, restate: bool = False) -> PostingOutcome:
        """:meth:`post` for a coroutine, which waits for its batch on its event loop
        (:meth:`GroupCommitter.submit_async`); a province not opened yet is opened on a
        thread."""
        code = posting.fund.province
        committer = self._committers.get(code)
        if committer is None:
            committer = await asyncio.to_thread(self.committer, code)
        return await committer.submit_async(posting, restate=restate)

    def close_year(
        self,
        fund: FundId,
        year: int,
        *,
        today: date | None = None,
        author: Author | None = None,
    ) -> Fund:
        """Approve a fund's final accounts for a year (docs/domain.md §7), recording ``author``."""
        with self.writing(fund.province) as app:
            return app.close_year(fund, year, today=today or date.today(), author=author)

    def record_enrolment(
        self,
        fund: FundId,
        year: int,
        county: str,
        enrolled: int,
        *,
        correct: bool = False,
        author: Author | None = None,
    ) -> Fund:
        """Record a county's enrolment for a year (docs/domain.md §5): the same figure again
        records nothing; another figure is refused unless ``correct``."""
        with self.writing(fund.province) as app:
            return app.record_enrolment(
                fund, year, county, enrolled, correct=correct, author=author
            )

    def import_postings(
        self,
        postings: Sequence[Posting],
        *,
        chunk: int = 2_000,
        progress: Callable[[int], None] = lambda _: None,
        dry_run: bool = False,
        restate: bool = False,
        author: Author | None = None,
    ) -> ImportReport:
        """Check every posting, then write each province's postings all or none.

        The whole request is checked first; any refusal writes nothing. Then each province's
        postings are written in one transaction of its own (statements of ``chunk``
        postings, ``progress`` told after each), in the order of the province codes. A
        province whose funds another writer moved after the check is checked again and
        retried (see :meth:`ProvinceLedger.write_batch`); if it then fails, the provinces
        before it stay written, and the error names them (running the same request again
        completes it: their postings count as duplicates). With ``dry_run`` every posting is
        checked and nothing is written. Each posting's events record its own author, or
        ``author`` when it names none.

        Raises:
            RowErrors: every refused posting, by its index in ``postings``.
            ConcurrentWrites: other writers kept moving a province's funds.
        """
        groups: dict[str, list[int]] = {}
        for index, posting in enumerate(postings):
            groups.setdefault(posting.fund.province, []).append(index)
        # The check and the write under each province's writes, taken in the order of the
        # codes: no other write of this process can move a fund in between, so only another
        # process's write can make the first attempt collide (see domain.group_commit).
        with ExitStack() as held:
            for code in sorted(groups):
                held.enter_context(self.committer(code).exclusive())
            return self._import_held(
                postings,
                groups,
                chunk=chunk,
                progress=progress,
                dry_run=dry_run,
                restate=restate,
                author=author,
            )

    def _import_held(
        self,
        postings: Sequence[Posting],
        groups: dict[str, list[int]],
        *,
        chunk: int,
        progress: Callable[[int], None],
        dry_run: bool,
        restate: bool,
        author: Author | None,
    ) -> ImportReport:
        """:meth:`import_postings` once the writes of every province it names are held.

        A request of one province whose last save met another process's save is checked once,
        under the store's lock: a check outside it would only be done again there. A request
        of several provinces checks every province before it writes any.
        """
        if len(groups) == 1 and not dry_run:
            (code,) = groups
            ledger = self.province(code)
            if ledger.saves_collide:
                final, refused = ledger.write_under_lock(
                    postings,
                    restate=restate,
                    author=author,
                    stale=named_funds(postings),
                    chunk=chunk,
                    progress=progress,
                    attempts=IMPORT_ATTEMPTS,
                )
                if refused:
                    raise RowErrors(refused)
                posted = len(final.new_vouchers)
                return ImportReport(posted=posted, duplicates=len(postings) - posted)
        staged = []
        errors: list[RowError] = []
        for code in sorted(groups):
            indices = groups[code]
            ledger = self.province(code)
            batch, batch_errors = ledger.check_many(
                [postings[i] for i in indices], restate=restate, author=author
            )
            errors.extend(RowError(indices[e.index], e.error) for e in batch_errors)
            staged.append((code, indices, ledger, batch))
        if errors or dry_run:
            self._forget_staged(staged)
        if errors:
            raise RowErrors(sorted(errors, key=lambda e: e.index))
        if dry_run:
            posted = sum(len(batch.new_vouchers) for _, _, _, batch in staged)
            return ImportReport(posted=posted, duplicates=len(postings) - posted)
        done_before = 0
        posted = 0
        written: list[str] = []
        for position, (code, indices, ledger, batch) in enumerate(staged):

            def report(done: int, base: int = done_before) -> None:
                progress(base + done)

            try:
                final, refused = ledger.write_batch(batch, chunk=chunk, progress=report)
            except ConcurrentWrites as error:
                self._forget_staged(staged[position + 1 :])
                if written:
                    raise ConcurrentWrites(
                        f"{error.message}; provinces {', '.join(written)} were written in full"
                    ) from error
                raise
            if refused:
                self._forget_staged(staged[position + 1 :])
                raise RowErrors([RowError(indices[e.index], e.error) for e in refused], written)
            written.append(code)
            done_before += len(indices)
            posted += len(final.new_vouchers)
        return ImportReport(posted=posted, duplicates=len(postings) - posted)

    @staticmethod
    def _forget_staged(staged: Sequence[tuple[str, list[int], ProvinceLedger, Any]]) -> None:
        """Drop from the caches the funds of provinces checked but not written."""
        for _, _, ledger, batch in staged:
            ledger.forget_cached(f.id for f in batch.funds.values())

    def fund_events(self, fund: FundId) -> Iterator[DomainEventProtocol[UUID]]:
        """The fund's events in order (refusing an unregistered fund)."""
        ledger = self.province(fund.province)
        if ledger.find_fund(fund) is None:
            raise FundNotRegistered(f"{fund} is not registered", field="fund")
        return ledger.fund_events(fund)

    def chain(self, fund: FundId) -> list[ChainLink]:
        """The fund's stored events checked link by link (see :mod:`domain.audit`).

        The fund is not loaded first: a history with a gap, without its opening or with an
        event that no longer decodes cannot be replayed, and is what this check reports.

        Raises:
            FundNotRegistered: no event was ever stored for the fund.
        """
        return self.province(fund.province).chain(fund)

    def chains(self, province: str, funds: Sequence[FundId]) -> dict[str, list[ChainLink]]:
        """The chains of ``funds`` of one province, read in one pass (see
        :meth:`ProvinceLedger.chains`); a fund with no event left is absent."""
        return self.province(province).chains(funds)

    def walk_chains(
        self, province: str, funds: Sequence[FundId]
    ) -> Iterator[tuple[str, list[ChainLink]]]:
        """The chains of ``funds`` of one province one fund at a time (see
        :meth:`ProvinceLedger.walk_chains`)."""
        return self.province(province).walk_chains(funds)

    def close(self) -> None:
        """Close every province's connections."""
        for app in self._provinces.values():
            app.close()
        self._provinces.clear()
        self._committers.clear()
