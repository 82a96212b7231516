"""The year-end settlement of a province's pools (调剂金清算, docs/domain.md §6).

Draft → approve → post.

One aggregate per province and year. A draft records the policy (its whole content, so an
auditor can rerun it), the hash of the inputs and the full result; it may be redrafted while it
is a draft. Approval is by someone who drafted no version of it (four eyes). Posting writes the
draws and the ``Posted`` event in one atomic save (see :mod:`clearing.settlement`); a second
post is refused. Commands check every rule (one function per rule); ``apply`` only assigns.
Every event records who made it (class version 2, :mod:`domain.authored`); ``drafted_by``,
``approved_by`` and ``posted_by`` are that author's name, so maker ≠ checker compares the
recorded principals (over HTTP, the callers' token names).
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any, ClassVar

from eventsourcing.domain import Aggregate

from domain.access import AccessDenied
from domain.authored import AUTHORED_CLASS_VERSION, author_fields, upcast_without_author
from domain.authorship import Author
from domain.errors import Conflict, DomainError, InvalidInput, NotFound
from domain.funds import FUNDLEDGER_NAMESPACE

MAX_PRINCIPAL_LENGTH = 200


class SettlementRefused(DomainError):
    """A settlement command that breaks a rule of the clearing procedure."""


class SettlementNotFound(SettlementRefused, NotFound):
    """No settlement was drafted for the province and year (HTTP 404)."""


class SettlementStateConflict(SettlementRefused, Conflict):
    """The step does not fit the settlement's state: already approved or posted, not yet
    approved, or drafted on books that have moved since (HTTP 409)."""


class DrafterMayNotApprove(SettlementRefused, AccessDenied):
    """The approver drafted a version of the settlement (maker ≠ checker, HTTP 403)."""


def settlement_id(province: str, year: int) -> uuid.UUID:
    """The settlement's aggregate id: one settlement per province and year."""
    return uuid.uuid5(FUNDLEDGER_NAMESPACE, f"settlement:{province}:{year}")


# --------------------------------------------------------------------------- the rules


def check_principal(principal: str) -> str:
    """Every step names who took it."""
    text = principal.strip()
    if not text or len(text) > MAX_PRINCIPAL_LENGTH:
        raise InvalidInput(
            f"who does it is 1 to {MAX_PRINCIPAL_LENGTH} characters", field="principal"
        )
    return text


def check_author(author: Author) -> Author:
    """Every step names who took it: the author, with its name checked and trimmed."""
    return replace(author, recorded_by=check_principal(author.recorded_by))


def check_still_draft(settlement: Settlement) -> None:
    """Only a draft is redrafted or approved: approved figures are posted as approved, or not
    at all, and they are approved once."""
    if settlement.status != "draft":
        raise SettlementStateConflict(
            f"the {settlement.province} {settlement.year} settlement is already "
            f"{settlement.status} (approved by {settlement.approved_by}): it can no longer be "
            "redrafted or approved",
            field="status",
        )


def check_approver_did_not_draft(settlement: Settlement, approver: str) -> None:
    """The approver may not be anyone who drafted a version of the settlement.

    docs/contract.md ("Identity and access"): an approver may not approve a settlement they
    drafted — the separation of duties of 内部控制 (不相容岗位相互分离).
    """
    if approver in settlement.drafters:
        raise DrafterMayNotApprove(
            f"{approver} drafted this settlement and may not approve it: another officer approves",
            field="principal",
        )


def check_approved_for_posting(settlement: Settlement) -> None:
    """A settlement is posted once, and only after it is approved."""
    if settlement.status == "posted":
        raise SettlementStateConflict(
            f"the {settlement.province} {settlement.year} settlement was already posted "
            f"by {settlement.posted_by}",
            field="status",
        )
    if settlement.status != "approved":
        raise SettlementStateConflict(
            f"the {settlement.province} {settlement.year} settlement is a draft: approve it first",
            field="status",
        )


# --------------------------------------------------------------------------- the aggregate


