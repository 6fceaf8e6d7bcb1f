"""Reading points in time from the command line and the API (pure functions)."""

from __future__ import annotations

import datetime as dt
import math
import re

from mcp_agent_otel.errors import InputError

_RELATIVE = re.compile(
    r"^(?:now)?\s*-\s*(\d+(?:\.\d+)?)\s*([smhdw])$|^(\d+(?:\.\d+)?)\s*([smhdw])\s+ago$"
)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}

HELP = "ISO 8601 (UTC when no offset), unix seconds, 'now', or relative like -2h / 30m ago"


class TimeSpecError(InputError):
    pass


LATEST = 10_000_000_000.0  # unix seconds, year 2286: later times are typos


def parse_time(text: str, now: float) -> float:
    """Unix seconds for ``text``: ISO 8601, unix seconds, ``now``, ``-2h``, ``30m ago``."""
    seconds = _parse(text, now)
    if not (math.isfinite(seconds) and 0.0 <= seconds <= LATEST):
        raise TimeSpecError(f"{text!r} is not a time between 1970 and 2286; use {HELP}")
    return seconds


def _parse(text: str, now: float) -> float:
    value = text.strip().lower()
    if not value:
        raise TimeSpecError(f"empty time; use {HELP}")
    if value == "now":
        return now
    match = _RELATIVE.match(value)
    if match:
        amount = match.group(1) or match.group(3)
        unit = match.group(2) or match.group(4)
        return now - float(amount) * _UNIT_SECONDS[unit]
    try:
        return float(value)
    except ValueError:
        pass
    try:
        parsed = dt.datetime.fromisoformat(
            text.strip().replace("Z", "+00:00").replace("z", "+00:00")
        )
    except (ValueError, OverflowError):
        raise TimeSpecError(f"{text!r} is not a time; use {HELP}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed.timestamp()


def iso(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).isoformat().replace("+00:00", "Z")
