"""The auditor's check: every fund's hash chain, and every projection against a replay.

A pure walk that returns findings (it does not stop at the first), so one run reports every
problem. For each fund (opened in the event log, or known to the read models) and each year of
its books, the replay folds the fund's stored events (``fold_statement``) and compares with the
read models: the restated statement and its restatements; for a closed year, the close's
recorded time and the as-closed statement (a fold of what was recorded up to the close); and
the enrolment on record per county and year.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from domain.audit import ChainLink, paused_gc
from domain.errors import FundNotRegistered, InvalidInput
from domain.fund import Fund, mirror_reference
from domain.funds import FundId
from domain.ledger_service import Ledger
from domain.lines import MIRROR, Line
from domain.seal import Anchor, Checkpoint, Head, Seal, anchor_of, check_anchor
from projections.decode import utc_text
from projections.service import ReadModels
from projections.statement import Statement, fold_statement, fold_statements
from projections.subsidies import enrolment_records

COMPARED = (
    "opening_balance",
    "opening_balance_transfers",
    "income",
    "expense",
    "current_surplus",
    "closing_balance",
)
MAX_FUNDS = 100_000


@dataclass(frozen=True)
class Finding:
    """One difference the audit found: which check, on which fund (and event version)."""

    check: str
    """``chain``, ``opening``, ``statement``, ``restatements``, ``close``, ``as_closed``,
    ``enrolment``, ``reference``, ``seal`` or ``checkpoint``."""
    fund: str
    version: int | None
    detail: str
    text: str
    """The finding as one line for a terminal."""

    def __str__(self) -> str:
        return self.text

    def to_json(self) -> dict[str, object]:
        return {
            "check": self.check,
            "fund": self.fund,
            "version": self.version,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class AuditReport:
    """What the audit saw and found."""

    funds: int
    events: int
    statements: int
    findings: tuple[Finding, ...]
    anchors: int = 0
    """Seals and checkpoints checked."""

    @property
    def ok(self) -> bool:
        return not self.findings


def statement_differences(
    projected: Mapping[str, object], replayed: Mapping[str, object]
) -> dict[str, tuple[object, object]]:
    """Each compared figure (``income.subsidy`` for nested ones) that differs; a figure one side
    lacks counts as None."""
    found: dict[str, tuple[object, object]] = {}
    for key in COMPARED:
        seen, expected = projected.get(key), replayed.get(key)
        if isinstance(seen, dict) and isinstance(expected, dict):
            for sub in sorted(set(seen) | set(expected)):
                if seen.get(sub) != expected.get(sub):
                    found[f"{key}.{sub}"] = (seen.get(sub), expected.get(sub))
        elif seen != expected:
            found[key] = (seen, expected)
    return found


def registered_funds(ledger: Ledger, read_models: ReadModels, provinces: list[str]) -> list[FundId]:
    """Every fund opened in these provinces, read from the event log itself, every fund with
    a voucher and every fund the read models know: so that a fund whose opening was removed
    is still checked, even once the read models are rebuilt without it."""
    funds: set[str] = set()
    for province in provinces:
        recorder = ledger.province(province).recorder
        opened = recorder.select_notifications(1, MAX_FUNDS, topics=[Fund.Opened.TOPIC])
        funds.update(orjson.loads(n.state)["fund"] for n in opened)
        funds.update(str(f) for f in voucher_funds(ledger, province))
        db = read_models.for_province(province).db
        funds.update(str(row[0]) for row in db.query("SELECT fund FROM fl_funds"))
    return [FundId.parse(f) for f in sorted(funds)]


def voucher_funds(ledger: Ledger, province: str) -> list[FundId]:
    """The funds of ``province`` its vouchers name: those of a fund whose opening was removed
    too. Text of an edited voucher row that names no fund of the province is left to the
    voucher check."""
    found = []
    for text in ledger.province(province).vouchers.voucher_funds():
        try:
            fund = FundId.parse(text)
        except InvalidInput:
            continue
        if fund.province == province:
            found.append(fund)
    return found


def _replayed_enrolment(events: list[object]) -> dict[tuple[int, str], int]:
    found: dict[tuple[int, str], int] = {}
    for event in events:
        if isinstance(event, Fund.EnrolmentRecorded):
            found[(event.year, event.county)] = event.enrolled
    return found


@paused_gc()  # the walk and the replays hold an object per event (domain.audit)
def audit(
    ledger: Ledger,
    read_models: ReadModels,
    *,
    provinces: list[str] | None = None,
    fund: FundId | None = None,
    year: int | None = None,
    trusted_keys: Mapping[str, bytes] | None = None,
    progress: Callable[[int, int], None] | None = None,
    helper: Helper | None = None,
    replayed: dict[str, dict[int, Statement]] | None = None,
) -> AuditReport:
    """Check every chain and every projection of every year of every fund, and every chain
    against the province's seals and checkpoints.

    ``provinces``, ``fund`` and ``year`` narrow what is checked (an auditor of one province,
    one fund, one year); a fund's chain is always checked whole, since a year's figures rest
    on every event before them. ``trusted_keys`` (key id to raw Ed25519 public key) are the
    keys an anchor must be signed with (none: signatures are checked only when their key is
    trusted). ``progress(done, total)`` is called after each fund. ``replayed``, when given,
    is filled with each fund's statements as the walk replayed them from its raw events, by
    year (the years its checks compared), so that a caller needing them does not walk the
    chains again (the offline check of an archive).
    """
    read_models.catch_up()
    known = sorted({s.province for s in read_models.status() if s.head})
    chosen = [p for p in known if provinces is None or p in provinces]
    findings: list[Finding] = []
    events = statements = 0
    funds = [f for f in registered_funds(ledger, read_models, chosen) if fund in (None, f)]
    anchors = _chosen_anchors(ledger, chosen, fund, year)
    anchored: dict[str, list[Anchored]] = {}
    for index, (anchor, heads) in enumerate(anchors):
        for head in heads:
            anchored.setdefault(head.fund, []).append((index, head.version, anchor.year))
    from projections.audit_checks import extra_findings  # checks kept in their own modules
    from projections.sums_audit import sums_findings  # (both import Finding from here)

    sums: list[Finding] = []
    extra: list[Finding] = []

    def meanwhile() -> None:  # the checks that do not read the funds' passes
        sums.extend(
            sums_findings(read_models, chosen, fund=None if fund is None else str(fund), year=year)
        )
        extra.extend(extra_findings(ledger, read_models, chosen, fund, year))

    passes = _all_passes(
        ledger,
        read_models,
        funds,
        year=year,
        anchored=anchored,
        helper=helper,
        progress=progress,
        meanwhile=meanwhile,
    )
    kept = {name: each.kept for name, each in passes.items()}
    for each in funds:
        findings.extend(passes[str(each)].findings)
        events += passes[str(each)].events
        statements += len(passes[str(each)].replayed)
        if replayed is not None:
            replayed[str(each)] = passes[str(each)].replayed
    findings.extend(_check_mirrors(ledger, funds, kept, anchored))
    findings.extend(sums)
    for index, (anchor, heads) in enumerate(anchors):
        for head in heads:  # a sealed fund outside the walk (its opening removed) is read now
            _kept_of(ledger, head.fund, kept, anchored)
        chains = {h.fund: kept[h.fund].links for h in heads}
        totals = None
        if anchor.year is not None:
            totals = {
                h.fund: kept[h.fund].totals[index] for h in heads if index in kept[h.fund].totals
            }
        findings.extend(
            Finding(f.check, f.fund, f.version, f.detail, f"{f.fund}: {f.detail}")
            for f in check_anchor(anchor, chains, trusted_keys or {}, totals_of=totals, only=heads)
        )
    findings.extend(extra)
    return AuditReport(len(funds), events, statements, tuple(findings), len(anchors))


def _all_passes(
    ledger: Ledger,
    read_models: ReadModels,
    funds: Sequence[FundId],
    *,
    year: int | None,
    anchored: Mapping[str, list[Anchored]],
    helper: Helper | None,
    progress: Callable[[int, int], None] | None,
    meanwhile: Callable[[], None],
) -> dict[str, FundPass]:
    """Every fund's pass, province by province. With a helper, a province's funds are dealt
    one at a time (:class:`_Offers`): the helper takes the largest left each time it is free,
    while this process walks the smallest left, so that both are busy until about the same
    time. ``meanwhile`` is called once: the first time this process would wait for the
    helper (it runs while the helper finishes), or at the end."""
    passes: dict[str, FundPass] = {}
    waiting = [meanwhile]

    def done(each: FundPass) -> None:
        passes[each.fund] = each
        if progress is not None:
            progress(len(passes), len(funds))

    def walk(
        province: str,
        walked: Sequence[FundId],
        summed: Mapping[str, Sequence[tuple[Any, ...]]] | None = None,
    ) -> None:
        for each in fund_passes(
            ledger, read_models, province, walked, year=year, anchored=anchored, summed=summed
        ):
            done(each)

    for province in sorted({f.province for f in funds}):
        ours = [f for f in funds if f.province == province]
        if helper is None or helper.helpers < 1 or len(ours) < 2:
            walk(province, ours)
            continue
        summed = read_models.summed_postings(province, [str(f) for f in ours])  # one query
        offers = _Offers(helper, province, _largest_first(read_models, province, ours))
        offers.start(year, anchored, summed)
        while (taken := offers.smallest()) is not None:
            walk(province, [taken], summed)
        if waiting:
            waiting.pop()()
        for each in offers.results():
            done(each)
    if waiting:
        waiting.pop()()
    return passes


def _fund_findings(
    ledger: Ledger,
    read_models: ReadModels,
    each: FundId,
    links: list[ChainLink],
    vouchers: Mapping[str, int],
    *,
    summed: Sequence[tuple[Any, ...]],
    year: int | None,
) -> tuple[dict[int, Statement], list[Finding], _Walked]:
    """One fund's own checks (its chain, references, vouchers, snapshots, every year's
    statements against a replay, its enrolment), the statements replayed (by year: those
    compared), and what the checks read of its links (:class:`_Walked`, for :func:`_keep`).
    ``summed``: the fund's postings as the read models sum them
    (:meth:`ReadModels.summed_postings`)."""
    findings: list[Finding] = []
    walked = _Walked.of(links)
    findings.extend(_check_references(each, walked.referenced))
    findings.extend(_check_vouchers(each, walked.referenced, vouchers))
    findings.extend(_check_snapshots(ledger, each, walked.decoded))
    for link in links:
        if link.findings:
            findings.extend(
                Finding("chain", str(each), link.version, f, f"{each} version {link.version}: {f}")
                for f in link.findings
            )
    decoded = walked.decoded
    opened = decoded[0] if decoded and isinstance(decoded[0], Fund.Opened) else None
    if opened is None:
        detail = (
            "its first event is not the fund's opening"
            if links
            else "the read models know it but no event of it is left"
        )
        findings.append(Finding("opening", str(each), None, detail, f"{each}: {detail}"))
        return {}, findings, walked
    years, closes = walked.years, walked.closes
    checked = [
        y
        for y in range(opened.first_year, max(years | set(closes) | {opened.first_year}) + 1)
        if year in (None, y)
    ]
    replayed = fold_statements(str(each), checked, decoded)
    restated = [e for e in decoded if getattr(e, "restatement", False)]
    restatements = fold_statements(str(each), checked, restated)
    for each_year in checked:
        findings.extend(
            _check_year(
                read_models,
                each,
                each_year,
                decoded,
                closes.get(each_year),
                replayed=(replayed[each_year], restatements[each_year].current_surplus_fen),
                summed=summed,
            )
        )
    findings.extend(_check_enrolment(read_models, each, decoded, year))
    return replayed, findings, walked


@dataclass(frozen=True)
class _Walked:
    """What a fund's own checks read of its links, gathered in one pass over them (a walk of
    a million events pays for each pass over its links)."""

    decoded: list[Any]
    """Every event that decoded, in order."""
    referenced: list[tuple[int, str, Any]]
    """(version, reference, event) of each decoded event that carries a reference, in order."""
    years: set[int]
    """The fiscal year of every event with a value date."""
    closes: dict[int, str]
    """Each closed year's recorded time (UTC text)."""

    @classmethod
    def of(cls, links: Sequence[ChainLink]) -> _Walked:
        decoded: list[Any] = []
        referenced: list[tuple[int, str, Any]] = []
        years: set[str] = set()
        closes: dict[int, str] = {}
        year_closed = Fund.YearClosed
        for link in links:
            event = link.event
            if event is None:
                continue
            decoded.append(event)
            reference = getattr(event, "reference", None)
            if isinstance(reference, str):
                referenced.append((link.version, reference, event))
            value_date = getattr(event, "value_date", None)
            if value_date is not None:
                years.add(value_date[:4])
            if isinstance(event, year_closed):
                closes[event.year] = utc_text(event.timestamp)
        return cls(decoded, referenced, {int(y) for y in years}, closes)


