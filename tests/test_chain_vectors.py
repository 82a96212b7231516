"""Fixed test vectors: known events with their hashes written out, so the chain cannot drift.

The stored rows below were written by the ledger (a fund opened, a subsidy, a benefit, an
enrolment, a year close, with and without a request id). Decoded by the ledger's own mapper
they must verify against the hashes as written here: a change to the canonical encoding, to
the set of hashed fields (``value_date`` dropped, say) or to the hash function fails this
test, which no recomputed expectation could catch.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from api.bootstrap import bootstrap
from api.settings import Settings
from domain.audit import verify_chain
from domain.chain import GENESIS_HASH, canonical_bytes, chain_hash, payload_of
from tests.scenario import CITY

STORED = (
    (
        1,
        "fundledger:Fund.Opened",
        '{"timestamp":{"_type_":"datetime_iso","_data_":"2026-12-02T14:21:32.082129+00:00"},"originator_topic":"fundledger:Fund","prev_hash":"0000000000000000000000000000000000000000000000000000000000000000","chain_hash":"33c2ac49570fd38dcaef91a9a6a52229513b5180ad9c9b7ecc8971f200cb0285","recorded_by":"province-office","request_id":"req-0","fund":"resident:140100","first_year":2024,"opening_balance_fen":3522600,"name":"太原市","class_version":2}',
    ),
    (
        2,
        "fundledger:Fund.SubsidyReceived",
        '{"timestamp":{"_type_":"datetime_iso","_data_":"2026-12-02T14:21:32.094981+00:00"},"prev_hash":"33c2ac49570fd38dcaef91a9a6a52229513b5180ad9c9b7ecc8971f200cb0285","chain_hash":"71d99268f30cb362970680c34abca1bb584949456c6b6020b7c984f359dd0472","recorded_by":"wang","request_id":"req-1","reference":"S-1","amount_fen":500000,"value_date":"2024-06-30","sub_line":"standard","level":"central","county":"140105","counterparty":null,"purpose":null,"memo":null,"restatement":false,"class_version":2}',
    ),
    (
        3,
        "fundledger:Fund.BenefitPaid",
        '{"timestamp":{"_type_":"datetime_iso","_data_":"2026-12-02T14:21:32.095231+00:00"},"prev_hash":"71d99268f30cb362970680c34abca1bb584949456c6b6020b7c984f359dd0472","chain_hash":"cdf6b5672d711de713b9f19f6f9e3d898fc01930b276d648afdf3a3882abed4e","recorded_by":"cli:zhao","request_id":null,"reference":"B-1","amount_fen":300050,"value_date":"2024-03-31","sub_line":"inpatient","level":null,"county":null,"counterparty":null,"purpose":null,"memo":null,"restatement":false,"class_version":2}',
    ),
    (
        4,
        "fundledger:Fund.EnrolmentRecorded",
        '{"timestamp":{"_type_":"datetime_iso","_data_":"2026-12-02T14:21:32.101254+00:00"},"prev_hash":"cdf6b5672d711de713b9f19f6f9e3d898fc01930b276d648afdf3a3882abed4e","chain_hash":"236879a40c1b570abc76e1dc6343b822673027b58c96a0dc9dd309939c118a84","recorded_by":"wang","request_id":"req-1","year":2024,"county":"140105","enrolled":1000,"class_version":2}',
    ),
    (
        5,
        "fundledger:Fund.YearClosed",
        '{"timestamp":{"_type_":"datetime_iso","_data_":"2026-12-02T14:21:32.126583+00:00"},"prev_hash":"236879a40c1b570abc76e1dc6343b822673027b58c96a0dc9dd309939c118a84","chain_hash":"b17fdeb286d854478084a3bfe4ef9a990a9106a3fb064284f95a200eb5a3c4bf","recorded_by":"wang","request_id":"req-1","year":2024,"class_version":2}',
    ),
)
"""(version, topic, state) of resident:140100's first five events, as stored."""

