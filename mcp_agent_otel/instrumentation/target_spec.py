"""Parse the zero-code tracing targets: ``module:Qual.name=stage,...`` (pure functions).

The same syntax is read from ``MCP_AGENT_OTEL_INSTRUMENT`` and accepted by
``McpAgentInstrumentor().instrument(targets=...)``::

    mypkg.analyzer:TaskAnalyzer.analyze_task=task_analyzer.analyze,mypkg.engine:decide=decision_engine.decide

Each entry names a callable (``module`` is a dotted module name, ``Qual.name`` the attribute
path inside it: a function, or a method/classmethod/staticmethod of a class) and the stage span
it stands for. The stage is one of the project's stage span names (so dashboards and the
analyzer treat it like the built-in stage) or a custom low-cardinality name such as
``billing.plan``. A malformed entry is reported as a problem and skipped; the others stay.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from mcp_agent_otel.tracing import semconv

_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*\Z")
# A custom stage name: no spaces, so it stays one low-cardinality span name.
_STAGE = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*\Z")

#: Stage span names that have the project's attribute conventions (see ``stage_attributes``).
KNOWN_STAGES: tuple[str, ...] = (semconv.SPAN_WORKFLOW, *semconv.STAGE_SPANS)

#: Modules that are never wrapped: the MCP SDK traces its own calls (wrapping them would
#: duplicate its MCP spans), and wrapping OpenTelemetry, wrapt or this package's tracing
#: would make the instrumentation trace itself.
REFUSED_MODULES: tuple[str, ...] = (
    "mcp",
    "opentelemetry",
    "wrapt",
    "mcp_agent_otel.tracing",
    "mcp_agent_otel.instrumentation",
)

SYNTAX_HINT = "expected 'package.module:Class.method=stage' entries separated by commas"


@dataclass(frozen=True)
class StageTarget:
    """One callable to trace: ``module:qualname``, shown as the stage span ``stage``."""

    module: str
    qualname: str
    stage: str

    @property
    def spec(self) -> str:
        return f"{self.module}:{self.qualname}"

    def __str__(self) -> str:
        return f"{self.spec}={self.stage}"


@dataclass(frozen=True)
class ParsedTargets:
    """The usable targets, and one message per entry that was skipped (why, and what to do)."""

    targets: tuple[StageTarget, ...]
    problems: tuple[str, ...]


def stage_name_problem(stage: str) -> str | None:
    """Why ``stage`` cannot be a stage span name, or None if it can."""
    if stage in KNOWN_STAGES or _STAGE.match(stage):
        return None
    known = ", ".join(repr(s) for s in KNOWN_STAGES)
    return (
        f"stage {stage!r} is not a valid span name: use one of {known}, or a custom name of "
        "letters, digits, '_', '.', '-' without spaces (e.g. 'billing.plan')"
    )


def refused_module(module: str) -> str | None:
    """The refused package ``module`` belongs to, if any."""
    for refused in REFUSED_MODULES:
        if module == refused or module.startswith(refused + "."):
            return refused
    return None


def parse_entry(entry: str) -> StageTarget | str:
    """One ``module:Qual.name=stage`` entry: the target, or the problem with it."""
    text = entry.strip()
    where = f"instrumentation target {text!r}"
    target, sep, stage = text.partition("=")
    target, stage = target.strip(), stage.strip()
    if not sep or not stage:
        return f"{where}: no stage given; {SYNTAX_HINT}"
    module, colon, qualname = target.partition(":")
    module, qualname = module.strip(), qualname.strip()
    if not colon or not module or not qualname:
        return f"{where}: separate the module from the attribute with ':'; {SYNTAX_HINT}"
    if not _DOTTED.match(module):
        return f"{where}: {module!r} is not a dotted module name; {SYNTAX_HINT}"
    if not _DOTTED.match(qualname):
        return f"{where}: {qualname!r} is not a dotted attribute path; {SYNTAX_HINT}"
    problem = stage_name_problem(stage)
    if problem is not None:
        return f"{where}: {problem}"
    refused = refused_module(module)
    if refused == "mcp":
        return (
            f"{where}: the MCP SDK emits its own MCP client/server spans; wrapping it would "
            "duplicate them. Trace your code that calls the MCP client instead"
        )
    if refused is not None:
        return f"{where}: {refused!r} cannot be traced by this instrumentation (it traces itself)"
    return StageTarget(module=module, qualname=qualname, stage=stage)


def _entries(targets: str | Mapping[str, str] | Iterable[str]) -> list[str]:
    if isinstance(targets, str):
        return [e for e in targets.split(",") if e.strip()]
    if isinstance(targets, Mapping):
        return [f"{k}={v}" for k, v in targets.items()]
    return [e for e in targets if e.strip()]


def parse_targets(targets: str | Mapping[str, str] | Iterable[str] | None) -> ParsedTargets:
    """Parse the spec string, a ``{"module:Qual.name": "stage"}`` mapping, or a list of entries.

    The same callable listed twice is kept once (the first entry wins).
    """
    if targets is None:
        return ParsedTargets((), ())
    found: dict[str, StageTarget] = {}
    problems: list[str] = []
    try:
        entries = _entries(targets)
    except (TypeError, AttributeError):
        return ParsedTargets(
            (),
            (
                f"instrumentation targets {targets!r} are not usable: pass a string "
                f"({SYNTAX_HINT}), a mapping of 'module:Qual.name' to stage, or a list of entries",
            ),
        )
    for entry in entries:
        parsed = parse_entry(str(entry))
        if isinstance(parsed, str):
            problems.append(parsed)
            continue
        first = found.get(parsed.spec)
        if first is None:
            found[parsed.spec] = parsed
        elif first.stage != parsed.stage:
            problems.append(
                f"instrumentation target {parsed.spec!r} is listed twice, as {first.stage!r} and "
                f"{parsed.stage!r}: keeping {first.stage!r}; list each callable once"
            )
    return ParsedTargets(tuple(found.values()), tuple(problems))
