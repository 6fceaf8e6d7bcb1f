"""Time parameters of the API (``-1h``, ISO 8601, unix seconds: ``time_ranges.HELP``); one
that cannot be read is a 400 naming the parameter."""

from __future__ import annotations

from fastapi import HTTPException

from mcp_agent_otel.regression.time_ranges import TimeSpecError, parse_time


def time_param(value: str | None, name: str, now: float) -> float | None:
    if value is None:
        return None
    try:
        return parse_time(value, now)
    except TimeSpecError as exc:
        raise HTTPException(400, f"{name}: {exc}") from None
