"""The year-end settlement, one function per step, for the CLI and the HTTP API alike.

Dry run, what-if, draft, approve and post are the provincial clearing office's (``CLEAR`` on
the province); reading a settlement and what it left owed are reads, scoped as
:mod:`api.usecases.scope` says. Maker ≠ checker rests on the principal: the approver's name
(a token's name over HTTP, ``--by`` or the operating-system user on the CLI) is compared with
every drafter's recorded name (docs/clearing.md, §1 step 5).
"""

from __future__ import annotations

import dataclasses
import functools
import uuid
from dataclasses import dataclass

from api.bootstrap import App
from api.usecases.scope import Scope, province_scope
from clearing import settlement as engine
from clearing.owed import Owed, owed_amounts
from clearing.policy import ClearingPolicy, PolicyChoice, load_policy, parse_policy
from clearing.pool_inputs import check_province
from clearing.queries import ProvinceBooks
from clearing.report import SettlementView
from domain.access import Action, Principal, authorize
from domain.errors import InvalidInput
from domain.fund import EARLIEST_FIRST_YEAR, LATEST_FIRST_YEAR
from domain.money import format_fen
from domain.regions import PROVINCES
from domain.settlement import SettlementNotFound, SettlementStateConflict, settlement_id


@dataclass(frozen=True)
class SettlementKey:
    """A settlement's business key: one per province and year (its id derives from it)."""

    province: str
    year: int

    def __post_init__(self) -> None:
        check_province(self.province)
        if not EARLIEST_FIRST_YEAR <= self.year <= LATEST_FIRST_YEAR:
            raise InvalidInput(
                f"{self.year} is outside {EARLIEST_FIRST_YEAR}-{LATEST_FIRST_YEAR}", field="year"
            )

    @classmethod
    def from_id(cls, text: str) -> SettlementKey:
        """The key of a settlement id (``GET /v1/settlements/{id}``); unknown ids: 404."""
        try:
            found = _ids().get(uuid.UUID(text))
        except ValueError:
            found = None
        if found is None:
            raise SettlementNotFound(f"no settlement has the id {text!r}", field="id")
        return cls(*found)

    @property
    def id(self) -> str:
        return str(settlement_id(self.province, self.year))


@functools.cache
def _ids() -> dict[uuid.UUID, tuple[str, int]]:
    """Every possible settlement id, by province and year (ids are uuid5 of the key)."""
    years = range(EARLIEST_FIRST_YEAR, LATEST_FIRST_YEAR + 1)
    return {settlement_id(p, y): (p, y) for p in PROVINCES for y in years}


@dataclass(frozen=True)
class Outcome:
    """A recorded step: the settlement after it, and whether anything was recorded."""

    view: SettlementView
    changed: bool


def _clear(who: Principal, key: SettlementKey) -> None:
    authorize(who, Action.CLEAR, key.province)


def dry_run(
    app: App,
    who: Principal,
    key: SettlementKey,
    policy: PolicyChoice = None,
    books: ProvinceBooks | None = None,
) -> SettlementView:
    """The draft as it would be recorded now; nothing is recorded. ``books``: the province's
    books already read for the page (:func:`api.usecases.yearend.province_books`)."""
    _clear(who, key)
    app.read_models.fresh(provinces=(key.province,))
    return engine.dry_run(app, key.province, key.year, policy, books)


def what_if(
    app: App, who: Principal, key: SettlementKey, policy: PolicyChoice = None
) -> engine.WhatIf:
    """The year under its current policy and under ``policy``, side by side; nothing recorded.

    Without ``policy`` the alternative is the province's shipped policy, so a draft made
    under another file can be compared with it.
    """
    _clear(who, key)
    app.read_models.fresh(provinces=(key.province,))
    other = load_policy(key.province, key.year) if policy is None else policy
    return engine.what_if(app, key.province, key.year, other)


