"""The auditor's page: ``audit verify`` with its progress and findings, and the seals.

``/auditor`` lists the seals and checkpoints of a province with the state of each signature
(checked against the signing key the server is configured with); the provincial office may
seal a year from it. ``/auditor/export.zip`` downloads the archive of a year (``audit export``).
``/auditor/verify`` runs :func:`api.usecases.audit.verify` and streams
the page while it runs: one line of progress per step, then the findings, so a long check of a
large store shows how far it got. Everything comes from :mod:`api.usecases.audit`, which
authorizes (docs/workbench.md).
"""

from __future__ import annotations

import datetime
import queue
import shutil
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import FileResponse, RedirectResponse, StreamingResponse
from starlette.background import BackgroundTask

from api.bootstrap import App
from api.http.deps import AppDep
from api.usecases import audit
from api.web import deps
from api.web.deps import CheckedForm, Viewer, page
from domain.access import Action, Principal, may
from domain.regions import province_of
from domain.seal import Anchor, signature_problems
from domain.seal_keys import public_key_from_pem
from projections.audit import AuditReport

router = APIRouter(route_class=deps.WebRoute, include_in_schema=False)
Province = Annotated[str | None, Query(pattern=r"^\d{6}$", description="the province")]
Year = Annotated[
    str | None, Query(pattern=r"^(\d{4})?$", description="only this year (empty: every year)")
]
PROGRESS_STEPS = 50
"""At most this many progress lines on the page, whatever the number of funds."""


@router.get("/auditor", name="auditor")
def auditor(
    request: Request,
    *,
    app: AppDep,
    who: Viewer,
    province: Province = None,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    """The seals of the province with their signatures' state, and the verify form."""
    chosen = province or province_of(who.region)
    seals = seal_rows(app, who, chosen)
    return page(
        request,
        "auditor.html",
        who,
        nav="auditor",
        province=chosen,
        seals=seals,
        may_seal=may(who, Action.CLEAR, chosen),
        done=done == "seal",
        export_year=datetime.date.today().year - 1,
    )


@router.post("/auditor/seal")
def seal(
    *,
    app: AppDep,
    who: Viewer,
    _session: CheckedForm,
    province: Annotated[str, Form(pattern=r"^\d{6}$")],
    year: Annotated[int, Form(ge=1998, le=2100)],
) -> Response:
    """Seal a province's year (the provincial office); back to the seals."""
    audit.seal(app, who, province, year)
    return RedirectResponse(
        f"/auditor?{urlencode({'province': province, 'done': 'seal'})}", status_code=303
    )


@router.get("/auditor/export.zip", name="auditor_export")
def export(
    *,
    app: AppDep,
    who: Viewer,
    province: Annotated[str, Query(pattern=r"^\d{6}$")],
    year: Annotated[int, Query(ge=1998, le=2100)],
) -> Response:
    """The self-contained archive of a province's year (``audit export``), downloaded."""
    folder = Path(tempfile.mkdtemp(prefix="fundledger-export-"))
    name = f"export-{province}-{year}.zip"
    try:
        audit.export(app, who, province, year, folder / name)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return FileResponse(
        folder / name,
        media_type="application/zip",
        filename=name,
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )


@dataclass(frozen=True)
class Step:
    """How far verify got: funds checked of the funds in scope."""

    done: int
    total: int

    @property
    def percent(self) -> int:
        return 100 if self.total == 0 else self.done * 100 // self.total


class VerifyRun:
    """``audit verify`` in a thread of its own; iterating it yields its progress, then
    ``report`` holds what it found."""

    def __init__(self, app: App, who: Principal, province: str | None, year: int | None) -> None:
        self._steps: queue.Queue[Step | Exception | None] = queue.Queue()
        self.report: AuditReport | None = None
        self._shown = -1
        self._first: Step | None = None

        def work() -> None:
            try:
                self.report = audit.verify(
                    app, who, province=province, year=year, progress=self._progress
                )
            except Exception as error:  # noqa: BLE001 - handed to the request's thread, raised there
                self._steps.put(error)
            else:
                self._steps.put(None)

        threading.Thread(target=work, name="web-audit-verify", daemon=True).start()

    def _progress(self, done: int, total: int) -> None:
        step = Step(done, total)
        bucket = step.percent * PROGRESS_STEPS // 100
        if bucket != self._shown or done == total:
            self._shown = bucket
            self._steps.put(step)

    def start(self) -> None:
        """Wait for the first step: a refusal or a bad argument is raised here, before the
        page is sent."""
        item = self._steps.get()
        if isinstance(item, Exception):
            raise item
        if item is None:
            self._steps.put(None)
        else:
            self._first = item

    def __iter__(self) -> Iterator[Step]:
        if self._first is not None:
            yield self._first
        while True:
            item = self._steps.get()
            if item is None:
                return
            if isinstance(item, Exception):
                raise item
            yield item


@router.get("/auditor/verify", name="auditor_verify")
def verify(
    request: Request,
    *,
    app: AppDep,
    who: Viewer,
    province: Province = None,
    year: Year = None,
) -> Response:
    """Run verify; the page streams its progress, then lists every finding."""
    only = int(year) if year else None
    run = VerifyRun(app, who, province, only)
    run.start()
    template = deps.templates.env.get_template("auditor_verify.html")
    context = deps.page_context(request, who, nav="auditor", run=run, province=province, year=only)
    chunks = template.generate(context)
    response = StreamingResponse(
        chunks, media_type="text/html; charset=utf-8", headers={"Cache-Control": "no-store"}
    )
    deps.keep_language(request, response)
    return response


@dataclass(frozen=True)
class SealRow:
    """A seal or checkpoint as the page lists it, with its signature's state."""

    kind: str
    year: int | None
    taken_at: str
    recorded_by: str | None
    funds: int
    digest: str
    key_id: str | None
    state: str
    """``verified``, ``unsigned``, ``unchecked`` (no trusted key here) or ``invalid``."""
    problems: tuple[str, ...]


def seal_rows(app: App, who: Principal, province: str) -> list[SealRow]:
    """Every seal and checkpoint of the province, newest first, each signature checked
    against the key the server signs with (the key ``audit keys`` hands to auditors)."""
    anchors = [Anchor.from_record(a) for a in audit.anchors(app, who, province)]
    trusted = {
        k["key_id"]: public_key_from_pem(k["public_key"].encode(), source="key")
        for k in audit.keys(app, who)
    }
    rows = []
    for anchor in reversed(anchors):
        problems = tuple(signature_problems(anchor, trusted))
        if anchor.signature is None:
            state = "unsigned"
        elif problems:
            state = "invalid"
        elif not trusted:
            state = "unchecked"
        else:
            state = "verified"
        rows.append(
            SealRow(
                kind=anchor.kind,
                year=anchor.year,
                taken_at=anchor.taken_at,
                recorded_by=anchor.recorded_by,
                funds=len(anchor.heads),
                digest=anchor.digest,
                key_id=anchor.key_id,
                state=state,
                problems=problems,
            )
        )
    return rows
