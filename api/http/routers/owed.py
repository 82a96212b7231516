"""What a posted settlement left owed, due against paid (docs/clearing.md §1 step 8)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.http.clearing_schemas import OwedOut
from api.http.clearing_schemas import ProvincePath as Province
from api.http.deps import AppDep, Caller
from api.usecases import settlements
from api.usecases.settlements import SettlementKey
from clearing.owed import owed_rows

router = APIRouter(prefix="/v1", tags=["settlements"])


@router.get("/provinces/{province}/owed", operation_id="get_owed", response_model=list[OwedOut])
def owed(
    province: Province,
    year: Annotated[int, Query(ge=1998, le=2100, description="the settled year")],
    app: AppDep,
    who: Caller,
) -> list[dict[str, str]]:
    """Each debtor's own fault or residual, paid so far and outstanding; a city sees its own."""
    return owed_rows(settlements.owed(app, who, SettlementKey(province, year)))
