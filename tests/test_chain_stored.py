"""The walk's hash of a stored event's JSON is :func:`domain.chain.chain_hash`, byte for byte.

The audit hashes a plain stored event from its decoded JSON (:func:`stored_chain_hash`), its
time as the stored text when :func:`canonical_stamp` accepts it. These tests hold it to the one
definition of the hash: on random payloads, ids, versions, times and topics; on every chained
event class of the fund, stored with random field values, against the event the library's
mapper decodes; and on the pinned events of ``test_chain_vectors``.
"""

from __future__ import annotations

import typing
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import StoredEvent
from hypothesis import given, settings
from hypothesis import strategies as st

from api.bootstrap import bootstrap
from api.settings import Settings
from domain.audit import _chained_class, _recompute, plain_link
from domain.chain import AUTHORSHIP_FIELDS, canonical_stamp, chain_hash, stored_chain_hash
from domain.fund import Fund
from tests.test_chain_vectors import HEADS, STORED

JSON_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.text(),
)
TIMES = st.datetimes(
    min_value=datetime(1, 1, 1, 0, 0, 1),
    max_value=datetime(9999, 12, 30),
    timezones=st.just(UTC),
)


@settings(max_examples=300, deadline=None)
@given(
    topic=st.text(),
    originator_id=st.uuids(),
    version=st.integers(min_value=1, max_value=2**63 - 1),
    moment=TIMES,
    payload=st.dictionaries(st.text(), JSON_VALUES),
    authors=st.tuples(st.none() | st.text(), st.none() | st.text()),
    prev_hash=st.text(),
)
def test_the_stored_hash_is_chain_hash_on_random_content(
    topic: str,
    originator_id: UUID,
    version: int,
    moment: datetime,
    payload: dict[str, Any],
    authors: tuple[str | None, str | None],
    prev_hash: str,
) -> None:
    payload = {
        **payload,
        "prev_hash": prev_hash,
        **dict(zip(AUTHORSHIP_FIELDS, authors, strict=True)),
    }
    for library_field in ("chain_hash", "class_version"):
        payload.pop(library_field, None)
    before = dict(payload)
    expected = chain_hash(
        topic=topic,
        originator_id=originator_id,
        originator_version=version,
        timestamp=moment,
        payload=payload,
    )
    stamp = moment.isoformat()
    if canonical_stamp(stamp):
        found = stored_chain_hash(
            topic=topic,
            originator_id=str(originator_id),
            originator_version=version,
            timestamp=stamp,
            payload=payload,
        )
        assert found == expected
    assert payload == before  # the authors left out are put back


@settings(max_examples=500, deadline=None)
@given(
    moment=st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=8))])),
    separator=st.sampled_from("T T"),
)
def test_a_canonical_stamp_is_its_own_isoformat(moment: datetime, separator: str) -> None:
    text = moment.isoformat(sep=separator)
    if canonical_stamp(text):
        assert datetime.fromisoformat(text).isoformat() == text
    expected = moment.utcoffset() == timedelta(0) and moment.microsecond != 0 and separator == "T"
    assert canonical_stamp(text) == expected


@given(text=st.from_regex(r"\A\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00\Z"))
def test_a_stamp_of_the_stored_shape_is_canonical_only_when_it_round_trips(text: str) -> None:
    try:
        again = datetime.fromisoformat(text).isoformat()
    except ValueError:
        assert not canonical_stamp(text)
        return
    assert canonical_stamp(text) == (again == text)


def test_stamps_that_are_not_hashed_as_stored() -> None:
    for text in (
        "2024-03-31T08:30:00+00:00",  # no microseconds: isoformat leaves them out
        "2024-03-31T08:30:00.000000+00:00",
        "2024-03-31 08:30:00.000001+00:00",
        "2024-03-31T16:30:00.000001+08:00",
        "2024-02-30T08:30:00.000001+00:00",
        "2024-03-31T24:00:00.000001+00:00",
        "２024-03-31T08:30:00.000001+00:00",
        "20240331T083000.000001+00:00",
    ):
        assert not canonical_stamp(text), text
    assert canonical_stamp("2024-03-31T08:30:00.000001+00:00")


