"""Demo MCP server ``mathdata``: a safe calculator, statistics, units, numbers, dates and time.

Run: ``python -m mcp_agent_otel.autonomous.servers.mathdata`` (stdio).

Tools: calculate (ast-based, never ``eval``), compute_statistics, convert_units,
sort_numbers, filter_numbers, current_time, date_difference. Pure functions below; only
``current_time`` reads the clock, in the tool shell.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import statistics
from collections.abc import Sequence
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from mcp_agent_otel.autonomous.servers.expressions import ExpressionError, evaluate
from mcp_agent_otel.autonomous.servers.runtime import LOG_LEVEL, serve
from mcp_agent_otel.autonomous.servers.units import UnitError, convert

NAME = "mathdata"
MAX_NUMBERS = 100_000

Comparison = Literal[">", ">=", "<", "<=", "==", "!="]

# --- pure core --------------------------------------------------------------------------------


def calculation(expression: str) -> dict[str, Any]:
    try:
        value = evaluate(expression)
    except ExpressionError as exc:
        raise ToolError(str(exc)) from None
    return {"expression": expression, "result": value}


def _numbers(numbers: Sequence[float]) -> list[float]:
    if not numbers:
        raise ToolError("the list of numbers is empty: pass at least one number, e.g. [3, 1, 2]")
    if len(numbers) > MAX_NUMBERS:
        raise ToolError(f"{len(numbers):,} numbers is over the limit of {MAX_NUMBERS:,}")
    bad = [x for x in numbers if not math.isfinite(x)]
    if bad:
        raise ToolError(f"numbers must be finite, got {bad[0]!r}")
    return list(numbers)


def _plain(x: float) -> float | int:
    """Whole floats as ints, so 3.0 reads as 3; everything else rounded to 10 places."""
    if float(x).is_integer() and abs(x) < 2**53:
        return int(x)
    return round(x, 10)


def describe(numbers: Sequence[float]) -> dict[str, Any]:
    """count, sum, mean, median, mode(s), min, max, range, quartiles, variance and stdev.

    Variance and standard deviation are the sample ones (n - 1); with one number they are
    None, and the population ones are given too.
    """
    values = _numbers(numbers)
    n = len(values)
    result: dict[str, Any] = {
        "count": n,
        "sum": _plain(math.fsum(values)),
        "mean": _plain(statistics.fmean(values)),
        "median": _plain(statistics.median(values)),
        "modes": [_plain(m) for m in sorted(statistics.multimode(values))],
        "min": _plain(min(values)),
        "max": _plain(max(values)),
        "range": _plain(max(values) - min(values)),
        "q1": None,
        "q3": None,
        "variance": None,
        "stdev": None,
        "population_variance": _plain(statistics.pvariance(values)),
        "population_stdev": _plain(statistics.pstdev(values)),
    }
    if n >= 2:
        q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
        result |= {
            "q1": _plain(q1),
            "q3": _plain(q3),
            "variance": _plain(statistics.variance(values)),
            "stdev": _plain(statistics.stdev(values)),
        }
    return result


def unit_conversion(value: float, from_unit: str, to_unit: str) -> dict[str, Any]:
    if not math.isfinite(value):
        raise ToolError(f"the value must be a finite number, got {value!r}")
    try:
        result, source, target, dimension = convert(value, from_unit, to_unit)
    except UnitError as exc:
        raise ToolError(str(exc)) from None
    return {
        "value": value,
        "from_unit": source,
        "to_unit": target,
        "dimension": dimension,
        "result": _plain(result),
    }


def sort(numbers: Sequence[float], descending: bool = False) -> dict[str, Any]:
    values = _numbers(numbers)
    return {"sorted": [_plain(x) for x in sorted(values, reverse=descending)], "count": len(values)}


_COMPARE = {
    ">": lambda x, t: x > t,
    ">=": lambda x, t: x >= t,
    "<": lambda x, t: x < t,
    "<=": lambda x, t: x <= t,
    "==": lambda x, t: x == t,
    "!=": lambda x, t: x != t,
}


def keep(numbers: Sequence[float], comparison: str, threshold: float) -> dict[str, Any]:
    """The numbers (in their order) for which ``number <comparison> threshold`` holds."""
    values = _numbers(numbers)
    test = _COMPARE.get(comparison)
    if test is None:
        raise ToolError(f"unknown comparison {comparison!r}: use one of {', '.join(_COMPARE)}")
    kept = [_plain(x) for x in values if test(x, threshold)]
    return {
        "kept": kept,
        "kept_count": len(kept),
        "removed_count": len(values) - len(kept),
        "condition": f"x {comparison} {_plain(threshold)}",
    }


_OFFSET = re.compile(r"^(?:utc|gmt)?\s*([+-])(\d{1,2})(?::?(\d{2}))?$")


def parse_timezone(name: str) -> dt.tzinfo:
    """``UTC``, an IANA name such as ``Europe/Paris``, or an offset such as ``+05:30``."""
    key = name.strip()
    if key.upper() in {"", "UTC", "Z", "GMT"}:
        return dt.timezone.utc
    match = _OFFSET.match(key.lower())
    if match:
        sign, hours, minutes = match.groups()
        delta = dt.timedelta(hours=int(hours), minutes=int(minutes or 0))
        if delta > dt.timedelta(hours=14):
            raise ToolError(f"UTC offset {name!r} is out of range (at most ±14:00)")
        return dt.timezone(delta if sign == "+" else -delta)
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError):
        raise ToolError(
            f"unknown time zone {name!r}: use 'UTC', an IANA name such as 'Europe/Paris' or "
            "'America/New_York', or an offset such as '+05:30'"
        ) from None


def clock_reading(now: dt.datetime, timezone: str = "UTC") -> dict[str, Any]:
    """What the clock says at instant ``now`` (timezone-aware) in ``timezone``."""
    local = now.astimezone(parse_timezone(timezone))
    return {
        "iso": local.isoformat(timespec="seconds"),
        "date": local.date().isoformat(),
        "time": local.strftime("%H:%M:%S"),
        "weekday": local.strftime("%A"),
        "timezone": timezone.strip() or "UTC",
        "utc_offset": local.strftime("%z"),
        "unix": int(now.timestamp()),
    }


def _date(text: str, what: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip()[:10])
    except ValueError:
        raise ToolError(
            f"{what} {text!r} is not a date: use the ISO format YYYY-MM-DD, e.g. 2025-03-14"
        ) from None


def days_between(start_date: str, end_date: str) -> dict[str, Any]:
    """Calendar days from ``start_date`` to ``end_date`` (negative if the end is earlier)."""
    start, end = _date(start_date, "start_date"), _date(end_date, "end_date")
    days = (end - start).days
    lo, hi = sorted((start, end))
    weeks, rest = divmod((hi - lo).days, 7)  # days from lo (inclusive) to hi (exclusive)
    weekdays = weeks * 5 + sum(1 for i in range(rest) if (lo.weekday() + i) % 7 < 5)
    return {
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "days": days,
        "weeks": round(days / 7, 4),
        "weekdays": weekdays if days >= 0 else -weekdays,
        "start_weekday": start.strftime("%A"),
        "end_weekday": end.strftime("%A"),
    }


# --- MCP server ----------------------------------------------------------------------------------

_PURE = ToolAnnotations(read_only_hint=True, idempotent_hint=True)
Numbers = Annotated[
    list[float],
    Field(description="the numbers, as a JSON array, e.g. [4, 8, 15, 16, 23, 42]"),
]


def build_server() -> MCPServer:
    server = MCPServer(
        NAME,
        log_level=LOG_LEVEL,
        instructions="Math and data: calculate arithmetic, compute statistics, convert units, "
        "sort and filter numbers, tell the time, count days between dates.",
    )

    @server.tool(
        description="Calculate the value of an arithmetic expression (a calculator: add, "
        "subtract, multiply, divide, powers, sqrt, log, sin, round...), e.g. '(12 + 30) * 2' "
        "or 'sqrt(2) ^ 2'. Evaluated safely; names and code are refused.",
        annotations=_PURE,
    )
    def calculate(
        expression: Annotated[
            str,
            Field(description="the arithmetic expression to compute, e.g. '2 * (3 + 4) / 5'"),
        ],
    ) -> dict[str, Any]:
        return calculation(expression)

    @server.tool(
        description="Compute statistics of a list of numbers: count, sum, mean (average), "
        "median, mode, min, max, range, quartiles, variance and standard deviation. Use it to "
        "analyze or summarize numeric data.",
        annotations=_PURE,
    )
    def compute_statistics(numbers: Numbers) -> dict[str, Any]:
        return describe(numbers)

    @server.tool(
        description="Convert a value between units of measurement: length (km, mi, ft...), "
        "mass (kg, lb...), temperature (celsius, fahrenheit, kelvin), time, data size (MB, "
        "GiB...), volume, speed and area.",
        annotations=_PURE,
    )
    def convert_units(
        value: Annotated[float, Field(description="the quantity to convert, e.g. 10")],
        from_unit: Annotated[str, Field(description="the unit of the value, e.g. 'km'")],
        to_unit: Annotated[str, Field(description="the unit to convert to, e.g. 'miles'")],
    ) -> dict[str, Any]:
        return unit_conversion(value, from_unit, to_unit)

    @server.tool(
        description="Sort a list of numbers in ascending (smallest first) or descending "
        "(largest first) order.",
        annotations=_PURE,
    )
    def sort_numbers(
        numbers: Numbers,
        descending: Annotated[bool, Field(description="largest first instead of smallest")] = False,
    ) -> dict[str, Any]:
        return sort(numbers, descending)

    @server.tool(
        description="Filter a list of numbers: keep only the numbers greater than, less than, "
        "equal to (or another comparison with) a threshold value.",
        annotations=_PURE,
    )
    def filter_numbers(
        numbers: Numbers,
        comparison: Annotated[
            Comparison, Field(description="how each number compares to the threshold")
        ],
        threshold: Annotated[float, Field(description="the value to compare with")],
    ) -> dict[str, Any]:
        return keep(numbers, comparison, threshold)

    @server.tool(
        description="Get the current date and time (now, today, the clock) in a time zone: "
        "ISO timestamp, date, time, weekday and Unix time.",
        annotations=ToolAnnotations(read_only_hint=True),
    )
    def current_time(
        timezone: Annotated[
            str,
            Field(description="'UTC', an IANA zone such as 'Europe/Paris', or '+05:30'"),
        ] = "UTC",
    ) -> dict[str, Any]:
        return clock_reading(dt.datetime.now(dt.timezone.utc), timezone)

    @server.tool(
        description="Date difference: count the days (and weeks, weekdays) between two dates, "
        "how long from a start date to an end date.",
        annotations=_PURE,
    )
    def date_difference(
        start_date: Annotated[str, Field(description="the first date, YYYY-MM-DD")],
        end_date: Annotated[str, Field(description="the second date, YYYY-MM-DD")],
    ) -> dict[str, Any]:
        return days_between(start_date, end_date)

    return server


def main() -> None:
    serve(build_server(), NAME)


if __name__ == "__main__":
    main()
