"""The dashboard's templates: hostile span data comes out escaped on every page (autoescape,
not care), colours are defined once (the palette feeds CSS custom properties, the stylesheet
and templates only name them), no Python module writes HTML or CSS, and the template source
is compacted without touching any value."""

from __future__ import annotations

import ast
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from jinja2 import Environment

import mcp_agent_otel
from mcp_agent_otel.regression.aggregates import Exemplar
from mcp_agent_otel.regression.alerts import Alert
from mcp_agent_otel.regression.dashboard_html import (
    render_dashboard,
    render_error,
    render_login,
    render_operation,
)
from mcp_agent_otel.regression.dashboard_links import JaegerLinks, jaeger_links
from mcp_agent_otel.regression.dashboard_model import (
    BaselineStats,
    DashboardData,
    OperationView,
    StepStats,
)
from mcp_agent_otel.regression.dashboard_palette import COLOURS
from mcp_agent_otel.regression.dashboard_templates import CompactSource, environment
from mcp_agent_otel.regression.operation import OperationKey
from mcp_agent_otel.regression.statistics import Comparison, Verdict

PACKAGE = Path(mcp_agent_otel.__file__).parent
TEMPLATES = PACKAGE / "regression" / "templates"
NOW = 1_700_003_600.0
SINCE = 1_700_000_000.0
# breaks out of text (<script>, <img onerror>) and of attribute values (" and '), and a
# literal entity that must be shown as typed, not decoded
HOSTILE = "\"'><script>alert(1)</script><img src=x onerror=alert(2)> & &amp; 'q'"
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
_ELEMENTS = (
    "html|head|body|div|span|p|a|table|tr|td|th|svg|g|path|rect|circle|ul|li|ol|section|"
    "header|footer|form|label|select|option|button|code|strong|small|dl|dt|dd|h[1-6]|style|"
    "script|meta|title|desc|text|line|details|summary|caption|thead|tbody|article|main|time|"
    "input|b|br|img|link"
)
# what the pages may hold: the elements above but the ones an injection would bring
ALLOWED_TAGS = set(_ELEMENTS.replace("h[1-6]", "h1|h2|h3").split("|")) - {"script", "img"}


