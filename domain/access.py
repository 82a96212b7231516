"""Who may read and write what: roles bound to regions (docs/contract.md, "Identity and access").

Every use case asks :func:`authorize` before it reads or writes, with the region the request
concerns (a fund's region, a province, a county). The adapters only say who the caller is: a
token's principal over HTTP, the operator at the server's command line on the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from domain.authorship import Author
from domain.errors import DomainError
from domain.regions import contains

EVERY_PROVINCE = "000000"
"""The region of an auditor who may read every province."""


class Role(StrEnum):
    """The roles a token is bound to, each with a region."""

    MUNICIPAL = "municipal"
    PROVINCIAL = "provincial"
    AUDITOR = "auditor"


class Action(StrEnum):
    """What a request does, as the access matrix distinguishes it."""

    READ = "read"
    """Statements, ratios, warnings, subsidies, budgets, settlements, projections status."""
    READ_HISTORY = "read_history"
    """Event histories, the change feed, audit verify (auditor and provincial)."""
    WRITE = "write"
    """Postings and imports, enrolment, budget drafts, adjustments and approval, close."""
    OPEN_FUND = "open_fund"
    """Registering a fund."""
    CLEAR = "clear"
    """Levies, assessments, plans; settlement draft, what-if, approve, post."""


class AccessDenied(DomainError):
    """The caller's role or region does not allow the request (HTTP 403)."""


@dataclass(frozen=True)
class Principal:
    """Who makes a request.

    ``role`` is None for the operator at the server's command line, who may do everything
    (the CLI runs beside the database). ``name`` is what every write records as
    ``recorded_by``; ``request_id`` ties an HTTP request's events to its log lines.
    """

    name: str
    role: Role | None = None
    region: str = EVERY_PROVINCE
    request_id: str | None = None

    @property
    def is_operator(self) -> bool:
        """True for the operator at the server's command line (no role: every right)."""
        return self.role is None

    @property
    def author(self) -> Author:
        """What the principal's writes record."""
        return Author(recorded_by=self.name, request_id=self.request_id)


_ALLOWED: dict[Role, frozenset[Action]] = {
    Role.MUNICIPAL: frozenset({Action.READ, Action.WRITE}),
    Role.PROVINCIAL: frozenset(
        {Action.READ, Action.READ_HISTORY, Action.WRITE, Action.OPEN_FUND, Action.CLEAR}
    ),
    Role.AUDITOR: frozenset({Action.READ, Action.READ_HISTORY}),
}


def covers(region_of_principal: str, region: str) -> bool:
    """True when a principal bound to ``region_of_principal`` reaches ``region``."""
    if region_of_principal == EVERY_PROVINCE:
        return True
    return region == region_of_principal or contains(region_of_principal, region)


def may(principal: Principal, action: Action, region: str) -> bool:
    """True when ``principal`` may do ``action`` on something of ``region``."""
    if principal.role is None:
        return True
    return action in _ALLOWED[principal.role] and covers(principal.region, region)


def authorize(principal: Principal, action: Action, region: str) -> None:
    """Refuse a request outside the caller's role or region.

    The message names the role, the action and the region, never a figure of what was
    refused (a 403 must not leak the fund's figures).

    Raises:
        AccessDenied: the role does not allow ``action``, or ``region`` lies outside.
    """
    if may(principal, action, region):
        return
    assert principal.role is not None
    if action not in _ALLOWED[principal.role]:
        reason = f"the {principal.role} role may not {action.value.replace('_', ' ')}"
    else:
        reason = f"{region} lies outside the caller's region {principal.region}"
    raise AccessDenied(f"{principal.name}: {reason}", field="region")
