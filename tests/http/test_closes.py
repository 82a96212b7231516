"""``POST /v1/funds/{fund}/years/{year}/close`` and restatements against a real server.

Worked by hand: resident:140100 opens 2023 with 5000.00; 2023 interest 100.00 (closing
5100.00), closed; a 2023 benefit of 40.00 restated afterwards: the restated view closes 2023 at
5060.00, the as-closed view still at 5100.00.
"""

from __future__ import annotations

from tests.http.conftest import LiveServer
from tests.http.routes import event_count, fields, open_fund, problem, row


def test_close_then_restate(live_server: LiveServer) -> None:
    open_fund(live_server, "resident:140100", first_year=2023)
    token = live_server.token("closer", "municipal", "140100")
    with live_server.client(token) as client:
        posted = client.post("/v1/postings", json=row(
            "resident:140100", "interest", "100.00", "2023-12-21", "I-1"))  # fmt: skip
        assert posted.status_code == 201
        closed = client.post("/v1/funds/resident:140100/years/2023/close")
        assert closed.status_code == 200, closed.text
        assert closed.json() == {"fund": "resident:140100", "year": 2023, "closed": True,
                                 "version": 3}  # fmt: skip
        assert fields(problem(client.post("/v1/funds/resident:140100/years/2023/close"), 422)) == [
            "year"
        ]
        late = row("resident:140100", "benefit", "40.00", "2023-12-30", "B-1")
        before = event_count(live_server, "resident:140100")
        assert fields(problem(client.post("/v1/postings", json=late), 422)) == ["value_date"]
        assert event_count(live_server, "resident:140100") == before
        restated = client.post("/v1/postings", params={"restate": "true"}, json=late)
        assert restated.status_code == 201, restated.text
        url = "/v1/funds/resident:140100/statement"
        now = client.get(url, params={"year": 2023}).json()
        then = client.get(url, params={"year": 2023, "view": "as_closed"}).json()
    assert (now["closing_balance"], then["closing_balance"]) == ("5060.00", "5100.00")
    assert now["closed_at"] is not None
    with live_server.client(live_server.token(role="municipal", region="140200")) as client:
        problem(client.post("/v1/funds/resident:140100/years/2024/close"), 403)