class _Page(HTMLParser):
    """Tags, attributes and text as a browser would parse them (entities decoded)."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.attributes: list[tuple[str, str]] = []
        self.text: list[str] = []
        self.feed(page)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes += [(name, value or "") for name, value in attrs]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _steps(n: int) -> tuple[StepStats, ...]:
    return tuple(StepStats(SINCE + 60 * i, 10, 1, 100.0, 10.0, 20.0, 30.0, 6, 4) for i in range(n))


def _hostile_data() -> tuple[DashboardData, OperationView]:
    key = OperationKey(HOSTILE, HOSTILE)
    steps = _steps(5)
    total = StepStats(SINCE, 50, 5, 500.0, 10.0, 20.0, 30.0, 30, 20)
    comparison = Comparison(
        operation=key.label,
        baseline_n=2000,
        candidate_n=40,
        ratio=1.3,
        ratio_ci_low=0.9,
        ratio_ci_high=1.7,
        p_value=0.2,
        p_adjusted=0.3,
        verdict=Verdict.INCONCLUSIVE,
        threshold=0.1,
        required_n=400,
        reason=HOSTILE,
    )
    exemplar = Exemplar(HOSTILE, HOSTILE, 12.0, NOW - 30)
    view = OperationView(
        op_id=7,
        key=key,
        total=total,
        steps=steps,
        slow=(exemplar, Exemplar(TRACE, "00f067aa0ba902b7", 11.0, NOW - 40)),
        failed=(exemplar,),
        baseline=BaselineStats(HOSTILE, 10, 9.0, 19.0),
        comparison=comparison,
    )
    uncompared = OperationView(
        op_id=8,
        key=OperationKey("shop", HOSTILE + "2"),
        total=total,
        steps=steps,
        slow=(),
        failed=(),
        note=HOSTILE,
    )
    alert = Alert(
        created=NOW - 120,
        service=HOSTILE,
        name=HOSTILE,
        baseline=HOSTILE,
        estimated_ratio=1.4,
        statistic=9.0,
        baseline_median_ms=10.0,
        span_index=3,
        message=HOSTILE,
        version=HOSTILE,
        environment=HOSTILE,
        trace_id=HOSTILE,
    )
    data = DashboardData(
        now=NOW,
        window="1h",
        since=SINCE,
        until=SINCE + 3600,
        step=60,
        candidate_version=HOSTILE,
        versions=(HOSTILE, "1.0"),
        baselines=(HOSTILE,),
        operations=(view, uncompared),
        alerts=(alert,),
        total=total,
        accepted_spans=100,
    )
    return data, view


def _pages() -> dict[str, str]:
    data, view = _hostile_data()
    links = jaeger_links("http://jaeger.test:16686")
    empty = DashboardData(**{**data.__dict__, "operations": ()})
    return {
        "overview": render_dashboard(data, links, refresh=30, base_url=HOSTILE),
        "empty overview": render_dashboard(empty, JaegerLinks(), base_url=HOSTILE),
        "refused Jaeger URL": render_dashboard(data, jaeger_links(f"http://j/{HOSTILE}")),
        "operation": render_operation(data, view, links, refresh=0),
        "operation without Jaeger": render_operation(data, view, JaegerLinks(), refresh=10),
        "error": render_error(HOSTILE, HOSTILE),
        "login": render_login(HOSTILE, action=HOSTILE),
    }


@pytest.mark.parametrize(("name", "page"), list(_pages().items()))
def test_hostile_strings_are_escaped_on_every_page(name: str, page: str) -> None:
    assert "<script" not in page.lower()
    assert "<img" not in page.lower()
    assert "&amp;amp;" in page  # the literal "&amp;" is shown as typed, not decoded
    parsed = _Page(page)
    assert parsed.tags <= ALLOWED_TAGS, parsed.tags - ALLOWED_TAGS
    assert not [a for a, _ in parsed.attributes if a.startswith("on")]
    # nothing broke out of an attribute: every value that holds the hostile text holds all of
    # it, and it is also shown whole as text (escaped once, never dropped or mangled)
    carrying = [v for _, v in parsed.attributes if "alert(1)" in v]
    assert all(HOSTILE in v for v in carrying), carrying
    assert HOSTILE in "".join(parsed.text), name


def test_hostile_strings_reach_every_place_of_the_overview() -> None:
    """The test above is only as good as its reach: the hostile text is in the places that
    show span data (table row, chart title and tooltip, alert, version choice, note)."""
    page = _pages()["overview"]
    parsed = _Page(page)
    values = {name: [v for n, v in parsed.attributes if n == name] for name in ("value", "title")}
    assert HOSTILE in values["value"]  # the version <option>
    assert any(HOSTILE in v for v in values["title"])  # the tile of the busiest operation
    assert ("data-operation", f"{HOSTILE} :: {HOSTILE}") in parsed.attributes
    text = "".join(parsed.text)
    assert f"Latency of {HOSTILE} :: {HOSTILE} over time" in text  # the chart's <title>
    assert f"Regression: {HOSTILE}" in text
    assert f"version {HOSTILE}, {HOSTILE}" in text  # where the alert was seen


# --- colours defined once ----------------------------------------------------------------
COLOUR_LITERAL = re.compile(
    r"#[0-9a-f]{3,8}\b|\b(?:rgba?|hsla?)\(|:\s*(?:white|black|red|green|blue|gray|grey)\b",
    re.IGNORECASE,
)


def _template_files() -> list[Path]:
    return sorted(TEMPLATES.iterdir())


def _stylesheet() -> str:
    return (TEMPLATES / "dashboard.css").read_text()


@pytest.mark.parametrize("path", _template_files(), ids=lambda p: p.name)
def test_templates_and_stylesheet_name_colours_never_write_them(path: Path) -> None:
    text = path.read_text()
    # in CSS, an id selector such as #comparison is not a colour: only look at declarations
    declarations = re.findall(r":[^;{}]*", text) if path.suffix == ".css" else [text]
    for declaration in declarations:
        assert not COLOUR_LITERAL.search(declaration), f"{path.name}: {declaration!r}"
    for used in re.findall(r"var\(--colour-([a-z0-9-]+)\)", text):
        assert used in COLOURS, f"{path.name} uses --colour-{used}, which the palette lacks"


def test_every_colour_is_used_once_defined_and_declared_on_the_page() -> None:
    used = set(re.findall(r"var\(--colour-([a-z0-9-]+)\)", _stylesheet()))
    assert used == set(COLOURS), set(COLOURS) ^ used
    assert len(set(COLOURS.values())) == len(COLOURS)  # no value under two names
    page = render_error("x", "y")
    root = re.search(r":root\{([^}]*)\}", page)
    assert root is not None
    assert root.group(1) == "".join(f"--colour-{k}:{v};" for k, v in COLOURS.items())


# --- no HTML or CSS in Python -------------------------------------------------------------------
HTML_TAG = re.compile(rf"(?<!\?P)</?(?:{_ELEMENTS})(?:\s[^<>]*)?/?>", re.IGNORECASE)
CSS_DECLARATION = re.compile(
    r"(?:color|background|border|margin|padding|font|display|fill|stroke)[a-z-]*\s*:[^;]+;"
)
HEX_COLOUR = re.compile(r"#[0-9a-f]{6}\b", re.IGNORECASE)


def markup_in_python(path: Path) -> list[str]:
    """String literals of a module (docstrings aside) that hold an HTML tag, a CSS
    declaration or, outside the palette, a colour value."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Constant) or not isinstance(node.value, str):
            continue
        if id(node) in docstrings:
            continue
        text = node.value
        colour = HEX_COLOUR.search(text) and path.name != "dashboard_palette.py"
        if HTML_TAG.search(text) or CSS_DECLARATION.search(text) or colour:
            found.append(f"{path.name}:{node.lineno}: {text[:60]!r}")
    return found


