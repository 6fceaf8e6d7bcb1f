"""The one taxonomy of the project: enums and frozen, JSON-round-trippable dataclasses.

Every other module imports its vocabulary from here. Dataclasses are frozen and hashable
(free-form mappings such as a tool's input schema or a call's arguments are held as
canonical JSON text), and each round-trips exactly through ``to_dict``/``from_dict``,
because the cache stores them and spans describe them.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import json
import types
import typing
from typing import Any, ClassVar, TypeVar, get_args, get_origin, get_type_hints

JsonObject = dict[str, Any]


class TaskType(str, enum.Enum):
    INFORMATION_RETRIEVAL = "information_retrieval"
    CONTENT_CREATION = "content_creation"
    DATA_ANALYSIS = "data_analysis"
    FILE_OPERATIONS = "file_operations"
    WEB_AUTOMATION = "web_automation"
    CODE_DEVELOPMENT = "code_development"
    PROJECT_MANAGEMENT = "project_management"
    RESEARCH = "research"
    COMMUNICATION = "communication"
    REASONING = "reasoning"


class Complexity(str, enum.Enum):
    SIMPLE = "simple"
    MODERATE = "moderate"
    COMPLEX = "complex"
    VERY_COMPLEX = "very_complex"


class ToolCategory(str, enum.Enum):
    """What a tool (or a subtask's required capability) is for."""

    SEARCH = "search"
    TEXT = "text"
    MATH = "math"
    DATA = "data"
    FILE = "file"
    WEB = "web"
    CODE = "code"
    COMMUNICATION = "communication"
    PROJECT = "project"
    TIME = "time"
    GENERAL = "general"


class ExecutionPattern(str, enum.Enum):
    DIRECT = "direct"
    SEQUENTIAL = "sequential"
    PARALLEL = "parallel"
    ROUTER = "router"
    ORCHESTRATOR = "orchestrator"
    EVALUATOR_OPTIMIZER = "evaluator_optimizer"
    SWARM = "swarm"


class Intent(str, enum.Enum):
    """What a subtask asks for, from its wording: to look, to add or change, or to remove."""

    READ = "read"
    WRITE = "write"
    DELETE = "delete"


class Effect(str, enum.Enum):
    """What a tool does to the world, from its MCP annotations (or, lacking them, its name and
    description). A READ subtask runs only READ_ONLY tools; a WRITE subtask also ADDITIVE and
    OVERWRITE ones; DESTRUCTIVE tools (delete, reset, drop) run only with the user's consent."""

    READ_ONLY = "read_only"
    ADDITIVE = "additive"  # creates or appends; never loses what was there
    OVERWRITE = "overwrite"  # replaces or moves what it names
    DESTRUCTIVE = "destructive"  # removes or resets


class StepStatus(str, enum.Enum):
    OK = "ok"
    ERROR = "error"  # the call failed, or the tool answered with isError
    TIMEOUT = "timeout"
    # No tool fits the subtask (or none confidently, or a required argument is missing).
    UNMATCHED = "unmatched"
    SKIPPED = "skipped"  # not run because a step it depends on failed, or the run was stopped
    NEEDS_CONSENT = "needs_consent"  # a destructive call the user did not allow: never made


def canonical_json(value: Any) -> str:
    """The one JSON spelling of a value: sorted keys, no whitespace, UTF-8 kept."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


_T = TypeVar("_T", bound="Model")


class Model:
    """Mixin: exact JSON round trip for frozen dataclasses built from the types in this module."""

    __dataclass_fields__: ClassVar[dict[str, dataclasses.Field[Any]]]

    def to_dict(self) -> JsonObject:
        return {f.name: _encode(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls: type[_T], data: JsonObject) -> _T:
        if not isinstance(data, dict):
            raise TypeError(
                f"{cls.__name__}.from_dict expects an object, got {type(data).__name__}"
            )
        hints = _hints(cls)
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"{cls.__name__}: unknown field(s) {sorted(unknown)}")
        kwargs = {name: _decode(hints[name], data[name]) for name in names if name in data}
        return cls(**kwargs)

    def to_json(self) -> str:
        return canonical_json(self.to_dict())

    @classmethod
    def from_json(cls: type[_T], text: str) -> _T:
        return cls.from_dict(json.loads(text))


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = get_type_hints(cls)
    return hints


def _encode(value: Any) -> Any:
    if isinstance(value, Model):
        return value.to_dict()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple):
        return [_encode(v) for v in value]
    return value


def _decode(hint: Any, value: Any) -> Any:
    origin = get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = get_args(hint)
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _decode(inner, value)
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise TypeError(f"expected a list for {hint}, got {type(value).__name__}")
        inner = get_args(hint)[0]
        return tuple(_decode(inner, v) for v in value)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint(value)
    if isinstance(hint, type) and issubclass(hint, Model):
        return hint.from_dict(value)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


@dataclasses.dataclass(frozen=True)
class Subtask(Model):
    """One step of a decomposed task."""

    index: int
    text: str
    capabilities: tuple[ToolCategory, ...]
    depends_on: tuple[int, ...] = ()
    intent: Intent = Intent.READ


@dataclasses.dataclass(frozen=True)
class TaskAnalysis(Model):
    """What TaskAnalyzer concludes about a task. Pure function of the task text."""

    task_type: TaskType
    complexity: Complexity
    subtasks: tuple[Subtask, ...]
    estimated_steps: int
    pattern: ExecutionPattern
    confidence: float
    keywords: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class ToolRef(Model):
    """A tool's address: the configured server name and the tool name."""

    server: str
    name: str

    def __str__(self) -> str:
        return f"{self.server}/{self.name}"


@dataclasses.dataclass(frozen=True)
class ToolInfo(Model):
    """A tool as listed by an MCP server, with the category we map it to."""

    server: str
    name: str
    description: str
    input_schema: str  # canonical JSON of the tool's inputSchema
    category: ToolCategory
    annotations: str = "{}"  # canonical JSON of the tool's MCP annotations (readOnlyHint, ...)

    @functools.cached_property
    def ref(self) -> ToolRef:  # built once: the engine and the executor index tools by it
        return ToolRef(self.server, self.name)

    def schema(self) -> JsonObject:
        parsed: JsonObject = json.loads(self.input_schema)
        return parsed

    def annotation_hints(self) -> JsonObject:
        """The MCP annotation hints as an object; {} when none (or not a JSON object)."""
        try:
            parsed = json.loads(self.annotations) if self.annotations else {}
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}


