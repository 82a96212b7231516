"""The browser workbench: server-rendered pages at ``/`` on the same use cases as the API.

:func:`install` adds the pages and the static files (served by the app itself: nothing is
fetched from outside the server) to the FastAPI app, and the HTML 404 page a browser gets
for an address that is no route (docs/workbench.md).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"
TEMPLATES_DIR = Path(__file__).parent / "templates"


def install(api: FastAPI) -> None:
    """Include every page router of the workbench and serve its static files at /static."""
    from api.web import pages, unmatched

    for router in pages.routers():
        api.include_router(router)
    api.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    unmatched.install(api)
