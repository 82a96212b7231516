"""Vouchers: the index of references posted on each fund.

A posting's identity is (fund, reference). Each posting's voucher row is written in the same
transaction as its events, under a primary key on (fund, reference), so a retry collides
instead of duplicating, and a unique key on (fund, reverses) lets a posting be reversed once.
The index is derived from the events: an audit can rebuild it and compare.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Voucher:
    """What the ledger remembers of a posted reference."""

    fund: str
    reference: str
    digest: str
    line: str
    amount_fen: int
    sub_line: str | None
    level: str | None
    county: str | None
    counterparty: str | None
    purpose: str | None
    reverses: str | None
    fund_version: int

    @property
    def is_reversal(self) -> bool:
        """True when this voucher itself reverses an earlier one."""
        return self.reverses is not None
