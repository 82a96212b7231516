"""The workbench under test: the real app (TestClient) on a real store.

``demo_store`` is one SQLite store with ``fundledger demo`` loaded, shared by the session
(the demo takes seconds); ``signed_in`` gives a browser-like client signed in with a token of
the role and region asked for, through the sign-in form itself.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.bootstrap import App, bootstrap_app
from api.http.app import create_app
from api.settings import Settings
from api.usecases.tokens import add_token
from domain.access import Principal

OPERATOR = Principal(name="cli:tests")
CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')


def run_cli(db_url: str, *args: str) -> None:
    """``fundledger ARGS`` on the store, as an operator would run it."""
    env = {**os.environ, "FUNDLEDGER_DATABASE_URL": db_url}
    command = [sys.executable, "-c", "from api.cli import main; main()", *args]
    subprocess.run(command, env=env, check=True, capture_output=True, timeout=600)


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite store with the demo province loaded (``fundledger init``, ``demo``)."""
    path = Path(tmp_path_factory.mktemp("web")) / "demo.db"
    url = f"sqlite:///{path}"
    run_cli(url, "init")
    run_cli(url, "demo")
    return url


@pytest.fixture(scope="session")
def demo_app(demo_store: str) -> Iterator[App]:
    """The composition root on the demo store: to make tokens and read expected figures."""
    app = bootstrap_app(Settings(database_url=demo_store))
    try:
        yield app
    finally:
        app.close()


def new_token(app: App, role: str, region: str) -> tuple[str, str]:
    """A fresh token (name, token) of ``role`` bound to ``region``."""
    name = f"{role}-{region}-{uuid.uuid4().hex[:6]}"
    return name, add_token(app, OPERATOR, name, role, region).token


def sign_in(client: TestClient, token: str) -> None:
    """Sign in through the form, as a browser does (fails the test if refused)."""
    form = client.get("/signin")
    assert form.status_code == 200
    match = CSRF_FIELD.search(form.text)
    assert match is not None
    answer = client.post(
        "/signin", data={"token": token, "csrf": match.group(1)}, follow_redirects=False
    )
    assert answer.status_code == 303, answer.text


def csrf_of(client: TestClient, path: str = "/me") -> str:
    """The session's CSRF secret, as a page's form carries it."""
    match = CSRF_FIELD.search(client.get(path).text)
    assert match is not None
    return match.group(1)


@pytest.fixture
def signed_in(demo_store: str, demo_app: App) -> Iterator[Callable[[str, str], TestClient]]:
    """``signed_in(role, region)``: a client of the demo store's app, signed in."""
    clients: list[TestClient] = []

    def make(role: str, region: str) -> TestClient:
        _, token = new_token(demo_app, role, region)
        client = TestClient(create_app(Settings(database_url=demo_store))).__enter__()
        clients.append(client)
        sign_in(client, token)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)
