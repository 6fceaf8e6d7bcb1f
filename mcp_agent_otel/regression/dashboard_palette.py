"""The dashboard's colours, defined once.

``COLOURS`` is the only place a colour value is written: the page frame turns it into CSS
custom properties (``--colour-<name>``), and the stylesheet (``templates/dashboard.css``) and
the charts refer to those by name, never to a value. ``PALETTE`` and ``STROKES`` name the
foreground/background pairs a reader must tell apart; the tests hold them to WCAG contrast
(4.5:1 for text, 3:1 for chart strokes against the plot).
"""

from __future__ import annotations

from collections.abc import Mapping

COLOURS: Mapping[str, str] = {
    # page and text
    "page": "#f3f5f8",
    "surface": "#ffffff",
    "ink": "#16202c",
    "muted": "#4d5866",
    "accent": "#0a55b3",  # links, and the p50 line
    "line": "#d5dbe3",
    "rule": "#e6eaef",
    "subtle": "#eef1f5",  # table headers, code
    "empty-border": "#aab4c0",
    "focus": "#f2b705",
    # the header bar
    "head": "#14213d",
    "head-muted": "#c9d3e3",
    "head-field": "#8fa0bb",
    # regressions and alerts
    "alarm": "#c0262d",
    "alarm-ink": "#8f1d1d",
    "alarm-bg": "#fff5f4",
    "alarm-border": "#e8a19c",
    "alarm-row": "#fffafa",
    "regression-bg": "#fde2e1",
    "regression-border": "#f0a3a0",
    # the other verdicts and notes
    "improvement-ink": "#145c34",
    "improvement-bg": "#dcf3e5",
    "improvement-border": "#94d1ad",
    "neutral-ink": "#2f3a47",
    "neutral-bg": "#e8ecf1",
    "neutral-border": "#c4ccd6",
    "warning-ink": "#6e4300",
    "warning-bg": "#fff8e6",
    "warning-border": "#eccf8d",
    "inconclusive-bg": "#fdf0d5",
    "inconclusive-border": "#e9c77f",
    # charts
    "plot": "#fbfcfd",
    "grid": "#e4e8ee",
    "axis": "#8a96a3",
    "p95": "#7a3db8",
    "p99": "#9a4a00",
    "hit-rate": "#0b7363",
    "baseline": "#2b7a4b",
    "error-bars": "#b3261e",
    "span-bars": "#6f8296",
}

# Text over its background: (what, foreground colour name, background colour name).
PALETTE: tuple[tuple[str, str, str], ...] = (
    ("body text", "ink", "surface"),
    ("body text on page", "ink", "page"),
    ("muted text", "muted", "surface"),
    ("muted text on page", "muted", "page"),
    ("link", "accent", "surface"),
    ("link on page", "accent", "page"),
    ("header text", "surface", "head"),
    ("header muted", "head-muted", "head"),
    ("chart tick", "muted", "plot"),
    ("regression badge", "alarm-ink", "regression-bg"),
    ("improvement badge", "improvement-ink", "improvement-bg"),
    ("no change badge", "neutral-ink", "neutral-bg"),
    ("inconclusive badge", "warning-ink", "inconclusive-bg"),
    ("alert text", "ink", "alarm-bg"),
    ("alert title", "alarm-ink", "alarm-bg"),
    ("warning text", "warning-ink", "warning-bg"),
    ("table header", "ink", "subtle"),
)
# Chart strokes (non-text graphics: WCAG asks 3:1 against the plot background).
STROKES: tuple[tuple[str, str, str], ...] = (
    ("p50 line", "accent", "plot"),
    ("p95 line", "p95", "plot"),
    ("p99 line", "p99", "plot"),
    ("hit rate line", "hit-rate", "plot"),
    ("baseline band edge", "baseline", "plot"),
    ("alert marker", "alarm", "plot"),
    ("error bars", "error-bars", "plot"),
    ("span bars", "span-bars", "plot"),
)