@dataclass(frozen=True)
class _Kept:
    """What the checks across funds need of a fund once its own checks are done: its links at
    the versions its anchors name and its last (:func:`check_anchor` reads no other), each
    sealed year's totals up to the sealed version (by the anchor's place in the run), and its
    postings as the mirror check reads them (:class:`_Postings`)."""

    links: list[ChainLink]
    totals: dict[int, dict[str, int]]
    postings: _Postings


@dataclass(frozen=True)
class _Postings:
    """A fund's postings as :func:`_check_mirrors` reads them: every reference posted, and
    the postings a mirror check looks at (between levels, or mirrors: ``#`` in the reference),
    each reference with its last posting's version, line, amount and counterparty."""

    posted: frozenset[str]
    checked: dict[str, tuple[int, Line, int, str | None]]


def _keep(
    each: FundId,
    links: list[ChainLink],
    anchored: Sequence[Anchored],
    referenced: Sequence[tuple[int, str, Any]] | None = None,
) -> _Kept:
    """``referenced``: :attr:`_Walked.referenced` of the links, when already gathered."""
    posted: set[str] = set()
    checked: dict[str, tuple[int, Line, int, str | None]] = {}
    posted_class = Fund.Posted
    if referenced is None:
        referenced = _Walked.of(links).referenced
    for version, reference, event in referenced:
        if not isinstance(event, posted_class):
            continue
        posted.add(reference)
        if "#" in reference or (event.counterparty is not None and event.LINE in MIRROR):
            checked[reference] = (version, event.LINE, event.amount_fen, event.counterparty)
        else:
            checked.pop(reference, None)
    versions = {version for _, version, _ in anchored}
    kept = [link for link in links if link.version in versions]
    if links:
        kept.append(links[-1])
    totals: dict[int, dict[str, int]] = {}
    for index, version, sealed_year in anchored:
        if sealed_year is None:
            continue
        events = [
            link.event for link in links if link.event is not None and link.version <= version
        ]
        if events:
            totals[index] = year_totals(str(each), sealed_year, events)
    return _Kept(kept, totals, _Postings(frozenset(posted), checked))


