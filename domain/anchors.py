"""A province's seals and checkpoints read by their aggregates' ids, not by a scan of its log.

Every seal of a province's year and the province's checkpoints are events of aggregates whose
ids derive from the key (:func:`~domain.seal.seal_id`, :func:`~domain.seal.checkpoint_id`), so
they are found by one indexed read per possible year instead of a walk of the whole event log
filtered by topic (seconds at a million events, for a page that lists a handful of seals).
"""

from __future__ import annotations

from datetime import datetime

from domain.fund import EARLIEST_FIRST_YEAR, LATEST_FIRST_YEAR
from domain.ledger import ProvinceLedger
from domain.seal import Anchor, anchor_of, checkpoint_id, seal_id


def province_anchors(ledger: ProvinceLedger, province: str) -> list[Anchor]:
    """Every seal and checkpoint recorded in the province, in the order recorded (their
    events' times)."""
    ids = [checkpoint_id(province)]
    ids += [seal_id(province, year) for year in range(EARLIEST_FIRST_YEAR, LATEST_FIRST_YEAR + 1)]
    found: list[tuple[datetime, Anchor]] = []
    for aggregate_id in ids:
        for event in ledger.events.get(aggregate_id):
            anchor = anchor_of(event)
            if anchor is not None:
                found.append((event.timestamp, anchor))  # type: ignore[attr-defined]
    found.sort(key=lambda item: item[0])
    return [anchor for _, anchor in found]
