"""Sign-in, the session cookie, CSRF and sign-out, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.bootstrap import App, bootstrap_app
from api.http.app import create_app
from api.settings import Settings
from api.usecases.tokens import revoke_token
from tests.web.conftest import CSRF_FIELD, OPERATOR, csrf_of, new_token, sign_in


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[tuple[str, App]]:
    """An initialised store of the test's own and its composition root."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/web.db"
    else:
        url = request.getfixturevalue("postgres_url")
    app = bootstrap_app(Settings(database_url=url))
    app.init()
    try:
        yield url, app
    finally:
        app.close()


@pytest.fixture
def client(store: tuple[str, App]) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(database_url=store[0]))) as client:
        yield client


def _signin_form(client: TestClient) -> str:
    match = CSRF_FIELD.search(client.get("/signin").text)
    assert match is not None
    return match.group(1)


def test_sign_in_sets_a_strict_http_only_cookie(store: tuple[str, App], client: TestClient) -> None:
    name, token = new_token(store[1], "provincial", "140000")
    csrf = _signin_form(client)
    answer = client.post(
        "/signin", data={"token": token, "csrf": csrf, "next": "/me"}, follow_redirects=False
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/me"
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("fl_session="))
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Secure" not in cookie  # plain HTTP here
    assert token not in cookie  # the cookie is a session id, never the token
    me = client.get("/me")
    assert me.status_code == 200
    assert name in me.text
    assert "省级" in me.text


def test_over_tls_the_cookie_is_secure(store: tuple[str, App]) -> None:
    _, token = new_token(store[1], "auditor", "000000")
    app = create_app(Settings(database_url=store[0]))
    with TestClient(app, base_url="https://testserver") as client:
        csrf = _signin_form(client)
        answer = client.post("/signin", data={"token": token, "csrf": csrf}, follow_redirects=False)
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("fl_session="))
    assert "Secure" in cookie


def test_a_wrong_token_is_refused_and_no_session_is_made(client: TestClient) -> None:
    csrf = _signin_form(client)
    answer = client.post("/signin", data={"token": "flt_nope", "csrf": csrf})
    assert answer.status_code == 401
    assert "令牌无效或已吊销" in answer.text
    assert "fl_session" not in client.cookies
    assert client.get("/me", follow_redirects=False).status_code == 303


def test_sign_in_without_its_csrf_secret_is_refused(
    store: tuple[str, App], client: TestClient
) -> None:
    _, token = new_token(store[1], "provincial", "140000")
    _signin_form(client)
    answer = client.post("/signin", data={"token": token, "csrf": "forged"})
    assert answer.status_code == 403
    assert answer.headers["content-type"].startswith("text/html")
    assert "fl_session" not in client.cookies


def test_a_signed_out_page_goes_to_sign_in_and_back(client: TestClient) -> None:
    answer = client.get("/overview?year=2024", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/signin?next=%2Foverview%3Fyear%3D2024"
    assert 'name="next" value="/overview?year=2024"' in client.get(answer.headers["location"]).text


def test_sign_in_never_sends_the_browser_to_another_site(
    store: tuple[str, App], client: TestClient
) -> None:
    _, token = new_token(store[1], "provincial", "140000")
    csrf = _signin_form(client)
    answer = client.post(
        "/signin",
        data={"token": token, "csrf": csrf, "next": "//evil.example/x"},
        follow_redirects=False,
    )
    assert answer.headers["location"] == "/overview"


def test_revoking_the_token_ends_its_sessions(store: tuple[str, App], client: TestClient) -> None:
    name, token = new_token(store[1], "provincial", "140000")
    sign_in(client, token)
    assert client.get("/me").status_code == 200
    revoke_token(store[1], OPERATOR, name)
    assert client.get("/me", follow_redirects=False).status_code == 303
    assert client.post("/signout", data={"csrf": "x"}).status_code == 401


def test_sign_out_needs_the_csrf_secret_then_ends_the_session(
    store: tuple[str, App], client: TestClient
) -> None:
    _, token = new_token(store[1], "municipal", "140100")
    sign_in(client, token)
    cookie = client.cookies["fl_session"]
    refused = client.post("/signout", data={"csrf": "forged"})
    assert refused.status_code == 403
    assert client.get("/me").status_code == 200
    answer = client.post("/signout", data={"csrf": csrf_of(client)}, follow_redirects=False)
    assert answer.status_code == 303
    client.cookies.set("fl_session", cookie)  # the old cookie, replayed
    assert client.get("/me", follow_redirects=False).status_code == 303


def test_the_api_still_answers_problem_json(client: TestClient) -> None:
    answer = client.get("/v1/ratios", params={"year": 2024})
    assert answer.status_code == 401
    assert answer.headers["content-type"] == "application/problem+json"
