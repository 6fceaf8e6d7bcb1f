"""The Jinja2 environment of the dashboard's pages, built once over the package's
``templates/`` folder: autoescape on (every value is escaped unless it is the package's own
stylesheet), undefined names an error, the number formats as filters, and the palette and the
stylesheet as globals. Also renders single pieces (a chart, a legend, a verdict badge)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from jinja2.ext import Extension
from markupsafe import Markup

from mcp_agent_otel.regression.dashboard_charts import ChartSpec, chart_view, legend_item
from mcp_agent_otel.regression.dashboard_formats import (
    ago,
    format_count,
    format_ms,
    format_percent,
    format_ratio,
    format_timestamp,
    step_text,
    version_label,
)
from mcp_agent_otel.regression.dashboard_palette import COLOURS
from mcp_agent_otel.regression.statistics import Verdict
from mcp_agent_otel.regression.time_ranges import iso
from mcp_agent_otel.tracing import semconv

STYLESHEET = "dashboard.css"
VERDICT_WORDS = {
    Verdict.REGRESSION: ("▲", "Regression"),
    Verdict.IMPROVEMENT: ("▼", "Improvement"),
    Verdict.NO_CHANGE: ("=", "No change"),
    Verdict.INCONCLUSIVE: ("?", "Inconclusive"),
}

_LAYOUT_BREAK = re.compile(r"(?:(?<=>)|(?<=%})|(?<=#}))[ \t]*\n\s*(?=<|{%|{#)")
_TEXT_BREAK = re.compile(r"[ \t]*\n\s*")


class CompactSource(Extension):
    """Templates are written on many lines for reading; pages are sent without the layout
    whitespace. Before a template compiles, a line break (with the indentation around it)
    between two tags (HTML tags or ``{% %}``/``{# #}`` tags) is dropped, and any other line
    break becomes one space, as HTML would show it. Only template source changes, never a
    value: a ``{{ }}`` expression counts as text."""

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        return _TEXT_BREAK.sub(" ", _LAYOUT_BREAK.sub("", source.strip()))


@cache
def environment() -> Environment:
    """The Jinja2 environment over the package's ``templates/``: autoescape on, undefined
    names an error (a typo in a template fails the tests instead of showing nothing)."""
    env = Environment(
        loader=PackageLoader("mcp_agent_otel.regression", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        extensions=[CompactSource],
    )
    env.filters.update(
        ms=format_ms,
        pct=format_percent,
        num=format_count,
        ratio=format_ratio,
        timestamp=format_timestamp,
        iso=iso,
        version_label=version_label,
        step_text=step_text,
    )
    loader = env.loader
    assert loader is not None
    css, _, _ = loader.get_source(env, STYLESHEET)
    env.globals.update(
        ago=ago,
        verdict_words=VERDICT_WORDS,
        colours=COLOURS,
        # the package's own file, the one text the page takes as markup
        stylesheet=Markup(css),
        jaeger_env=semconv.ENV_JAEGER_URL,
        token_env=semconv.ENV_ANALYZER_TOKEN,
        refresh=0,
    )
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)


def macro(template: str, name: str) -> Callable[..., str]:
    """A macro of a template, as a function returning its markup."""
    found: Callable[..., str] = getattr(environment().get_template(template).module, name)
    return found


def render_chart(spec: ChartSpec) -> str:
    """One chart as an ``<svg>`` element."""
    return str(macro("charts.html", "line_chart")(chart_view(spec)))


def render_legend(items: Sequence[tuple[str, str, str]]) -> str:
    """A legend from (kind, key, label): kind "line:<style>", "band", "marker" or "bar"."""
    return str(macro("charts.html", "legend")([legend_item(*i) for i in items]))


def verdict_badge(verdict: Verdict | None, none_label: str = "No baseline") -> str:
    """Icon + word, coloured; the word alone carries the meaning."""
    return str(macro("macros.html", "verdict_badge")(verdict, none_label))
