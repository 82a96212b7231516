"""The read models' use cases: statement, ratios, warnings, subsidies, chart figures, status.

Every read first catches the projections up (a posting acknowledged to its caller is in the
next read, docs/architecture.md) and answers JSON-ready data: money as yuan strings, ratios as
decimal strings (docs/contract.md, "Conventions"). A caller reads only funds of its region
(docs/contract.md, "Identity and access"): a region filter outside it is refused, and without
a filter a municipal or provincial caller gets only the rows inside its own region.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from domain.access import EVERY_PROVINCE, AccessDenied, Action, Principal, authorize, covers
from domain.errors import InvalidInput
from domain.funds import FundId

if TYPE_CHECKING:
    from api.bootstrap import App
    from domain.today import Clock
    from projections.db import ProjectionDB
    from projections.monthly import MonthFigures
    from projections.policy import Band, Policy

View = Literal["restated", "as_closed"]
SEVERITY = {"red": 0, "orange": 1, "yellow": 2, "blue": 3}
"""Warning levels, most severe first (``green`` is no warning)."""


def parse_as_of(text: str | None) -> str | None:
    """An "as of" time: ISO 8601 with a UTC offset, as the read models' comparable UTC text."""
    from projections.decode import utc_text

    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"{text!r} is not an ISO 8601 time such as 2025-01-31T18:00:00+08:00", field="as_of"
        ) from None
    if moment.tzinfo is None:
        raise InvalidInput(f"{text!r} needs a UTC offset (e.g. +08:00)", field="as_of")
    return utc_text(moment)


def statement(
    app: App,
    who: Principal,
    fund: FundId,
    year: int,
    *,
    view: View = "restated",
    as_of: str | None = None,
    policy: Path | None = None,
) -> dict[str, Any]:
    """A fund's statement for a year with its ratios and warnings (docs/projections.md).

    ``as_of`` is ISO 8601 text with a UTC offset: what had been recorded then. ``policy`` is
    a policy file read instead of the province's own.
    """
    from projections.policy import load_policy

    authorize(who, Action.READ, fund.region)
    cutoff = parse_as_of(as_of)
    chosen = None if policy is None else load_policy(fund.province, policy)
    found = app.read_models.statement(fund, year, view=view, as_of=cutoff, policy=chosen)
    return found.to_json()


def _provinces_of(scope: str | None) -> tuple[str, ...] | None:
    """The provinces a read of ``scope`` covers (None: every province), to catch up."""
    from domain.regions import province_of

    return None if scope is None else (province_of(scope),)


def _scope(who: Principal, region: str | None) -> str | None:
    """The region a read covers: the filter asked for (inside the caller's region), else the
    caller's own region; None for every province."""
    from domain.regions import check_region

    if region is not None and region != EVERY_PROVINCE:
        check_region(region, field="region")
        authorize(who, Action.READ, region)
        return region
    if who.is_operator or who.region == EVERY_PROVINCE:
        authorize(who, Action.READ, EVERY_PROVINCE)
        return None
    authorize(who, Action.READ, who.region)
    return who.region


def _databases(app: App, region: str | None) -> Iterator[ProjectionDB]:
    """The read-model databases to ask: the region's province's, or every one."""
    from domain.regions import province_of

    if region is not None:
        yield app.read_models.for_province(province_of(region)).db
        return
    yield from (projector.db for projector in app.read_models.projectors)


def _policy_for(path: Path | None) -> Callable[[str], Policy]:
    from projections.policy import load_policy

    if path is None:
        return load_policy
    given = load_policy("", path)  # the user's file, for every province
    return lambda _province: given