def _kept_of(
    ledger: Ledger, name: str, kept: dict[str, _Kept], anchored: Mapping[str, Sequence[Anchored]]
) -> _Kept:
    """The kept parts of a fund, read from the store (and kept) when the walk did not reach it:
    a counterparty of another province, or a fund whose opening was removed, with its
    anchored heads either way, whichever check asks first."""
    if name not in kept:
        each = FundId.parse(name)
        kept[name] = _keep(each, _links(ledger, each), anchored.get(name, ()))
    return kept[name]


def _chosen_anchors(
    ledger: Ledger, provinces: Sequence[str], fund: FundId | None, year: int | None
) -> list[tuple[Anchor, list[Head]]]:
    """Every seal and checkpoint of the provinces, each with the heads the run compares
    (narrowed to one fund's and one year's as the run is)."""
    chosen: list[tuple[Anchor, list[Head]]] = []
    for province in provinces:
        for anchor in recorded_anchors(ledger, province):
            if year is not None and anchor.year not in (None, year):
                continue
            heads = [h for h in anchor.heads if fund is None or h.fund == str(fund)]
            if fund is not None and not heads:
                continue
            chosen.append((anchor, heads))
    return chosen


Anchored = tuple[int, int, int | None]
"""A head an anchor of the run names on a fund: the anchor's place in the run, the version it
recorded and, for a seal, its year (None: a checkpoint)."""


