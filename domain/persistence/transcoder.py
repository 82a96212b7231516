"""The library's JSON transcoder, encoding and decoding flat event states with orjson.

Every event is stored as the library's :class:`~eventsourcing.persistence.JSONTranscoder`
writes it (compact separators, UTF-8 not ASCII-escaped, a registered type as
``{"_type_": name, "_data_": value}``): the stored bytes are part of what an auditor keeps,
and older events must read as they were written. Nearly every state is flat (strings,
integers, booleans, None and the event's time), and for those the library's encoder spends
most of its time in Python; orjson writes the same bytes for them in a fraction of it. Any
other state (a list, a nested object, a UUID, a float...) goes through the library's own
encoder unchanged, so the bytes never depend on which path wrote them
(tests/test_transcoder.py holds the two to the same bytes and the same values).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from eventsourcing.persistence import JSONTranscoder

_PLAIN = frozenset({str, bool, type(None)})
"""The types of a value that orjson writes byte for byte as the library's ``json`` encoder
does (an integer too, within 64 bits; a time is written through the registered transcoding)."""

_MAX_INT = 2**63 - 1
"""orjson's integers are 64-bit; a larger one goes the library's way."""


class FlatStateTranscoder(JSONTranscoder):
    """:class:`JSONTranscoder` with an orjson path for flat states (same bytes, same values)."""

    def encode(self, obj: Any) -> bytes:
        flat = self._flat(obj) if type(obj) is dict else None
        if flat is not None:
            try:
                return orjson.dumps(flat)
            except orjson.JSONEncodeError:  # a lone surrogate: the library's own error
                pass
        return super().encode(obj)

    def _flat(self, state: dict[str, Any]) -> dict[str, Any] | None:
        """The state with its times as the library writes them, or None if it is not flat."""
        flat: dict[str, Any] = {}
        for key, value in state.items():
            kind = type(value)
            if kind in _PLAIN or (kind is int and -_MAX_INT <= value <= _MAX_INT):
                flat[key] = value
            elif kind is datetime and kind in self.types:
                transcoding = self.types[kind]
                flat[key] = {"_type_": transcoding.name, "_data_": transcoding.encode(value)}
            else:
                return None
        return flat

    def decode(self, data: bytes) -> Any:
        try:
            return self._revive(orjson.loads(data))
        except (orjson.JSONDecodeError, _NotExact):  # NaN, a huge integer: the library's way
            return super().decode(data)

    def _revive(self, value: Any) -> Any:
        """What the library's ``object_hook`` makes of a parsed value, innermost first.

        Raises:
            _NotExact: a number orjson read as a float (the library keeps a huge integer).
        """
        if type(value) is dict:
            for key, item in value.items():
                kind = type(item)
                if kind is dict or kind is list:
                    value[key] = self._revive(item)
                elif kind is float:
                    raise _NotExact
            return self._decode_obj(value)
        if type(value) is list:
            return [self._revive(item) for item in value]
        if type(value) is float:
            raise _NotExact
        return value


class _NotExact(Exception):
    """A parsed value that orjson may have read otherwise than the library's parser."""
