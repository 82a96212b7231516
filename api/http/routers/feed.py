"""``GET /v1/provinces/{province}/feed``: the province's events, a page or a stream.

With ``Accept: text/event-stream`` the answer follows the feed as Server-Sent Events; else it
is one page of JSON. Its guarantees: docs/operations.md, "The change feed".
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query
from fastapi.responses import StreamingResponse

from api.http.deps import AppDep, Caller
from api.http.sse import follow
from api.usecases.feed import (
    DEFAULT_LIMIT,
    DEFAULT_STREAM_SECONDS,
    MAX_LIMIT,
    MAX_STREAM_SECONDS,
    FeedPage,
    check_feed_request,
    feed_page,
    follow_start,
)
from domain.regions import PROVINCES

router = APIRouter(prefix="/v1", tags=["feed"])

STREAM = "text/event-stream"


@router.get(
    "/provinces/{province}/feed",
    operation_id="get_province_feed",
    response_model=FeedPage,
    summary="Every event of the province once, in order (keyset on the notification id)",
    responses={200: {"content": {STREAM: {"schema": {"type": "string"}}}}},
)
def province_feed(
    province: Annotated[
        str,
        Path(
            description="a province code",
            examples=["140000"],
            json_schema_extra={"enum": sorted(PROVINCES)},
        ),
    ],
    *,
    app: AppDep,
    who: Caller,
    after: Annotated[int, Query(ge=0, description="the last notification id already seen")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="events per page")] = (
        DEFAULT_LIMIT
    ),
    max_seconds: Annotated[
        int, Query(ge=1, le=MAX_STREAM_SECONDS, description="how long a stream stays open")
    ] = DEFAULT_STREAM_SECONDS,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
    last_event_id: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Any:
    """A page ``{events, next}``, or with ``Accept: text/event-stream`` the stream."""
    if accept is not None and STREAM in accept:
        check_feed_request(who, province)
        start = follow_start(after, last_event_id)
        return StreamingResponse(
            follow(app, province, start, max_seconds),
            media_type=STREAM,
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    return feed_page(app, who, province, after=after, limit=limit)
