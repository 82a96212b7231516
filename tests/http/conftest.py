"""A real server for the HTTP tests: uvicorn in a subprocess, on SQLite and PostgreSQL.

``live_server`` is one server per test module and backend (servers take a second to start):
tests that share it use fund ids of their own. ``server_factory`` starts servers of a test's
own, with options (``workers``, another store, the ``fundledger serve`` command itself).

    def test_statement(live_server):
        token = live_server.token("li", "provincial", "140000")
        with live_server.client(token) as client:
            assert client.get("/healthz").status_code == 200
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from api.bootstrap import App, bootstrap_app
from api.settings import Settings
from api.usecases.tokens import add_token, revoke_token
from domain.access import Principal
from tests.conftest import postgres_schema

START_TIMEOUT_SECONDS = 30.0
OPERATOR = Principal(name="cli:tests")


def free_port() -> int:
    """A TCP port nobody listens on now (the server binds it a moment later)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def init_store(db_url: str) -> None:
    """``fundledger init`` on the store, through the composition root."""
    app = bootstrap_app(Settings(database_url=db_url))
    try:
        app.init()
    finally:
        app.close()


class LiveServer:
    """A uvicorn process serving the API on a store; stopped by the fixture that made it."""

    def __init__(
        self,
        db_url: str,
        workdir: Path,
        *,
        workers: int = 1,
        cli: bool = False,
        env: dict[str, str] | None = None,
    ) -> None:
        self.db_url = db_url
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / f"server-{self.port}.log"
        self._app: App | None = None
        self._clients: list[httpx.Client] = []
        environment = {**os.environ, "FUNDLEDGER_DATABASE_URL": db_url, **(env or {})}
        environment.pop("PROMETHEUS_MULTIPROC_DIR", None)
        if workers > 1 and not cli:
            metrics_dir = workdir / f"metrics-{self.port}"
            metrics_dir.mkdir()
            environment["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
        if cli:
            command = [sys.executable, "-c", "from api.cli import main; main()", "serve"]
        else:
            command = [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "api.http.app:create_app",
                "--no-access-log",
            ]
        command += ["--host", "127.0.0.1", "--port", str(self.port), "--workers", str(workers)]
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            command, env=environment, stdout=self._log, stderr=subprocess.STDOUT, cwd=workdir
        )
        self._wait_until_up()

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.stop()
                raise RuntimeError(f"the server exited at start:\n{self.log_text()}")
            try:
                httpx.get(f"{self.url}/healthz", timeout=2)
                return
            except httpx.TransportError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the server did not answer within {START_TIMEOUT_SECONDS} s")

    @property
    def app(self) -> App:
        """An App on the server's store, for what the tests do beside the server."""
        if self._app is None:
            self._app = bootstrap_app(Settings(database_url=self.db_url))
        return self._app

    def token(
        self, name: str | None = None, role: str = "provincial", region: str = "140000"
    ) -> str:
        """A new token on the server's store (a unique name when none is given)."""
        name = name or f"t-{uuid.uuid4().hex[:10]}"
        return add_token(self.app, OPERATOR, name, role, region).token

    def revoke(self, name: str) -> None:
        """Revoke a token, as ``fundledger tokens revoke`` does."""
        revoke_token(self.app, OPERATOR, name)

    def client(self, token: str | None = None, **kwargs: object) -> httpx.Client:
        """An HTTP client on the server, with ``Authorization: Bearer`` when given a token."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        client = httpx.Client(base_url=self.url, headers=headers, timeout=30, **kwargs)  # type: ignore[arg-type]
        self._clients.append(client)
        return client

    def log_text(self) -> str:
        """Everything the server wrote to stdout and stderr so far."""
        self._log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 10 s) and close what the tests opened."""
        for client in self._clients:
            client.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log.close()
        if self._app is not None:
            self._app.close()
            self._app = None


def pids_answering(
    server: LiveServer, send: Callable[[], httpx.Response], workers: int = 2, tries: int = 300
) -> set[int]:
    """Call ``send`` until ``workers`` worker processes have answered; their pids.

    Each answer is traced to its worker by the request id in the server's log. The kernel
    spreads new connections over the workers unevenly, hence the loop.
    """
    seen: set[int] = set()
    sent: set[str] = set()
    for _ in range(tries):
        sent.add(send().headers["x-request-id"])
        # a worker may still be writing its line when the answer arrives: only whole lines
        # (ended by a newline) are read, and a line left for a later read is matched then
        for line in server.log_text().split("\n")[:-1]:
            if line.startswith("{") and '"request_id"' in line:
                entry = json.loads(line)
                if entry.get("request_id") in sent:
                    seen.add(entry["pid"])
        if len(seen) == workers:
            return seen
    raise AssertionError(f"only workers {seen} answered {tries} requests")


BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="module", params=BACKENDS)
def module_store_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """An initialised store shared by one test module (one per backend)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('store')}/fundledger.db"
        init_store(url)
        yield url
        return
    with postgres_schema() as url:
        init_store(url)
        yield url


@pytest.fixture(scope="module")
def live_server(
    module_store_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """One server per test module and backend; tests use fund ids of their own."""
    server = LiveServer(module_store_url, tmp_path_factory.mktemp("server"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=BACKENDS)
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An initialised store of this test's own, on each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/fundledger.db"
        init_store(url)
        yield url
        return
    with postgres_schema() as url:
        init_store(url)
        yield url


ServerFactory = Callable[..., LiveServer]


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[ServerFactory]:
    """Start servers of this test's own: ``server_factory(db_url, workers=2, cli=True)``."""
    started: list[LiveServer] = []

    def start(db_url: str, **options: object) -> LiveServer:
        workdir = tmp_path / f"server-{len(started)}"
        workdir.mkdir()
        server = LiveServer(db_url, workdir, **options)  # type: ignore[arg-type]
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in started:
            server.stop()
