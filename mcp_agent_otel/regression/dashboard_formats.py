"""How the dashboard writes numbers and times: durations, percentages, ratios, p-values,
counts, UTC clock times and "how long ago". Pure functions; the page builders and the
templates (as filters) use the same ones."""

from __future__ import annotations

import datetime as dt
import math


def format_ms(value: float | None) -> str:
    """A duration in milliseconds, 3 significant digits, in a readable unit."""
    if value is None or not math.isfinite(value):
        return "–"
    if value < 0:
        return "-" + format_ms(-value)
    if value == 0:
        return "0 ms"
    if value < 1:
        return f"{significant(value * 1000)} µs"
    if value < 1000:
        return f"{significant(value)} ms"
    if value < 60_000:
        return f"{significant(value / 1000)} s"
    return f"{significant(value / 60_000)} min"


def significant(value: float, digits: int = 3) -> str:
    """``value`` with ``digits`` significant digits, no exponent, no trailing zeros."""
    if value == 0:
        return "0"
    decimals = max(digits - 1 - math.floor(math.log10(abs(value))), 0)
    text = f"{value:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_percent(value: float | None, decimals: int = 0) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value * 100:.{decimals}f}%"


def format_time(seconds: float, step: float = 60) -> str:
    """UTC clock time for a tick: ``HH:MM`` (``HH:MM:SS`` below a minute, a date at days)."""
    moment = dt.datetime.fromtimestamp(seconds, dt.timezone.utc)
    if step >= 86400:
        return moment.strftime("%b %d")
    if step < 60:
        return moment.strftime("%H:%M:%S")
    return moment.strftime("%H:%M")


def format_timestamp(seconds: float) -> str:
    """A full UTC timestamp for tooltips and tables."""
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def step_text(seconds: int) -> str:
    """``1 min``, ``5 min``, ``2 h``, ``90 s``: the length of a chart step."""
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"


def format_count(value: int) -> str:
    return f"{value:,}"


def format_ratio(ratio: float | None) -> str:
    """``1.52×`` with the change in percent: ``1.52× (+52%)``."""
    if ratio is None or not math.isfinite(ratio):
        return "–"
    change = (ratio - 1.0) * 100
    sign = "+" if change >= 0.05 else ("−" if change <= -0.05 else "±")
    return f"{ratio:.2f}× ({sign}{abs(change):.0f}%)"


def format_p(p: float | None) -> str:
    if p is None or not math.isfinite(p):
        return "–"
    if p < 0.0001:
        return "< 0.0001"
    if p < 0.01:
        return f"{p:.4f}"
    return f"{p:.2f}"


def ago(seconds: float, now: float) -> str:
    delta = max(now - seconds, 0.0)
    if delta < 60:
        return f"{delta:.0f} s ago"
    if delta < 3600:
        return f"{delta / 60:.0f} min ago"
    if delta < 86400:
        return f"{delta / 3600:.1f} h ago"
    return f"{delta / 86400:.1f} d ago"


def version_label(version: str) -> str:
    return version if version else "(no service.version)"