@dataclass(frozen=True)
class FundPass:
    """One fund's own checks and what the checks across funds need of it (a value that can
    cross to another process: the funds a helper walked come back as these)."""

    fund: str
    events: int
    replayed: dict[int, Statement]
    """Its statements replayed from its raw events, by year (the years compared)."""
    findings: list[Finding]
    kept: _Kept


class Helper(Protocol):
    """Runs :func:`fund_passes` on a province's funds elsewhere (other processes, on the same
    store), beside the funds the caller walks itself."""

    @property
    def helpers(self) -> int:
        """How many passes it runs at once."""

    def submit(
        self,
        province: str,
        funds: list[FundId],
        year: int | None,
        anchored: dict[str, list[Anchored]],
        summed: dict[str, list[tuple[Any, ...]]],
    ) -> Future[list[FundPass]]:
        """Queue the passes of ``funds`` (:func:`fund_passes`, with their anchored heads and
        summed postings)."""


def fund_passes(
    ledger: Ledger,
    read_models: ReadModels,
    province: str,
    funds: Sequence[FundId],
    *,
    year: int | None,
    anchored: Mapping[str, Sequence[Anchored]],
    summed: Mapping[str, Sequence[tuple[Any, ...]]] | None = None,
) -> list[FundPass]:
    """Each fund's own checks, walking the province's chains of ``funds`` in one read, one
    fund's events at a time (dropped once its checks are done); a fund with no event left
    comes last, with none. ``summed``: the funds' postings as the read models sum them
    (:meth:`ReadModels.summed_postings`), when read already."""
    vouchers = ledger.province(province).vouchers.voucher_versions([str(f) for f in funds])
    if summed is None:
        summed = read_models.summed_postings(province, [str(f) for f in funds])
    by_name = {str(f): f for f in funds}
    found: list[FundPass] = []

    def one(each: FundId, links: list[ChainLink]) -> FundPass:
        name = str(each)
        replayed, findings, walked = _fund_findings(
            ledger,
            read_models,
            each,
            links,
            vouchers.get(name, {}),
            summed=summed.get(name, ()),
            year=year,
        )
        kept = _keep(each, links, anchored.get(name, ()), walked.referenced)
        return FundPass(name, len(links), replayed, findings, kept)

    with paused_gc():
        for name, links in ledger.walk_chains(province, funds):
            found.append(one(by_name.pop(name), links))
            del links  # before the next fund's chain is read, not after: one fund held at once
    found.extend(one(each, []) for each in by_name.values())
    return found