def draft(app: App, who: Principal, key: SettlementKey, policy: PolicyChoice = None) -> Outcome:
    """Record a draft or redraft; ``changed`` is False when it repeats the current draft."""
    _clear(who, key)
    app.read_models.fresh(provinces=(key.province,))
    view, changed = engine.draft(app, key.province, key.year, None, policy, author=who.author)
    return Outcome(view, changed)


def approve(app: App, who: Principal, key: SettlementKey) -> Outcome:
    """Approve the draft: refused (403) to anyone who drafted a version of it.

    ``changed`` is False when the same principal already approved it (a repeat).
    """
    _clear(who, key)
    app.read_models.fresh(provinces=(key.province,))
    view, changed = engine.approve(app, key.province, key.year, author=who.author)
    return Outcome(view, changed)


def post(app: App, who: Principal, key: SettlementKey, *, repeat: bool = False) -> Outcome:
    """Write the approved draws and mark the settlement posted, in one atomic save.

    A second post is refused (409), unless ``repeat`` says the caller is retrying the same
    request (an HTTP ``Idempotency-Key``) and the settlement was posted by that same
    principal: then the settlement is answered as it stands, ``changed`` False. The identity
    of the step (settlement, poster) is the key, not a cache of answers.
    """
    _clear(who, key)
    try:
        return Outcome(engine.post(app, key.province, key.year, author=who.author), True)
    except SettlementStateConflict:
        view = engine.settlement_view(app, key.province, key.year)
        if repeat and view.status == "posted" and view.posted_by == who.name:
            return Outcome(view, False)
        raise


def report(app: App, who: Principal, key: SettlementKey) -> SettlementView:
    """The recorded settlement, as much of it as the caller may see."""
    scope = province_scope(who, key.province)
    app.read_models.fresh(provinces=(key.province,))
    return visible(engine.settlement_view(app, key.province, key.year), scope)


def owed(app: App, who: Principal, key: SettlementKey) -> list[Owed]:
    """What the posted settlement left owed, due against paid, for the pools the caller sees."""
    scope = province_scope(who, key.province)
    app.read_models.fresh(provinces=(key.province,))
    view = engine.settlement_view(app, key.province, key.year)
    db = app.read_models.for_province(key.province).db
    return [o for o in owed_amounts(db, key.year, view.status, view.result) if scope.sees(o.fund)]


def visible(view: SettlementView, scope: Scope) -> SettlementView:
    """The settlement with only the pools the caller sees; a partial view hides the
    adjustment fund's balance, draws total and every pool's requests (figures of a fund
    outside its region)."""
    if scope.whole:
        return view
    fund = {
        **view.result["adjustment_fund"],
        "balance_fen": None,
        "draws_total_fen": None,
        "requested_total_fen": None,
    }
    pools = [p for p in view.result["pools"] if scope.sees(p["fund"])]
    return dataclasses.replace(
        view, result={**view.result, "adjustment_fund": fund, "pools": pools}
    )


def what_if_rows(both: engine.WhatIf) -> list[dict[str, str]]:
    """Per pool, the draw and what the balance bears under each policy (yuan strings)."""
    rows = []
    pairs = zip(both.current.result["pools"], both.alternative.result["pools"], strict=True)
    for now, then in pairs:
        rows.append(
            {
                "pool": now["fund"],
                "gap": format_fen(now["gap_fen"]),
                "draw now": format_fen(now["draw_fen"]),
                "draw what-if": format_fen(then["draw_fen"]),
                "change": format_fen(then["draw_fen"] - now["draw_fen"]),
                "balance now": format_fen(now["borne_by_balance_fen"]),
                "balance what-if": format_fen(then["borne_by_balance_fen"]),
                "residual what-if": format_fen(then["residual_to_government_fen"]),
            }
        )
    return rows


def policy_from_toml(text: str) -> ClearingPolicy:
    """A policy sent as the text of a policy file (the HTTP API's ``policy`` field)."""
    return parse_policy(text, "policy")
