"""Fault tests run on SQLite and PostgreSQL, each on a populated store of its own."""

from __future__ import annotations

import pytest

from tests.faults.common import populate


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest) -> str:
    """A store of this test's own (not initialised), on each backend."""
    found = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")
    assert isinstance(found, str)
    return found


@pytest.fixture
def url(empty_url: str) -> str:
    """A store with three funds, a closed year, an enrolment and some hundred postings."""
    populate(empty_url)
    return empty_url


from tests.http.conftest import server_factory  # noqa: E402, F401 - the real servers
