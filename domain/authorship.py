"""Who recorded an event: the author every write carries (docs/contract.md, "Identity").

Over HTTP the author is the caller's token name and the request id; on the CLI it is
``--by``, else ``FUNDLEDGER_PRINCIPAL``, else ``cli:<operating-system user>``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Author:
    """The principal that made a write, and the HTTP request it came in (if any)."""

    recorded_by: str
    request_id: str | None = None
