"""``GET /v1/projections/status``: each province's read-model position and lag."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.http.deps import AppDep, Caller
from api.schemas_out import ProjectionStatusOut
from api.usecases import read_models

router = APIRouter(prefix="/v1", tags=["projections"])


@router.get(
    "/projections/status",
    operation_id="get_projections_status",
    response_model=list[ProjectionStatusOut],
    summary="Each province's projection position, the head of its event log, and the lag",
)
def projections_status(app: AppDep, who: Caller) -> list[dict[str, Any]]:
    """The caller's own province (every province for an auditor of 000000)."""
    return read_models.projections_status(app, who)