HEADS = (
    "33c2ac49570fd38dcaef91a9a6a52229513b5180ad9c9b7ecc8971f200cb0285",
    "71d99268f30cb362970680c34abca1bb584949456c6b6020b7c984f359dd0472",
    "cdf6b5672d711de713b9f19f6f9e3d898fc01930b276d648afdf3a3882abed4e",
    "236879a40c1b570abc76e1dc6343b822673027b58c96a0dc9dd309939c118a84",
    "b17fdeb286d854478084a3bfe4ef9a990a9106a3fb064284f95a200eb5a3c4bf",
)


def test_the_stored_events_verify_against_their_written_hashes() -> None:
    ledger = bootstrap(Settings(database_url="memory://"))
    try:
        mapper = ledger.province("140000").mapper
        stored = [
            StoredEvent(CITY.aggregate_id, version, topic, state.encode())
            for version, topic, state in STORED
        ]
        links = verify_chain(stored, mapper.to_domain_event)
    finally:
        ledger.close()
    assert [link.findings for link in links] == [()] * len(STORED)
    assert tuple(link.recomputed_hash for link in links) == HEADS
    for link, expected in zip(links, HEADS, strict=True):
        event = link.event
        assert event is not None
        assert event.chain_hash == expected
        assert (
            chain_hash(
                topic=link.topic,
                originator_id=event.originator_id,
                originator_version=event.originator_version,
                timestamp=event.timestamp,
                payload=payload_of(event),
            )
            == expected
        )


def test_the_hash_of_a_known_content() -> None:
    """The function itself, on a payload given in full (an author left out when None)."""
    assert canonical_bytes({"b": 1, "a": "太", "c": date(2024, 3, 31)}) == (
        b'{"a":"\xe5\xa4\xaa","b":1,"c":"2024-03-31"}'
    )
    payload = {
        "prev_hash": GENESIS_HASH,
        "reference": "B-1",
        "amount_fen": 300050,
        "value_date": date(2024, 3, 31),
        "name": "太原市",
        "recorded_by": None,
        "request_id": None,
    }
    known = {
        "topic": "fundledger:Fund.BenefitPaid",
        "originator_id": UUID("12345678-1234-5678-1234-567812345678"),
        "originator_version": 3,
        "timestamp": datetime(2024, 3, 31, 8, 30, tzinfo=UTC),
    }
    assert chain_hash(**known, payload=payload) == (  # type: ignore[arg-type]
        "b72f566289f7e9e86c3036b867f464d9051de3a188b8e1bd346cadea62cac21f"
    )
    assert chain_hash(**known, payload={**payload, "recorded_by": "wang"}) == (  # type: ignore[arg-type]
        "d6627edddfa7b334762da1592bfde68c7b7b1c4323055624dd60f9e604f4254a"
    )
    without_date = {k: v for k, v in payload.items() if k != "value_date"}
    assert chain_hash(**known, payload=without_date) != chain_hash(**known, payload=payload)  # type: ignore[arg-type]


def test_the_digest_of_known_postings() -> None:
    """A voucher's digest tells a retry from a clash, also against vouchers stored long ago:
    the digests of two known postings, written out, so that the encoding cannot drift."""
    from api.postings_csv import rows_postings

    rows = [
        {
            "fund": "resident:140100",
            "line": "subsidy",
            "sub_line": "standard",
            "level": "central",
            "amount": "5000.00",
            "value_date": "2024-06-30",
            "reference": "S-1",
            "county": "140105",
            "memo": "中央补助",
        },
        {
            "fund": "resident:140100",
            "line": "to_upper",
            "amount": "12.34",
            "value_date": "2024-06-30",
            "reference": "L-1",
            "counterparty": "adjustment:140000",
            "purpose": "adjustment_levy",
        },
    ]
    assert [p.digest() for p in rows_postings(rows).postings] == [
        "236f1f4a4c4eae8a4abb5f29fd5db16a580fe89865617d0cdf40fc053df1a298",
        "ffe263cb43522db8da6c7ddb12bea031a3035f8aabb286dda64023f614fa6a47",
    ]