def _largest_first(read_models: ReadModels, province: str, funds: list[FundId]) -> list[FundId]:
    """The province's funds by their postings in the read models, the most first (a guess of
    each fund's work, which only orders the offers to a helper)."""
    sizes = read_models.for_province(province).db.query(
        "SELECT fund, SUM(postings) FROM fl_sums WHERE province = %s GROUP BY fund", [province]
    )
    size = {str(row[0]): int(row[1] or 0) for row in sizes}
    return sorted(funds, key=lambda f: (-size.get(str(f), 0), str(f)))


class _Offers:
    """A province's funds, the largest first, dealt to a helper from the front, one fund a
    pass, as many at once as it runs (each pass that ends asks for the next), and to the
    calling process from the back; a fund is dealt once."""

    def __init__(self, helper: Helper, province: str, funds: list[FundId]) -> None:
        self._helper = helper
        self._province = province
        self._funds = funds
        self._lock = threading.Lock()
        self._futures: list[Future[list[FundPass]]] = []

    def start(
        self,
        year: int | None,
        anchored: Mapping[str, list[Anchored]],
        summed: Mapping[str, Sequence[tuple[Any, ...]]],
    ) -> None:
        """Give the helper its first funds (each with its anchored heads and its summed
        postings, :meth:`ReadModels.summed_postings`)."""

        def offer(_: object = None) -> None:
            with self._lock:  # taken and submitted at once: results() sees every future
                if not self._funds:
                    return
                fund = self._funds.pop(0)
                try:
                    name = str(fund)
                    future = self._helper.submit(
                        self._province,
                        [fund],
                        year,
                        {name: anchored.get(name, [])},
                        {name: list(summed.get(name, ()))},
                    )
                except BaseException:
                    self._funds.insert(0, fund)  # left for the calling process
                    raise
                self._futures.append(future)
            future.add_done_callback(offer)

        for _ in range(self._helper.helpers):
            offer()

    def smallest(self) -> FundId | None:
        """The smallest fund left, for the calling process (None: every fund is dealt)."""
        with self._lock:
            return self._funds.pop() if self._funds else None

    def results(self) -> list[FundPass]:
        """The helper's passes, once every fund is dealt (raises a pass's failure)."""
        found: list[FundPass] = []
        for future in list(self._futures):
            found.extend(future.result())
        return found