def test_no_python_module_writes_html_or_css() -> None:
    found = [hit for path in sorted(PACKAGE.rglob("*.py")) for hit in markup_in_python(path)]
    assert found == []


def test_the_markup_check_finds_markup(tmp_path: Path) -> None:
    module = tmp_path / "page.py"
    module.write_text(
        '"""A <b>docstring</b> may show markup."""\n'
        "ROW = f'<tr class=\"x\">{1}</tr>'\n"
        'CSS = "body{margin:0;color:#16202c}"\n'
        'PATTERN = r"(?P<b>[a-z]+)"\n'
    )
    hits = markup_in_python(module)
    assert sorted({h.split(":")[1] for h in hits}) == ["2", "3"], hits  # not 1 nor 4


# --- the environment -----------------------------------------------------------------------------
def test_environment_escapes_by_default_and_refuses_unknown_names() -> None:
    env = environment()
    assert env.autoescape is True
    assert env.from_string("<p>{{ v }}</p>").render(v=HOSTILE).count("&lt;script&gt;") == 1
    with pytest.raises(Exception, match="'nope' is undefined"):
        env.from_string("{{ nope }}").render()


def test_template_source_is_compacted_but_values_are_not() -> None:
    env = Environment(autoescape=True, extensions=[CompactSource])
    template = env.from_string(
        "<ul>\n  {% for item in items %}\n  <li>{{ item }}\n    more</li>\n  {% endfor %}\n</ul>\n"
        "<p>a\n  <b>b</b>\n  {{ tail }}\n</p>\n"
    )
    page = template.render(items=["x\ny"], tail="t\n")
    assert page == "<ul><li>x\ny more</li></ul><p>a <b>b</b> t\n </p>"
