"""Domain errors: a user's mistake, told in words a finance officer understands.

A broken invariant is not a domain error: it is an ``AssertionError`` that stops the program.
"""

from __future__ import annotations


class DomainError(Exception):
    """A request the ledger refuses. ``field`` names the input at fault, when there is one."""

    def __init__(
        self, message: str, *, field: str | None = None, problems: tuple[str, ...] = ()
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.problems = problems
        """Each problem on its own, when there are several (the CLI prints one per line)."""


class NotFound(DomainError):
    """The request names something that does not exist (HTTP 404)."""


class Conflict(DomainError):
    """The request contradicts what is already recorded (HTTP 409)."""


class Retryable(DomainError):
    """The request may succeed if sent again unchanged: other writers kept moving the same
    funds, or the store did not answer (HTTP 503, CLI exit code 75)."""


class InvalidInput(DomainError):
    """A value that is malformed (money, a date, a fund id, a region code...)."""


class FundNotRegistered(NotFound):
    """Posting to, or naming, a fund that was never opened."""


class FundAlreadyRegistered(Conflict):
    """Opening a fund that is already open (with other particulars)."""


class ReferenceConflict(Conflict):
    """A voucher reference already posted on the fund with other content."""


class PostingRefused(DomainError):
    """A posting that breaks a ledger rule (a seed's rule, or the ledger's own)."""


class ConcurrentWrites(Retryable):
    """Other writers kept moving the same funds while a request was being saved."""
