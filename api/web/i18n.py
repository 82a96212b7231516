"""The workbench's languages: Chinese by default, English on request (docs/workbench.md).

The language is ``?lang=zh|en`` on any page (then kept in the ``fl_lang`` cookie), else the
cookie, else Chinese. A message missing from a catalogue falls back to Chinese, then to its key.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from starlette.requests import Request

LANGUAGES = ("zh", "en")
DEFAULT = "zh"
COOKIE = "fl_lang"
_CATALOGUES = Path(__file__).parent / "messages"


@cache
def catalogue(lang: str) -> dict[str, str]:
    """The messages of a language: ``messages/<lang>.json`` of this package, then every
    page's own ``messages/<page>.<lang>.json`` (keys prefixed by the page's name)."""
    loaded: dict[str, str] = json.loads((_CATALOGUES / f"{lang}.json").read_text("utf-8"))
    for extra in sorted(_CATALOGUES.glob(f"*.{lang}.json")):
        loaded.update(json.loads(extra.read_text("utf-8")))
    return loaded


def language_of(request: Request) -> str:
    """The language a request asks for: the query, else the cookie, else Chinese."""
    for candidate in (request.query_params.get("lang"), request.cookies.get(COOKIE)):
        if candidate in LANGUAGES:
            return candidate
    return DEFAULT


def translate(lang: str, key: str, **values: object) -> str:
    """The message ``key`` in ``lang`` with ``{name}`` placeholders filled."""
    text = catalogue(lang).get(key) or catalogue(DEFAULT).get(key) or key
    return text.format(**values) if values else text