def _links(ledger: Ledger, fund: FundId) -> list[ChainLink]:
    """The fund's chain as stored (empty when no event of it is left)."""
    try:
        return ledger.chain(fund)
    except FundNotRegistered:
        return []


def _check_references(fund: FundId, referenced: Sequence[tuple[int, str, Any]]) -> list[Finding]:
    """No reference is posted twice in a fund's chain (a deleted voucher would let it), and
    every reversal names a posting made before it, reversed once (``referenced``:
    :attr:`_Walked.referenced`)."""
    seen: dict[str, int] = {}
    posted: set[str] = set()
    reversed_at: dict[str, int] = {}
    found: list[Finding] = []

    def add(check: str, version: int, detail: str) -> None:
        found.append(
            Finding(check, str(fund), version, detail, f"{fund} version {version}: {detail}")
        )

    reversal, posting = Fund.PostingReversed, Fund.Posted
    for version, reference, event in referenced:
        first = seen.setdefault(reference, version)
        if first != version:
            add("reference", version, f"reference {reference} is at version {first} too")
        if isinstance(event, posting):
            posted.add(reference)
        elif isinstance(event, reversal):
            target = event.reverses
            if target not in posted:
                add("reversal", version, f"reverses {target}, which was never posted")
            elif target in reversed_at:
                add("reversal", version, f"{target} was reversed at {reversed_at[target]}")
            reversed_at.setdefault(target, version)
    return found


def _check_mirrors(
    ledger: Ledger,
    funds: Sequence[FundId],
    kept: dict[str, _Kept],
    anchored: Mapping[str, Sequence[Anchored]],
) -> list[Finding]:
    """Every inter-level posting has its mirror on the counterparty fund, on the mirrored line
    and for the same amount, and every mirror names a posting of the paying fund."""
    found: list[Finding] = []

    def postings_of(name: str) -> _Postings:  # a counterparty outside the walk is read now
        return _kept_of(ledger, name, kept, anchored).postings

    for fund in funds:
        name = str(fund)
        for reference, (version, line, amount, counterparty) in postings_of(name).checked.items():
            if "#" in reference:
                paying, _, original = reference.partition("#")
                if original not in postings_of(paying).posted:
                    detail = f"the mirror {reference} names no posting of {paying}"
                    found.append(
                        Finding("mirror", name, version, detail, f"{name} v{version}: {detail}")
                    )
                continue
            assert counterparty is not None
            mirror = postings_of(counterparty).checked.get(mirror_reference(fund, reference))
            if mirror is None or (mirror[1], mirror[2]) != (MIRROR[line], amount):
                detail = f"{reference} has no equal mirror on {counterparty}"
                found.append(
                    Finding("mirror", name, version, detail, f"{name} v{version}: {detail}")
                )
    return found


