"""A server killed with SIGKILL while it posts a settlement: the post is whole or absent.

A settlement's post is one save (``Ledger.post_atomically``): the draw events of the
adjustment fund, their mirrors on the pools, their vouchers and the settlement's ``Posted``
event go to the store in one transaction (PostgreSQL: one simple query, one implicit
transaction; SQLite: one transaction). There is no point inside it where a kill could leave a
part, so the test kills the server at several moments after the post was sent, from "before it
reads the request" to "after it answered", and checks each time that the store holds all of the
post or none of it and that the read models equal a rebuild. After the restart, posting again
completes it exactly once.
"""

from __future__ import annotations

import threading
import time

import httpx

from api.bootstrap import bootstrap, bootstrap_app
from api.settings import Settings
from api.usecases.settlements import SettlementKey
from clearing.inputs import draw_prefix
from clearing.settlement import find_settlement
from domain.fund import Fund
from tests.faults.common import caught_up, rebuilt
from tests.http.conftest import ServerFactory
from tests.scenario import CITY, CITY2, PROVINCE_ADJUSTMENT, posting
from tests.test_settlement import POSTINGS

PROVINCE = "140000"
YEAR = 2024
DRAWS = {str(CITY): 300_000_00, str(CITY2): 60_000_00}
"""The draws the settlement of Shanxi 2024 makes (as in tests/http/test_settlements.py)."""
State = tuple[str, dict[str, int], dict[str, int], dict[str, int]]
NOTHING: State = ("approved", {}, {}, {})
DELAYS: tuple[float | None, ...] = (0.0, 0.3, None)
"""Seconds between sending the post and the kill; None: kill once it answered."""


def recorded(url: str) -> State:
    """The settlement's status; per pool, the draws on the adjustment fund, the mirrors on
    the pool and the vouchers of the draws (a fresh ledger, nothing cached)."""
    ledger = bootstrap(Settings(database_url=url))
    try:
        settlement = find_settlement(ledger, PROVINCE, YEAR)
        assert settlement is not None
        prefix = draw_prefix(YEAR)
        draws: dict[str, int] = {}
        for event in ledger.fund_events(PROVINCE_ADJUSTMENT):
            if isinstance(event, Fund.Posted) and event.reference.startswith(prefix):
                receiver = str(event.counterparty)
                draws[receiver] = draws.get(receiver, 0) + event.amount_fen
        mirrors: dict[str, int] = {}
        for pool in (CITY, CITY2):
            for event in ledger.fund_events(pool):
                if str(getattr(event, "reference", "")).endswith("#" + prefix + pool.region):
                    mirrors[str(pool)] = mirrors.get(str(pool), 0) + 1
        store = ledger.province(PROVINCE).vouchers
        found = store.select_vouchers(
            str(PROVINCE_ADJUSTMENT), [prefix + pool.region for pool in (CITY, CITY2)]
        )
        vouchers = {str(v.counterparty): v.amount_fen for v in found.values()}
        return settlement.status, draws, mirrors, vouchers
    finally:
        ledger.close()


def whole_post() -> State:
    return "posted", DRAWS, dict.fromkeys(DRAWS, 1), DRAWS


def books(url: str) -> None:
    """``init``, the two pools and the adjustment fund with 2023 and 2024 on their books."""
    app = bootstrap_app(Settings(database_url=url))
    try:
        app.init()
        for fund, balance in ((CITY, 1_000_000_00), (CITY2, 500_000_00), (PROVINCE_ADJUSTMENT, 0)):
            app.ledger.open_fund(fund, first_year=2023, opening_balance_fen=balance)
        app.ledger.import_postings([posting(p) for p in POSTINGS])
    finally:
        app.close()


def test_a_server_killed_during_a_settlement_post_leaves_all_of_it_or_none(
    empty_url: str, server_factory: ServerFactory
) -> None:
    url = empty_url
    books(url)
    server = server_factory(url)
    drafter, poster = "officer-li", "officer-zhao"
    tokens = {name: server.token(name) for name in (drafter, poster)}
    path = f"/v1/settlements/{SettlementKey(PROVINCE, YEAR).id}"
    with server.client(tokens[drafter]) as li, server.client(tokens[poster]) as zhao:
        assert li.post(f"/v1/provinces/{PROVINCE}/levies/post", params={"year": YEAR}).is_success
        assert li.post("/v1/settlements", json={"province": PROVINCE, "year": YEAR}).is_success
        assert zhao.post(f"{path}/approve").is_success
    assert recorded(url) == NOTHING
    key = {"Idempotency-Key": "post-2024", "Authorization": f"Bearer {tokens[poster]}"}
    outcomes: list[str] = []
    for delay in DELAYS:
        answers: list[object] = []

        def send(target: str = server.url, answers: list[object] = answers) -> None:
            try:
                with httpx.Client(base_url=target, timeout=30) as client:
                    answers.append(client.post(f"{path}/post", headers=key))
            except httpx.TransportError as error:
                answers.append(error)

        sender = threading.Thread(target=send)
        sender.start()
        if delay is None:
            sender.join(timeout=60)
        else:
            time.sleep(delay)
        server.process.kill()
        server.process.wait(timeout=10)
        sender.join(timeout=30)
        state = recorded(url)
        assert state in (NOTHING, whole_post()), (delay, state)
        assert caught_up(url) == rebuilt(url)
        if isinstance(answers[0], httpx.Response):  # answered before the kill: it is whole
            assert answers[0].status_code == 200, answers[0].text
            assert state == whole_post()
        outcomes.append("whole" if state == whole_post() else "none")
        print(f"killed {delay} s after the post: {outcomes[-1]}")
        server = server_factory(url)
        if state == whole_post():
            break
    assert outcomes[0] == "none", outcomes  # a kill landed before the post was stored
    assert outcomes[-1] == "whole", outcomes
    with server.client(tokens[poster]) as zhao:
        done = zhao.post(f"{path}/post", headers={"Idempotency-Key": "post-2024"})
        assert done.status_code == 200, done.text
        assert done.json()["status"] == "posted"
        again = zhao.post(f"{path}/post")
        assert again.status_code == 409
        assert "already posted" in again.json()["detail"]
    assert recorded(url) == whole_post()  # exactly once: one draw, one mirror, one voucher
    assert caught_up(url) == rebuilt(url)