class Settlement(Aggregate, created_event_name="Drafted"):
    """The gap allocation of one province and year, and the steps it went through."""

    TOPIC = "fundledger:Settlement"

    class Event(Aggregate.Event):
        """Every settlement event names its province and year, and who recorded it."""

        TOPIC: ClassVar[str]
        class_version = AUTHORED_CLASS_VERSION
        province: str
        year: int
        recorded_by: str | None
        request_id: str | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            upcast_without_author(state)

    class Created(Aggregate.Created):
        """The library's base creation event, named only to give it a stable topic."""

        TOPIC = "fundledger:Settlement.Created"

    class Drafted(Created):
        """The first draft: the policy, the inputs' hash and the full result."""

        TOPIC = "fundledger:Settlement.Drafted"
        class_version = AUTHORED_CLASS_VERSION
        province: str
        year: int
        policy: dict[str, Any]
        inputs_hash: str
        result: dict[str, Any]
        drafted_by: str
        recorded_by: str | None
        request_id: str | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            upcast_without_author(state)

    class Redrafted(Event):
        """A new draft replaced the earlier one (other inputs or another policy)."""

        TOPIC = "fundledger:Settlement.Redrafted"
        policy: dict[str, Any]
        inputs_hash: str
        result: dict[str, Any]
        drafted_by: str

        def apply(self, aggregate: Any) -> None:
            aggregate.policy = self.policy
            aggregate.inputs_hash = self.inputs_hash
            aggregate.result = self.result
            aggregate.drafted_by = self.drafted_by
            aggregate.drafters = sorted({*aggregate.drafters, self.drafted_by})

    class Approved(Event):
        TOPIC = "fundledger:Settlement.Approved"
        approved_by: str
        inputs_hash: str

        def apply(self, aggregate: Any) -> None:
            aggregate.approved_by = self.approved_by
            aggregate.status = "approved"

    class Posted(Event):
        """The draws were written (in the same save as this event)."""

        TOPIC = "fundledger:Settlement.Posted"
        posted_by: str
        draw_references: list[str]
        draws_total_fen: int

        def apply(self, aggregate: Any) -> None:
            aggregate.posted_by = self.posted_by
            aggregate.status = "posted"

    def __init__(
        self,
        *,
        province: str,
        year: int,
        policy: dict[str, Any],
        inputs_hash: str,
        result: dict[str, Any],
        drafted_by: str,
    ) -> None:
        self.province = province
        self.year = year
        self.policy = policy
        self.inputs_hash = inputs_hash
        self.result = result
        self.drafted_by = drafted_by
        self.drafters = [drafted_by]
        self.status = "draft"
        self.approved_by: str | None = None
        self.posted_by: str | None = None

    # ----------------------------------------------------------------- commands

    @classmethod
    def draft(
        cls,
        province: str,
        year: int,
        *,
        policy: dict[str, Any],
        inputs_hash: str,
        result: dict[str, Any],
        author: Author,
    ) -> Settlement:
        """The first draft of the province's settlement for the year, made by ``author``."""
        author = check_author(author)
        return cls._create(
            cls.Drafted,
            id=settlement_id(province, year),
            province=province,
            year=year,
            policy=policy,
            inputs_hash=inputs_hash,
            result=result,
            drafted_by=author.recorded_by,
            **author_fields(author),
        )

    def redraft(
        self, *, policy: dict[str, Any], inputs_hash: str, result: dict[str, Any], author: Author
    ) -> bool:
        """Replace the draft; False (nothing recorded) when it repeats the current draft."""
        check_still_draft(self)
        author = check_author(author)
        if (policy, inputs_hash, result) == (self.policy, self.inputs_hash, self.result):
            return False
        self.trigger_event(
            Settlement.Redrafted,
            province=self.province,
            year=self.year,
            policy=policy,
            inputs_hash=inputs_hash,
            result=result,
            drafted_by=author.recorded_by,
            **author_fields(author),
        )
        return True

    def approve(self, author: Author) -> bool:
        """Approve the draft; False when the same officer already approved it.

        The approver is the author's name, compared with the recorded names of the drafts.
        """
        author = check_author(author)
        approved_by = author.recorded_by
        if self.status == "approved" and self.approved_by == approved_by:
            return False
        check_still_draft(self)
        check_approver_did_not_draft(self, approved_by)
        self.trigger_event(
            Settlement.Approved,
            province=self.province,
            year=self.year,
            approved_by=approved_by,
            inputs_hash=self.inputs_hash,
            **author_fields(author),
        )
        return True

    def post(self, author: Author, draw_references: list[str], draws_total_fen: int) -> None:
        """Record that the draws were posted (saved together with the draws' events)."""
        author = check_author(author)
        check_approved_for_posting(self)
        self.trigger_event(
            Settlement.Posted,
            province=self.province,
            year=self.year,
            posted_by=author.recorded_by,
            draw_references=list(draw_references),
            draws_total_fen=draws_total_fen,
            **author_fields(author),
        )