def _check_snapshots(ledger: Ledger, fund: FundId, decoded: Sequence[Any]) -> list[Finding]:
    """Every stored snapshot of the fund equals the replay of its events (``decoded``: those
    of its chain that decoded, in order) up to its version (an edited snapshot would let a
    load start from a state its events never had)."""
    app = ledger.province(fund.province)
    if app.snapshots is None:
        return []
    found: list[Finding] = []
    events = iter(decoded)
    pending: Any = next(events, None)
    replayed: Any = None
    snapshot: Any
    snapshots = sorted(app.snapshots.get(fund.aggregate_id), key=lambda s: s.originator_version)
    for snapshot in snapshots:  # one replay, compared at each snapshot's version in turn
        version = snapshot.originator_version
        while pending is not None and pending.originator_version <= version:
            replayed = pending.mutate(replayed)
            pending = next(events, None)
        stored: dict[str, Any]
        try:
            stored = dict(vars(snapshot.mutate(None)))
        except Exception as error:  # noqa: BLE001 - an undecodable snapshot is a finding
            stored = {"error": str(error)}
        if replayed is None or stored != vars(replayed):
            differ = sorted(
                k
                for k in set(stored) | set(vars(replayed) if replayed else {})
                if stored.get(k) != (vars(replayed).get(k) if replayed else None)
            )
            detail = f"the snapshot differs from the replay in {', '.join(differ)}"
            found.append(
                Finding(
                    "snapshot", str(fund), version, detail, f"{fund} version {version}: {detail}"
                )
            )
    return found


def _check_vouchers(
    fund: FundId, referenced: Sequence[tuple[int, str, Any]], vouchers: Mapping[str, int]
) -> list[Finding]:
    """Every posting and reversal event (in ``referenced``: :attr:`_Walked.referenced`) has
    its voucher, which names the event's version (a deleted voucher would let its reference
    be posted again), and every voucher of the fund (``vouchers``: reference to the version it
    names) has its posting or reversal event (a voucher without one would refuse a real
    posting of its reference as already made)."""
    kinds = (Fund.Posted, Fund.PostingReversed)
    wanted = {
        reference: version
        for version, reference, event in referenced
        if isinstance(event, kinds)
        and "#" not in reference  # a mirror is recorded under its pair's voucher
    }
    found: list[Finding] = []

    def add(version: int, detail: str) -> None:
        found.append(
            Finding("voucher", str(fund), version, detail, f"{fund} version {version}: {detail}")
        )

    for reference, version in wanted.items():
        named = vouchers.get(reference)
        if named is None:
            add(version, f"the posting {reference} has no voucher")
        elif named != version:
            add(version, f"the voucher of {reference} names version {named}")
    for reference in sorted(vouchers.keys() - wanted.keys()):
        if "#" not in reference:
            named = vouchers[reference]
            add(named, f"the voucher of {reference} has no posting or reversal event")
    return found


def recorded_anchors(ledger: Ledger, province: str) -> list[Anchor]:
    """Every seal and checkpoint recorded in the province's ledger, in the order recorded."""
    app = ledger.province(province)
    found: list[Anchor] = []
    start = 1
    topics = [Seal.Recorded.TOPIC, Checkpoint.Recorded.TOPIC]
    while True:
        page = app.recorder.select_notifications(start, 1000, topics=topics)
        for notification in page:
            anchor = anchor_of(app.mapper.to_domain_event(notification))
            if anchor is not None:
                found.append(anchor)
        if len(page) < 1000:
            return found
        start = page[-1].id + 1


def year_totals(fund: str, year: int, events: Sequence[object]) -> dict[str, int]:
    """What a seal records of a fund's year, in fen, folded from its events."""
    statement = fold_statement(fund, year, events)
    return {
        "opening_balance": statement.opening_balance_fen + statement.opening_balance_transfers_fen,
        "income": statement.income_total_fen,
        "expense": statement.expense_total_fen,
        "closing_balance": statement.closing_balance_fen,
    }