@dataclasses.dataclass(frozen=True)
class StepPlan(Model):
    """The tool chosen for one subtask, its arguments and ordered fallbacks."""

    subtask_index: int
    tool: ToolRef
    arguments: str  # canonical JSON object
    confidence: float
    fallbacks: tuple[ToolRef, ...] = ()
    fallback_arguments: tuple[str, ...] = ()  # canonical JSON objects, one per fallback
    intent: Intent = Intent.READ
    effect: Effect = Effect.READ_ONLY  # of the chosen tool; fallbacks fit the same intent

    def __post_init__(self) -> None:
        if self.fallback_arguments and len(self.fallback_arguments) != len(self.fallbacks):
            raise ValueError(
                f"StepPlan: {len(self.fallback_arguments)} fallback_arguments for "
                f"{len(self.fallbacks)} fallbacks: give one JSON object per fallback, or none"
            )

    def argument_dict(self) -> JsonObject:
        parsed: JsonObject = json.loads(self.arguments)
        return parsed

    def attempts(self) -> tuple[tuple[ToolRef, JsonObject], ...]:
        """The tool and its fallbacks in order, each with the arguments planned for it."""
        fallback_args = [json.loads(a) for a in self.fallback_arguments] or [{}] * len(
            self.fallbacks
        )
        return ((self.tool, self.argument_dict()), *zip(self.fallbacks, fallback_args, strict=True))

    def to_dict(self) -> JsonObject:
        """Arguments as JSON objects, not JSON text inside JSON."""
        data = super().to_dict()
        data["arguments"] = json.loads(self.arguments)
        data["fallback_arguments"] = [json.loads(a) for a in self.fallback_arguments]
        return data

    @classmethod
    def from_dict(cls, data: JsonObject) -> StepPlan:
        if isinstance(data, dict):
            data = dict(data)
            if not isinstance(data.get("arguments", ""), str):
                data["arguments"] = canonical_json(data["arguments"])
            data["fallback_arguments"] = [
                a if isinstance(a, str) else canonical_json(a)
                for a in data.get("fallback_arguments", [])
            ]
        return super().from_dict(data)


@dataclasses.dataclass(frozen=True)
class Unmatched(Model):
    """A subtask the engine will not run, why, and the tools that came closest."""

    subtask_index: int
    reason: str  # "no_tool", "low_confidence" or "missing_argument"
    message: str  # for the user: what was wrong and what to do
    closest: tuple[ToolRef, ...] = ()


@dataclasses.dataclass(frozen=True)
class Decision(Model):
    """What DecisionEngine chose: the pattern, one plan per matched subtask, a confidence."""

    pattern: ExecutionPattern
    confidence: float
    steps: tuple[StepPlan, ...]
    unmatched: tuple[Unmatched, ...] = ()  # subtasks not run, each with why

    @property
    def unmatched_indexes(self) -> tuple[int, ...]:
        return tuple(u.subtask_index for u in self.unmatched)


@dataclasses.dataclass(frozen=True)
class StepResult(Model):
    """What happened when a step ran."""

    subtask_index: int
    status: StepStatus
    tool: ToolRef | None = None
    output: str = ""
    error: str | None = None
    duration_ms: float = 0.0
    attempts: tuple[ToolRef, ...] = ()


@dataclasses.dataclass(frozen=True)
class WorkflowResult(Model):
    """The outcome of one autonomous workflow: every stage's output and each step's fate."""

    task: str
    analysis: TaskAnalysis
    decision: Decision
    steps: tuple[StepResult, ...]
    env_fingerprint: str
    duration_ms: float
    trace_id: str | None = None

    @property
    def ok(self) -> bool:
        return all(s.status is StepStatus.OK for s in self.steps)

    @property
    def failed_steps(self) -> tuple[StepResult, ...]:
        return tuple(s for s in self.steps if s.status is not StepStatus.OK)
