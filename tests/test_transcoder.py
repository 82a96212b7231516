"""The ledger's transcoder writes the bytes the library's own would, and reads them back alike.

:class:`FlatStateTranscoder` encodes flat states with orjson; these tests hold it to the
library's :class:`JSONTranscoder` byte for byte on random states (flat ones, which take the
fast path, and nested ones, which do not), and value for value on decoding, including what
orjson cannot read itself (a huge integer, NaN).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, JSONTranscoder, UUIDAsHex
from hypothesis import given, settings
from hypothesis import strategies as st

from api.bootstrap import bootstrap
from api.settings import Settings
from domain.persistence.transcoder import FlatStateTranscoder
from domain.postings import Posting
from tests.scenario import CITY


def _registered(transcoder: JSONTranscoder) -> JSONTranscoder:
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        transcoder.register(transcoding)
    return transcoder


LIBRARY = _registered(JSONTranscoder())
FAST = _registered(FlatStateTranscoder())

TIMES = st.datetimes(timezones=st.none() | st.just(UTC))
FLAT_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.text(),
    TIMES,
)
ANY_VALUES = st.recursive(
    FLAT_VALUES | st.uuids() | st.decimals(allow_nan=False, places=2),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=400, deadline=None)
@given(state=st.dictionaries(st.text(), FLAT_VALUES))
def test_a_flat_state_is_written_and_read_as_the_library_does(state: dict[str, Any]) -> None:
    written = FAST.encode(state)
    assert written == LIBRARY.encode(state)
    assert FAST.decode(written) == LIBRARY.decode(written) == state


@settings(max_examples=300, deadline=None)
@given(state=st.dictionaries(st.text(), ANY_VALUES))
def test_any_state_is_written_and_read_as_the_library_does(state: dict[str, Any]) -> None:
    written = FAST.encode(state)
    assert written == LIBRARY.encode(state)
    assert FAST.decode(written) == LIBRARY.decode(written)


@pytest.mark.parametrize(
    "stored",
    [
        b'{"n":123456789012345678901234567890}',
        b'{"x":NaN,"y":Infinity}',
        b'{"t":{"_type_":"datetime_iso","_data_":"2024-01-02T03:04:05+00:00"},"a":[1,{"b":2}]}',
        b'{"u":{"_type_":"uuid_hex","_data_":"00000000000000000000000000000001"}}',
        b'{"d":{"_type_":"decimal_str","_data_":"1.50"},"e":{"_type_":"x"}}',
        '{"memo":"个人缴费 11月"}'.encode(),
    ],
)
def test_stored_bytes_read_as_the_library_reads_them(stored: bytes) -> None:
    assert repr(FAST.decode(stored)) == repr(LIBRARY.decode(stored))


def test_what_the_fast_path_cannot_write_fails_as_the_library_fails() -> None:
    with pytest.raises(UnicodeEncodeError):
        LIBRARY.encode({"memo": "\ud800"})
    with pytest.raises(UnicodeEncodeError):
        FAST.encode({"memo": "\ud800"})


def test_the_ledger_stores_a_posting_in_the_library_s_bytes() -> None:
    """A real posting's event, through the ledger's mapper: the library's bytes, read back
    to the same event."""
    ledger = bootstrap(Settings(database_url="memory://"))
    ledger.open_fund(CITY, first_year=2024, opening_balance_fen=0, name="城市")
    from domain.lines import Line

    ledger.post(
        Posting(
            fund=CITY,
            line=Line.CONTRIBUTION,
            amount_fen=600_000,
            value_date=date(2024, 11, 2),
            reference="C-1",
            sub_line="individual",
            memo="个人缴费",
        )
    )
    app = ledger.province(CITY.province)
    assert isinstance(app.mapper.transcoder, FlatStateTranscoder)
    (posted,) = [e for e in ledger.fund_events(CITY) if getattr(e, "reference", None) == "C-1"]
    stored = app.mapper.to_stored_event(posted)
    state = dict(vars(posted))
    state.pop("originator_id")
    state.pop("originator_version")
    state["class_version"] = type(posted).class_version
    assert stored.state == LIBRARY.encode(state)
    assert vars(app.mapper.to_domain_event(stored)) == vars(posted)
    assert isinstance(posted.timestamp, datetime)
    assert UUID(str(posted.originator_id)) == CITY.aggregate_id
    assert Decimal(posted.amount_fen) == 600_000