def ratios(
    app: App,
    who: Principal,
    year: int,
    *,
    region: str | None = None,
    policy: Path | None = None,
    clock: Clock | None = None,
) -> list[dict[str, Any]]:
    """One row per fund keeping books in ``year``: rates, months of coverage, warning level,
    on the full year and the trailing 12 months (docs/projections.md), sorted by fund.
    ``clock`` tells the time (the system clock by default; a fixed time in tests)."""
    from domain.today import china_today, system_clock
    from projections.ratios_report import ratios_report

    today = china_today(clock or system_clock)
    scope = _scope(who, region)
    app.read_models.fresh(provinces=_provinces_of(scope))
    policy_for = _policy_for(policy)
    rows = [
        row
        for database in _databases(app, scope)
        for row in ratios_report(database, year, policy_for=policy_for, today=today, region=scope)
    ]
    return sorted(rows, key=lambda r: str(r["fund"]))


def warnings(
    app: App,
    who: Principal,
    year: int,
    *,
    region: str | None = None,
    policy: Path | None = None,
    clock: Clock | None = None,
) -> list[dict[str, Any]]:
    """Only the funds with a warning (every level but green), most severe first."""
    rows = ratios(app, who, year, region=region, policy=policy, clock=clock)
    warned = [r for r in rows if r["warning_level"] != "green"]
    return sorted(warned, key=lambda r: (SEVERITY.get(r["warning_level"], 9), r["fund"]))


def subsidies(
    app: App,
    who: Principal,
    year: int,
    *,
    fund: FundId | None = None,
    region: str | None = None,
    policy: Path | None = None,
) -> list[dict[str, Any]]:
    """Subsidy due (enrolled × standard × share), received and outstanding, per fund and
    level (docs/projections.md), for one fund or every fund of the region."""
    from projections.subsidies import subsidies_report

    if fund is not None:
        authorize(who, Action.READ, fund.region)
        scope: str | None = fund.region
    else:
        scope = _scope(who, region)
    app.read_models.fresh(provinces=_provinces_of(scope))
    policy_for = _policy_for(policy)
    name = None if fund is None else str(fund)
    return [
        item.to_json()
        for database in _databases(app, scope)
        for item in subsidies_report(database, year, policy_for=policy_for, fund=name)
        if scope is None or covers(scope, FundId.parse(item.fund).region)
    ]


@dataclass(frozen=True)
class ChartData:
    """What a fund's chart shows: its months and the province's bands of months of coverage."""

    fund: str
    months: list[MonthFigures]
    bands: tuple[Band, ...]


def chart_data(
    app: App,
    who: Principal,
    fund: FundId,
    *,
    from_year: int | None = None,
    to_year: int | None = None,
) -> ChartData:
    """A fund's month-end balances and months of coverage across its years.

    Raises:
        InvalidInput: the fund has no postings in the years asked for.
    """
    from projections.policy import load_policy

    authorize(who, Action.READ, fund.region)
    months = app.read_models.monthly(fund, from_year=from_year, to_year=to_year)
    if not months:
        raise InvalidInput(f"{fund} has no postings in the years asked for: nothing to chart")
    bands = tuple(load_policy(fund.province).warnings.bands)
    return ChartData(str(fund), months, bands)


def projections_status(app: App, who: Principal) -> list[dict[str, Any]]:
    """Each province's projection position, the head of its event log, and the lag; a caller
    bound to a region sees its own province's."""
    from domain.regions import province_of

    authorize(who, Action.READ, who.region)
    mine = None if who.region == EVERY_PROVINCE else province_of(who.region)
    return [
        {"province": s.province, "position": s.position, "head": s.head, "lag": s.lag}
        for s in app.read_models.status()
        if mine is None or s.province == mine
    ]


def projections_rebuild(
    app: App, who: Principal, progress: Callable[[int], None] = lambda _: None
) -> int:
    """Drop every read-model row and apply the whole event log again (the operator only)."""
    if not who.is_operator:
        raise AccessDenied(f"{who.name}: read models are rebuilt at the server's command line")
    return app.read_models.rebuild(progress)


def events_total(app: App) -> int:
    """Every event of every province (the rebuild's progress total)."""
    return sum(s.head for s in app.read_models.status())