def _chained_classes() -> list[type]:
    found = []
    for value in vars(Fund).values():
        if isinstance(value, type) and _chained_class(getattr(value, "TOPIC", "")) is value:
            found.append(value)
    return found


def _field_values(cls: type) -> st.SearchStrategy[dict[str, Any]]:
    """Random values for every field the class declares (as the mapper would store them)."""
    fields: dict[str, st.SearchStrategy[Any]] = {}
    for base in reversed(cls.__mro__):
        for name, kind in typing.get_type_hints(base).items():
            if typing.get_origin(kind) is typing.ClassVar or name in (
                "originator_id",
                "originator_version",
                "timestamp",
                "originator_topic",
                "chain_hash",
            ):
                continue
            options: list[st.SearchStrategy[Any]] = []
            for each in typing.get_args(kind) or (kind,):
                if each is type(None):
                    options.append(st.none())
                elif each is bool:
                    options.append(st.booleans())
                elif each is int:
                    options.append(st.integers(min_value=-(2**63), max_value=2**63 - 1))
                else:
                    options.append(st.text())
            fields[name] = st.one_of(options)
    return st.fixed_dictionaries(fields)


CLASSES = _chained_classes()


def test_every_chained_class_of_the_fund_is_tried() -> None:
    assert len(CLASSES) >= 19, CLASSES
    assert Fund.Opened in CLASSES
    assert Fund.PostingReversed in CLASSES


@settings(max_examples=400, deadline=None)
@given(data=st.data(), originator_id=st.uuids(), moment=TIMES)
def test_every_event_class_walks_as_the_mapper_decodes_it(
    data: st.DataObject, originator_id: UUID, moment: datetime
) -> None:
    cls = data.draw(st.sampled_from(CLASSES))
    fields = data.draw(_field_values(cls))
    version = 1 if issubclass(cls, Fund.Opened) else data.draw(st.integers(2, 10**9))
    content = {
        "topic": cls.TOPIC,  # type: ignore[attr-defined]
        "originator_id": originator_id,
        "originator_version": version,
        "timestamp": moment,
    }
    fields["chain_hash"] = chain_hash(**content, payload=dict(fields))  # type: ignore[arg-type]
    state = {
        "timestamp": {"_type_": "datetime_iso", "_data_": moment.isoformat()},
        **fields,
        "class_version": cls.class_version,  # type: ignore[attr-defined]
    }
    stored = StoredEvent(originator_id, version, cls.TOPIC, orjson.dumps(state))  # type: ignore[attr-defined]
    ledger = _LEDGER[0]
    decoded = ledger.province("140000").mapper.to_domain_event(stored)
    plain = plain_link(stored, {})
    assert plain is not None
    event, recomputed = plain
    assert type(event) is type(decoded)
    assert vars(event) == vars(decoded)
    assert recomputed == _recompute(decoded) == fields["chain_hash"]


_LEDGER = [bootstrap(Settings(database_url="memory://"))]


def test_the_pinned_events_hash_as_written_on_the_stored_path() -> None:
    originator_id = UUID("00000000-0000-0000-0000-000000000000")
    for (version, topic, state), expected in zip(STORED, HEADS, strict=True):
        found = plain_link(StoredEvent(originator_id, version, topic, state.encode()), {})
        assert found is not None
        # another id than the pinned one: the hash covers the id, so it must differ...
        assert found[1] != expected
    from tests.scenario import CITY

    for (version, topic, state), expected in zip(STORED, HEADS, strict=True):
        found = plain_link(StoredEvent(CITY.aggregate_id, version, topic, state.encode()), {})
        assert found is not None
        assert found[1] == expected  # ...and with the fund's own id it is the pinned hash