def chain_heads(
    ledger: Ledger,
    province: str,
    year: int | None,
    chains: Mapping[str, Sequence[ChainLink]] | None = None,
) -> list[Head]:
    """Every fund's chain head in the province (with its year's totals for a seal);
    ``chains``: the province's chains when already walked (:func:`province_chains`)."""
    if chains is None:
        chains = province_chains(ledger, province)
    heads: list[Head] = []
    for each in province_funds(ledger, province):
        links = chains.get(str(each))
        if not links:
            continue
        last = links[-1]
        stored = getattr(last.event, "chain_hash", None)
        if stored is None:
            continue
        totals = None
        if year is not None:
            events = [link.event for link in links if link.event is not None]
            totals = year_totals(str(each), year, events)
        heads.append(Head(str(each), last.version, stored, totals))
    return heads


def province_chains(ledger: Ledger, province: str) -> dict[str, list[ChainLink]]:
    """The chain of every fund opened in the province (:func:`province_funds`), walked in one
    read; a fund with no event left is absent."""
    return ledger.chains(province, province_funds(ledger, province))


def province_funds(ledger: Ledger, province: str) -> list[FundId]:
    """Every fund opened in the province, from its event log alone."""
    recorder = ledger.province(province).recorder
    opened = recorder.select_notifications(1, MAX_FUNDS, topics=[Fund.Opened.TOPIC])
    return [FundId.parse(f) for f in sorted({orjson.loads(n.state)["fund"] for n in opened})]


def _check_enrolment(
    read_models: ReadModels, fund: FundId, decoded: list[object], year: int | None
) -> list[Finding]:
    """The enrolment on record per county and year, in the read model against a replay."""
    db = read_models.for_province(fund.province).db
    projected = {(y, c): n for (_, y, c), n in enrolment_records(db, fund=str(fund)).items()}
    replayed = _replayed_enrolment(decoded)
    found: list[Finding] = []
    for each_year, county in sorted(set(projected) | set(replayed)):
        if year is not None and each_year != year:
            continue
        seen, expected = projected.get((each_year, county)), replayed.get((each_year, county))
        if seen != expected:
            detail = (
                f"{each_year}: enrolment of {county} is {seen} in the read model but "
                f"{expected} on replay"
            )
            found.append(Finding("enrolment", str(fund), None, detail, f"{fund} {detail}"))
    return found


def _check_year(
    read_models: ReadModels,
    fund: FundId,
    year: int,
    events: list[object],
    closed_at: str | None,
    *,
    replayed: tuple[Statement, int],
    summed: Sequence[tuple[Any, ...]],
) -> list[Finding]:
    """The findings of one fund's year: restated view, restatements, close, as-closed view.

    ``replayed``: the year's statement folded from ``events`` (:func:`fold_statements`, one
    pass for every year of the fund) and the signed effect on the balance of the year's
    postings recorded as restatements (the surplus of a fold of those alone); ``summed``: the
    fund's postings as the read models sum them (:meth:`ReadModels.summed_postings`)."""
    name = str(fund)
    found: list[Finding] = []

    def add(check: str, detail: str) -> None:
        found.append(Finding(check, name, None, f"{year}: {detail}", f"{fund} {year}: {detail}"))

    statement = read_models.statement(fund, year, from_postings=True, summed=summed)
    for key, (seen, expected) in statement_differences(
        statement.to_json(), replayed[0].to_json()
    ).items():
        add("statement", f"{key} is {seen} in the read model but {expected} on replay")
    restated = replayed[1]
    if statement.restatements_fen != restated:
        add(
            "restatements",
            f"restatements are {statement.restatements_fen} fen in the read model but "
            f"{restated} fen on replay",
        )
    if statement.closed_at != closed_at:
        add("close", f"closed at {statement.closed_at} in the read model but {closed_at} on replay")
    if closed_at is None or statement.closed_at is None:
        return found
    as_closed = read_models.statement(fund, year, view="as_closed").to_json()
    known = [e for e in events if utc_text(e.timestamp) <= closed_at]  # type: ignore[attr-defined]
    for key, (seen, expected) in statement_differences(
        as_closed, fold_statement(name, year, known).to_json()
    ).items():
        detail = f"as closed: {key} is {seen} in the read model but {expected} on replay"
        found.append(
            Finding("as_closed", name, None, f"{year} {detail}", f"{fund} {year} {detail}")
        )
    return found
