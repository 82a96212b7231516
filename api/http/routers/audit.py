"""The auditor's routes (docs/contract.md, "Auditors"; docs/audit.md).

``GET /v1/audit/verify``: every chain, against seals and checkpoints, and every projection
against a replay. ``POST /v1/audit/seals`` and ``POST /v1/audit/checkpoints`` record a seal of a
province's year and a checkpoint of its chain heads (the provincial office). ``GET
/v1/audit/anchors``, ``GET /v1/audit/keys`` and ``GET /v1/audit/replay/{fund}`` show the seals
and checkpoints, the public signing keys, and a fund's statement from its raw events beside the
read models' (auditors and the provincial office).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from api.http.clearing_schemas import AuditOut
from api.http.deps import AppDep, Caller
from api.usecases import audit
from domain.funds import FundId

router = APIRouter(prefix="/v1", tags=["audit"])

ProvinceQuery = Annotated[str, Query(pattern=r"^[0-9]{2}0000$", examples=["140000"])]


class SealIn(BaseModel):
    """The province and year to seal."""

    model_config = ConfigDict(extra="forbid")
    province: str = Field(pattern=r"^[0-9]{2}0000$", examples=["140000"])
    year: int = Field(ge=1998, le=2100, examples=[2024])


class CheckpointIn(BaseModel):
    """The province whose chain heads to record; ``every``: only if that many events came
    since the last checkpoint, or it is of an earlier day."""

    model_config = ConfigDict(extra="forbid")
    province: str = Field(pattern=r"^[0-9]{2}0000$", examples=["140000"])
    every: int | None = Field(default=None, ge=1, examples=[10000])


@router.get("/audit/verify", operation_id="audit_verify", response_model=AuditOut)
def verify(
    app: AppDep,
    who: Caller,
    province: Annotated[str | None, Query(pattern=r"^[0-9]{2}0000$")] = None,
    fund: Annotated[str | None, Query(description="scheme:region")] = None,
    year: Annotated[int | None, Query(ge=1998, le=2100)] = None,
) -> dict[str, Any]:
    """``{ok, checked, findings}``: 200 either way; ``ok`` says whether anything differs."""
    fund_id = None if fund is None else FundId.parse(fund)
    report = audit.verify(app, who, province=province, fund=fund_id, year=year)
    return audit.report_json(report)


@router.post("/audit/seals", operation_id="audit_seal", status_code=201)
def seal(body: SealIn, app: AppDep, who: Caller) -> dict[str, Any]:
    """The seal recorded: every fund's chain head and the year's totals in fen, signed."""
    return audit.seal(app, who, body.province, body.year)


@router.post("/audit/checkpoints", operation_id="audit_checkpoint", status_code=201)
def checkpoint(body: CheckpointIn, app: AppDep, who: Caller) -> dict[str, Any]:
    """The checkpoint recorded, or ``{"recorded": null}`` when none was due."""
    recorded = audit.checkpoint(app, who, body.province, every=body.every)
    return {"recorded": recorded}


@router.get("/audit/anchors", operation_id="audit_anchors")
def anchors(province: ProvinceQuery, app: AppDep, who: Caller) -> list[dict[str, Any]]:
    """Every seal and checkpoint of the province, oldest first."""
    return audit.anchors(app, who, province)


@router.get("/audit/keys", operation_id="audit_keys")
def keys(app: AppDep, who: Caller) -> list[dict[str, str]]:
    """The public keys (PEM) that seals and checkpoints are signed with."""
    return audit.keys(app, who)


@router.get("/audit/replay/{fund}", operation_id="audit_replay")
def replay(
    fund: str,
    app: AppDep,
    who: Caller,
    as_of: Annotated[str | None, Query(examples=["2025-03-31T18:00:00+08:00"])] = None,
    year: Annotated[int | None, Query(ge=1998, le=2100)] = None,
) -> dict[str, Any]:
    """The fund's statement from its raw events alone, beside the read models'."""
    return audit.replay(app, who, FundId.parse(fund), as_of, year)
