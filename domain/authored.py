"""The author on every event: two fields from class version 2 on, and the upcaster of older events.

Every event written records who made it (docs/contract.md, "Identity and access"):
``recorded_by`` (a token's name over HTTP, ``--by`` or ``cli:<user>`` on the CLI) and, over HTTP,
``request_id``. The event classes of every aggregate declare both fields and ``class_version
= 2``; an event stored before (class version 1, without the fields) is upcast on reading with
both set to None, which is what "not recorded" means. The hash chain of a fund leaves a None
out of the hashed content (see :mod:`domain.chain`), so those events verify as they were written.
"""

from __future__ import annotations

from typing import Any

from domain.authorship import Author

AUTHORED_CLASS_VERSION = 2
"""The class version from which an event records its author."""


def author_fields(author: Author | None) -> dict[str, str | None]:
    """The event fields that record ``author`` (both None when the caller named none)."""
    if author is None:
        return {"recorded_by": None, "request_id": None}
    return {"recorded_by": author.recorded_by, "request_id": author.request_id}


def upcast_without_author(state: dict[str, Any]) -> None:
    """Upcast the stored state of an event written before authors were recorded (v1 → v2).

    Both are set to None: nobody was recorded then. (A version 2 event whose class version
    was removed from its stored state loses its author here, and so breaks its hash.)
    """
    state["recorded_by"] = None
    state["request_id"] = None


def author_named(author: Author | None, principal: str | None) -> Author | None:
    """The author of a command that still accepts the name of its principal as text.

    Transitional: the adapters now pass ``author``; ``principal`` (a name typed with ``--by``)
    stays accepted until every caller passes an :class:`Author`, and means the same author.
    """
    if author is not None:
        return author
    if principal is None:
        return None
    return Author(recorded_by=principal)
