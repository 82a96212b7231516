"""``fundledger serve``: the HTTP API under uvicorn (docs/operations.md, "Serving").

The settings reach every worker process through the environment (``FUNDLEDGER_*``), the same
way the CLI reads them, and each worker builds its own application with the app factory
:func:`api.http.app.create_app`. uvicorn and FastAPI are imported only when this command runs,
so the rest of the command line starts fast.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Annotated

import typer

from api.cli.common import DbOption

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
"""prometheus-client's multiprocess mode: set for several workers (docs/operations.md)."""


def serve(
    host: Annotated[str, typer.Option("--host", help="the address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="the TCP port")] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64, help="worker processes")] = 1,
    db: DbOption = None,
) -> None:
    """Serve the HTTP API (OpenAPI at /openapi.json, health at /healthz, metrics at /metrics)."""
    import uvicorn

    if db:
        os.environ["FUNDLEDGER_DATABASE_URL"] = db
    made = None
    if workers > 1 and not os.environ.get(MULTIPROC_ENV):
        # Each worker writes its metrics to files there, so /metrics adds every worker up.
        made = tempfile.mkdtemp(prefix="fundledger-metrics-")
        os.environ[MULTIPROC_ENV] = made
    typer.echo(f"fundledger: serving http://{host}:{port} with {workers} worker(s)", err=True)
    try:
        uvicorn.run(
            "api.http.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            access_log=False,
            http="api.http.protocol:NoDelayHttpToolsProtocol",
            loop="uvloop",
            log_config=None,
            server_header=False,
        )
    finally:
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)
