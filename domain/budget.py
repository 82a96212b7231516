"""The budget aggregate (预算, docs/domain.md §4): one per fund and fiscal year, every version kept.

A budget is drafted on the statement lines of docs/domain.md §2, in fen. A draft may be replaced
by a new draft until it is approved; after that it changes only by an adjustment (预算调整方案)
with an approval reference of its own, and the original stays visible. Commands check every
rule (one function per rule below, each naming its seed) and raise a :class:`BudgetRefused`;
the events' ``apply`` only assign. Event classes have explicit topics: the topics are forever.
Every event records who made it (class version 2, :mod:`domain.authored`); the approval is by
someone who drafted no version of the budget (docs/contract.md, "Identity and access").
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, ClassVar

from eventsourcing.domain import Aggregate

from domain.access import AccessDenied
from domain.authored import AUTHORED_CLASS_VERSION, author_fields, upcast_without_author
from domain.authorship import Author
from domain.errors import DomainError, InvalidInput, NotFound
from domain.funds import FUNDLEDGER_NAMESPACE, FundId
from domain.lines import ALL_EXPENSE, ALL_INCOME, Line
from domain.money import MAX_FEN_EXCLUSIVE, format_fen_grouped

MAX_REFERENCE_LENGTH = 200
MAX_ADJUSTMENTS = 100
"""Adjustments one budget year may carry (a bound, far above any real year's count)."""


class BudgetRefused(DomainError):
    """A budget command that breaks a budget rule (a seed's rule, or the ledger's own)."""


class BudgetNotFound(NotFound):
    """Naming a budget that was never drafted (HTTP 404)."""


def budget_id(fund: FundId, year: int) -> uuid.UUID:
    """The budget's aggregate id, derived from fund and year so that a retry collides."""
    return uuid.uuid5(FUNDLEDGER_NAMESPACE, f"budget:{fund}:{year}")


# --------------------------------------------------------------------------- the rules


def check_line_amounts(lines: Mapping[Line, int]) -> dict[str, int]:
    """Every statement line, in statement order, with a budget of zero or more fen.

    A line left out is budgeted at zero. Budgets are kept on the lines of docs/domain.md §2 (the
    layout of the 收支预算表), not on sub-lines.
    """
    for line, amount in lines.items():
        assert isinstance(amount, int), amount
        assert not isinstance(amount, bool), amount
        if amount < 0:
            raise InvalidInput(f"{line.value}: a budget line cannot be negative", field="lines")
        if amount >= MAX_FEN_EXCLUSIVE:
            raise InvalidInput(f"{line.value}: 10^13 yuan or more", field="lines")
    return {line.value: lines.get(line, 0) for line in Line}


def income_total_fen(lines: Mapping[str, int]) -> int:
    """本年收入合计 (inter-level income included)."""
    return sum(amount for key, amount in lines.items() if Line(key) in ALL_INCOME)


def expense_total_fen(lines: Mapping[str, int]) -> int:
    """本年支出合计 (inter-level expense included)."""
    return sum(amount for key, amount in lines.items() if Line(key) in ALL_EXPENSE)


def check_no_current_deficit(lines: Mapping[str, int]) -> None:
    """No current-year deficit budget: the expense total may not exceed the income total.

    Shanxi 2024 draft (晋, 征求意见稿) §(三): 居民医保基金预算坚持"以收定支、收支平衡、略有结余"
    原则 … 原则上不编制当年赤字预算. Nantong 2019 (通政办发〔2019〕101号) and Jilin 2016
    (吉政办发〔2016〕84号): 以收定支、收支平衡、略有结余.
    """
    income, expense = income_total_fen(lines), expense_total_fen(lines)
    if expense > income:
        raise BudgetRefused(
            f"a current-year deficit budget: expense {format_fen_grouped(expense)} exceeds "
            f"income {format_fen_grouped(income)} by {format_fen_grouped(expense - income)} "
            "(以收定支、收支平衡、略有结余: no deficit budget)",
            field="lines",
        )


def check_no_cumulative_deficit(lines: Mapping[str, int], opening_balance_fen: int) -> None:
    """No cumulative deficit budget: opening balance + income − expense may not fall below 0.

    Shanxi 2024 draft §(三): 不编制基金历年累计结余赤字预算. The opening balance is the
    previous year's closing balance (年末滚存结余), given by the caller from the read model.
    """
    closing = opening_balance_fen + income_total_fen(lines) - expense_total_fen(lines)
    if closing < 0:
        raise BudgetRefused(
            "a cumulative deficit budget: opening balance "
            f"{format_fen_grouped(opening_balance_fen)} plus this budget's surplus leaves "
            f"{format_fen_grouped(closing)} at year end "
            "(不编制基金历年累计结余赤字预算)",
            field="lines",
        )


def check_permitted_expense_lines(
    lines: Mapping[str, int], permitted: frozenset[Line] | None
) -> None:
    """Only the expense lines the province permits may carry a budget (``None``: any line).

    Shanxi 2024 draft §(三): 除基本医保待遇支出、用于大病保险支出、转移支出、上解上级支出、
    补助下级支出外，原则上不应编制其他支出预算 — benefit, critical_illness, transfer_out,
    to_upper and to_lower only. A forbidden line budgeted at zero is no budget, and passes.
    """
    if permitted is None:
        return
    refused = [
        key
        for key, amount in lines.items()
        if amount > 0 and Line(key) in ALL_EXPENSE and Line(key) not in permitted
    ]
    if refused:
        allowed = ", ".join(line.value for line in Line if line in permitted)
        raise BudgetRefused(
            f"the province permits no budget on {', '.join(refused)} "
            f"(permitted expense lines: {allowed})",
            field="lines",
        )


def check_still_draft(budget: Budget) -> None:
    """An approved budget is not re-drafted: a change is an adjustment.

    Nantong 2019: 严格按照批准的预算和规定的程序执行，不得随意调整; Shanxi 2024 draft.
    """
    if budget.approval_ref is not None:
        raise BudgetRefused(
            f"the {budget.fund} {budget.year} budget was approved ({budget.approval_ref}): it "
            "is not re-drafted; a change is an adjustment with its own approval reference",
            field="year",
        )


def check_approved(budget: Budget) -> None:
    """An adjustment changes an approved budget; a draft is simply re-drafted.

    Nantong 2019: 在执行中因特殊情况需要增加支出或减少收入，应当编制基本医疗保险基金预算调整
    方案，按社会保险基金预算调整程序经批准后执行.
    """
    if budget.approval_ref is None:
        raise BudgetRefused(
            f"the {budget.fund} {budget.year} budget is a draft: approve it first, or re-draft it",
            field="year",
        )


def check_approval_ref(reference: str) -> str:
    """An approval, and each adjustment, names the approval document (批准文号).

    Nantong 2019: a budget adjustment 经批准后执行 — so it carries its own approval reference.
    """
    return _required_text(
        reference,
        "approval_ref",
        "an approval reference (批准文号) is required, e.g. 晋医保函〔2025〕12号",
    )


def check_principal(principal: str) -> str:
    """An approval names who approved it (the approving authority, or the officer recording it)."""
    return _required_text(principal, "principal", "who approved the budget is required")


class DrafterMayNotApprove(BudgetRefused, AccessDenied):
    """The approver drafted a version of the budget (maker ≠ checker, HTTP 403)."""


def check_approver_did_not_draft(budget: Budget, approver: str) -> None:
    """A budget is approved by someone who drafted no version of it.

    docs/contract.md ("Identity and access"): budget approval, not of a draft the approver
    made — the separation of duties of 内部控制 (不相容岗位相互分离). Drafts stored before
    authors were recorded name nobody, and bind nobody.
    """
    if approver in budget.drafters:
        raise DrafterMayNotApprove(
            f"{approver} drafted the {budget.fund} {budget.year} budget and may not approve it: "
            "another officer approves",
            field="principal",
        )


def _required_text(value: str, field: str, missing: str) -> str:
    text = value.strip()
    if not text:
        raise BudgetRefused(missing, field=field)
    if len(text) > MAX_REFERENCE_LENGTH:
        raise InvalidInput(f"{field}: at most {MAX_REFERENCE_LENGTH} characters", field=field)
    return text


def check_balanced(
    lines: Mapping[str, int], opening_balance_fen: int, permitted: frozenset[Line] | None
) -> None:
    """Every rule on a budget's lines, in the order a finance officer reads them."""
    check_permitted_expense_lines(lines, permitted)
    check_no_current_deficit(lines)
    check_no_cumulative_deficit(lines, opening_balance_fen)


# --------------------------------------------------------------------------- the aggregate


class Budget(Aggregate, created_event_name="Created"):
    """The budget of one fund for one fiscal year, with every version it went through."""

    TOPIC = "fundledger:Budget"

    class Event(Aggregate.Event):
        """Every budget event names its fund and year (the read model needs no lookup) and who
        recorded it."""

        TOPIC: ClassVar[str]
        class_version = AUTHORED_CLASS_VERSION
        fund: str
        year: int
        recorded_by: str | None
        request_id: str | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            upcast_without_author(state)

    class Created(Aggregate.Created):
        """The fund's budget for the year was begun (its first draft follows at once)."""

        TOPIC = "fundledger:Budget.Created"
        class_version = AUTHORED_CLASS_VERSION
        fund: str
        year: int
        recorded_by: str | None
        request_id: str | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            upcast_without_author(state)

    class Versioned(Event):
        """A set of budget lines was recorded: version ``revision`` of this budget."""

        TOPIC = "fundledger:Budget.Versioned"
        revision: int
        lines: dict[str, int]
        opening_balance_fen: int

        def apply(self, aggregate: Any) -> None:
            aggregate.revision = self.revision
            aggregate.lines = dict(self.lines)
            aggregate.opening_balance_fen = self.opening_balance_fen

    class Drafted(Versioned):
        """A draft was recorded, replacing any earlier draft."""

        TOPIC = "fundledger:Budget.Drafted"

        def apply(self, aggregate: Any) -> None:
            super().apply(aggregate)
            if self.recorded_by is not None:
                aggregate.drafters = sorted({*aggregate.drafters, self.recorded_by})

    class Approved(Versioned):
        """The draft was approved: these lines are the original budget (年初预算)."""

        TOPIC = "fundledger:Budget.Approved"
        approval_ref: str
        principal: str

        def apply(self, aggregate: Any) -> None:
            super().apply(aggregate)
            aggregate.approval_ref = self.approval_ref
            aggregate.approved_by = self.principal
            aggregate.original_lines = dict(self.lines)
            aggregate.refs = [self.approval_ref]

    class Adjusted(Versioned):
        """An approved adjustment (预算调整方案) replaced the current lines."""

        TOPIC = "fundledger:Budget.Adjusted"
        adjustment: int
        approval_ref: str
        principal: str
        memo: str | None

        def apply(self, aggregate: Any) -> None:
            super().apply(aggregate)
            aggregate.adjustments = self.adjustment
            aggregate.refs = [*aggregate.refs, self.approval_ref]

    def __init__(self, *, fund: str, year: int) -> None:
        self.fund = fund
        self.year = year
        self.revision = 0
        self.lines: dict[str, int] = {}
        self.opening_balance_fen = 0
        self.approval_ref: str | None = None
        self.approved_by: str | None = None
        self.original_lines: dict[str, int] | None = None
        self.adjustments = 0
        self.refs: list[str] = []
        self.drafters: list[str] = []
        """Who recorded a draft of this budget (drafts stored before authors were, nobody)."""

    # ----------------------------------------------------------------- commands

    @classmethod
    def begin(cls, fund: FundId, year: int, *, author: Author | None) -> Budget:
        """A new, empty budget; :meth:`draft` gives it its first lines before it is saved."""
        return cls._create(
            cls.Created,
            id=budget_id(fund, year),
            fund=str(fund),
            year=year,
            **author_fields(author),
        )

    def draft(
        self,
        lines: Mapping[Line, int],
        opening_balance_fen: int,
        permitted: frozenset[Line] | None,
        *,
        author: Author | None,
    ) -> bool:
        """Record a draft (replacing any earlier one); False when it repeats the current draft."""
        check_still_draft(self)
        full = check_line_amounts(lines)
        if self.revision and full == self.lines and opening_balance_fen == self.opening_balance_fen:
            return False
        check_balanced(full, opening_balance_fen, permitted)
        self._trigger(Budget.Drafted, author, lines=full, opening_balance_fen=opening_balance_fen)
        return True

    def approve(self, approval_ref: str, *, author: Author | None) -> bool:
        """Approve the draft; False when it was already approved under the same reference.

        The approval's ``principal`` is the author's name: the one maker ≠ checker compares.
        """
        reference = check_approval_ref(approval_ref)
        if self.approval_ref == reference:
            return False
        check_still_draft(self)
        principal = check_principal(author.recorded_by if author else "")
        check_approver_did_not_draft(self, principal)
        assert self.revision > 0, "a budget is saved with its first draft"
        self._trigger(
            Budget.Approved,
            author,
            lines=dict(self.lines),
            opening_balance_fen=self.opening_balance_fen,
            approval_ref=reference,
            principal=principal,
        )
        return True

    def adjust(
        self,
        lines: Mapping[Line, int],
        approval_ref: str,
        *,
        author: Author | None,
        opening_balance_fen: int,
        permitted: frozenset[Line] | None,
        memo: str | None = None,
    ) -> bool:
        """Record an approved adjustment; False when it repeats the latest adjustment."""
        reference = check_approval_ref(approval_ref)
        principal = check_principal(author.recorded_by if author else "")
        check_approved(self)
        full = check_line_amounts(lines)
        if self.adjustments and reference == self.refs[-1] and full == self.lines:
            return False
        if reference in self.refs:
            raise BudgetRefused(
                f"{reference} already approved this budget or an earlier adjustment: an "
                "adjustment has an approval reference of its own",
                field="approval_ref",
            )
        if full == self.lines:
            raise BudgetRefused("the adjustment changes no line of the budget", field="lines")
        if self.adjustments >= MAX_ADJUSTMENTS:
            raise BudgetRefused(f"at most {MAX_ADJUSTMENTS} adjustments a year", field="year")
        check_balanced(full, opening_balance_fen, permitted)
        self._trigger(
            Budget.Adjusted,
            author,
            lines=full,
            opening_balance_fen=opening_balance_fen,
            adjustment=self.adjustments + 1,
            approval_ref=reference,
            principal=principal,
            memo=memo.strip() if memo and memo.strip() else None,
        )
        return True

    @property
    def status(self) -> str:
        """``draft``, ``approved`` (the original stands) or ``adjusted``."""
        if self.approval_ref is None:
            return "draft"
        return "adjusted" if self.adjustments else "approved"

    def _trigger(
        self, event_class: type[Budget.Versioned], author: Author | None, **payload: Any
    ) -> None:
        self.trigger_event(
            event_class,
            fund=self.fund,
            year=self.year,
            revision=self.revision + 1,
            **author_fields(author),
            **payload,
        )
