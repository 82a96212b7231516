"""``audit verify``'s check of the sums read model: ``fl_sums`` against ``fl_postings``.

The rest of the audit replays the events against the postings (the statements); this check
closes the loop for the sums the pages read (:mod:`projections.sums`): each side is read in one
query summed on the database's side, and every key on which they differ is a finding (a sum
changed, added or removed, or a posting whose sum is missing).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from domain.money import format_fen
from projections.audit import Finding
from projections.db import ProjectionDB
from projections.service import ReadModels
from projections.sums import GROUP_BY_KEY, GROUPED_POSTINGS, KEY

Key = tuple[Any, ...]
_STORED = "SELECT " + ", ".join(KEY) + ", amount_fen, postings FROM fl_sums"  # noqa: S608


def sums_findings(
    read_models: ReadModels,
    provinces: Sequence[str],
    *,
    fund: str | None = None,
    year: int | None = None,
) -> list[Finding]:
    """Every sum of ``provinces`` (only ``fund``'s, only ``year``'s when given) that differs
    from its postings."""
    found: list[Finding] = []
    for province in provinces:
        db = read_models.for_province(province).db
        found.extend(differences(db, province, fund=fund, year=year))
    return found


def differences(
    db: ProjectionDB, province: str, *, fund: str | None = None, year: int | None = None
) -> list[Finding]:
    """The province's sums that differ from a GROUP BY of its postings, in key order."""
    on = " WHERE province = %s"
    params: list[object] = [province]
    if fund is not None:
        on += " AND fund = %s"
        params.append(fund)
    if year is not None:
        on += " AND fiscal_year = %s"
        params.append(year)
    expected = _by_key(db.query(GROUPED_POSTINGS + on + GROUP_BY_KEY, params))
    stored = _by_key(db.query(_STORED + on, params))
    found = []
    for key in sorted(expected.keys() | stored.keys(), key=repr):
        want, have = expected.get(key), stored.get(key)
        if want == have:
            continue
        detail = f"{_describe(key)}: {_state(have)} in fl_sums but {_state(want)} in fl_postings"
        found.append(Finding("sums", str(key[1]), None, detail, f"{key[1]} {detail}"))
    return found


def _by_key(rows: list[tuple[Any, ...]]) -> dict[Key, tuple[int, int]]:
    size = len(KEY)
    return {
        tuple(str(v) if isinstance(v, str) else int(v) for v in row[:size]): (
            int(row[size]),
            int(row[size + 1]),
        )
        for row in rows
    }


def _describe(key: Key) -> str:
    """``2025-03 subsidy.standard@central county 140105 (restatement)``."""
    _, _, fiscal_year, month, line, sub_line, level, county, is_transfer, restatement = key
    text = f"{fiscal_year}-{month:02d} {line}"
    text += f".{sub_line}" if sub_line else ""
    text += f"@{level}" if level else ""
    text += f" county {county}" if county else ""
    text += " (balance transfer)" if is_transfer else ""
    text += " (restatement)" if restatement else ""
    return text


def _state(found: tuple[int, int] | None) -> str:
    if found is None:
        return "no sum"
    amount, count = found
    return f"{format_fen(amount)} over {count} posting(s)"
