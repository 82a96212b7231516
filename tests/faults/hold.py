"""A projector process that stops inside a batch's transaction, for the kill tests.

``python -m tests.faults.hold URL catch_up|rebuild N``: batches of 50 events; after the
inserts of the N-th batch (tracking position moved, rows inserted, nothing committed) it
prints ``holding`` and sleeps until it is killed. The projector is the real one: only the
moment of the kill is chosen.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import Any

from api.bootstrap import bootstrap_app
from api.settings import Settings
from projections import runner


def main(url: str, mode: str, after_batches: int) -> None:
    runner.BATCH_SIZE = 50
    app = bootstrap_app(Settings(database_url=url))
    projector = app.read_models.for_province("140000")
    real_insert = projector.db.insert_many
    seen: set[int] = set()
    calls = {"batches": 0}
    real_apply = projector._apply

    def apply(province: str, batch: list[Any], old: int, new: int) -> bool:
        calls["batches"] += 1
        return real_apply(province, batch, old, new)

    def insert_many(table: str, columns: Sequence[str], rows: Sequence[Any]) -> None:
        real_insert(table, columns, rows)
        if calls["batches"] >= after_batches and calls["batches"] not in seen:
            seen.add(calls["batches"])
            print("holding", flush=True)
            time.sleep(600)

    projector._apply = apply  # type: ignore[method-assign]
    projector.db.insert_many = insert_many  # type: ignore[method-assign]
    if mode == "rebuild":
        projector.rebuild()
    else:
        projector.catch_up()
    print("finished", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
