"""A real browser on a real server: Debian's Chromium driven by Playwright.

One ``fundledger serve`` on a fresh PostgreSQL schema holding ``fundledger demo``, started once
for the whole browser run, with tokens made by ``fundledger tokens add`` for a municipal
officer of Taiyuan, two provincial officers of Shanxi (a drafter and an approver) and an
auditor. Each test opens contexts of its own (one per user: separate cookies).

Chromium is launched from ``/usr/bin/chromium`` (``FUNDLEDGER_CHROMIUM`` elsewhere): Playwright's
own browser download cannot be reached. When it is missing the tests fail, unless
``FUNDLEDGER_SKIP_BROWSER=1`` says to skip them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from domain.seal_keys import SIGNING_KEY_ENV, new_private_pem
from tests.conftest import postgres_schema
from tests.http.conftest import LiveServer

CHROMIUM = os.environ.get("FUNDLEDGER_CHROMIUM", "/usr/bin/chromium")
SKIP_BROWSER = os.environ.get("FUNDLEDGER_SKIP_BROWSER") == "1"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PROVINCE = "140000"
CITY = "140100"
YEAR = 2025


@dataclass(frozen=True)
class User:
    """A signed-up user of the workbench: a token's name, role, region and the token."""

    name: str
    role: str
    region: str
    token: str


@dataclass(frozen=True)
class Workbench:
    """The server with the demo loaded, and its users by what they do."""

    server: LiveServer
    municipal: User
    drafter: User
    approver: User
    auditor: User

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def users(self) -> tuple[User, ...]:
        return (self.municipal, self.drafter, self.approver, self.auditor)


def fundledger(*args: str, db_url: str) -> str:
    """Run the ``fundledger`` command as a user would; its stdout (fails on a non-zero exit)."""
    done = subprocess.run(
        [sys.executable, "-c", "from api.cli import main; main()", *args, "--db", db_url],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"fundledger {' '.join(args)}: {done.stderr}"
    return done.stdout


def _add_user(db_url: str, name: str, role: str, region: str) -> User:
    out = fundledger("tokens", "add", name, "--role", role, "--region", region, db_url=db_url)
    return User(name, role, region, out.strip().splitlines()[-1].strip())


@pytest.fixture(scope="session")
def workbench(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workbench]:
    """``fundledger demo`` on a fresh PostgreSQL schema, four tokens, ``fundledger serve``."""
    with postgres_schema() as db_url:
        fundledger("demo", db_url=db_url)
        users = {
            "municipal": _add_user(db_url, "zhang-taiyuan", "municipal", CITY),
            "drafter": _add_user(db_url, "li-ming", "provincial", PROVINCE),
            "approver": _add_user(db_url, "wang-fang", "provincial", PROVINCE),
            "auditor": _add_user(db_url, "zhao-shenji", "auditor", PROVINCE),
        }
        signing_key = new_private_pem().decode()
        server = LiveServer(
            db_url,
            tmp_path_factory.mktemp("workbench"),
            cli=True,
            env={SIGNING_KEY_ENV: signing_key},
        )
        try:
            yield Workbench(server, **users)
        finally:
            server.stop()


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if not Path(CHROMIUM).exists():
        if SKIP_BROWSER:
            pytest.skip(f"no Chromium at {CHROMIUM} and FUNDLEDGER_SKIP_BROWSER=1")
        pytest.fail(
            f"no Chromium at {CHROMIUM}: install Debian's chromium (or set FUNDLEDGER_CHROMIUM),"
            " or skip the browser tests explicitly with FUNDLEDGER_SKIP_BROWSER=1"
        )
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
        yield chromium
    finally:
        chromium.close()


class Sessions:
    """Browser contexts opened by one test, one per user, closed after it."""

    def __init__(self, browser: Browser, workbench: Workbench) -> None:
        self._browser = browser
        self._workbench = workbench
        self._contexts: list[BrowserContext] = []

    def page(self, user: User | None = None) -> Page:
        """A new page of a context of its own; signed in as ``user`` when given."""
        context = self._browser.new_context(
            base_url=self._workbench.url, viewport=VIEWPORT, accept_downloads=True
        )
        context.set_default_timeout(15_000)
        self._contexts.append(context)
        page = context.new_page()
        if user is not None:
            sign_in(page, user)
        return page

    def close(self) -> None:
        for context in self._contexts:
            context.close()


@pytest.fixture
def sessions(browser: Browser, workbench: Workbench) -> Iterator[Sessions]:
    opened = Sessions(browser, workbench)
    try:
        yield opened
    finally:
        opened.close()


def sign_in(page: Page, user: User) -> None:
    """Sign in on the sign-in page with the user's token, as a person would."""
    page.goto("/signin")
    page.fill("input[name=token]", user.token)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert "/signin" not in page.url, f"{user.name} was not signed in: {page.url}"


def screenshot(page: Page, name: str, at: str | None = None) -> Path:
    """A PNG of the viewport into docs/screenshots/ under a fixed name (the docs link it),
    scrolled to the element ``at`` when given."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    if at is not None:
        page.locator(at).first.evaluate("e => e.scrollIntoView({block: 'start'})")
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False, animations="disabled")
    return path
