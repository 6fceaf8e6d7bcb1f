"""The optional parts of the install, and how to say one is missing.

The regression analyzer (``mcp_agent_otel.regression``) and what uses it (the ``analyzer``,
``check``, ``dashboard`` and ``profile`` commands) need the ``analyzer`` extra; the agent does
not. Here so that both the analyzer package and the CLI can name the extra without importing
anything that needs it.
"""

from __future__ import annotations

from importlib.util import find_spec
from typing import Final

#: What the ``analyzer`` extra installs, as import names.
ANALYZER_MODULES: Final = ("numpy", "scipy", "ddsketch", "fastapi", "uvicorn", "jinja2")
ANALYZER_HINT: Final = "pip install 'mcp-agent-otel[analyzer]'"


def missing_analyzer_modules() -> list[str]:
    """The ``analyzer`` extra's modules that cannot be imported here (none: it is installed)."""
    return [name for name in ANALYZER_MODULES if find_spec(name) is None]


def analyzer_extra_message(missing: list[str]) -> str:
    return (
        f"the regression analyzer needs {', '.join(missing)}, from the 'analyzer' extra: "
        f"{ANALYZER_HINT}"
    )


def is_analyzer_module(name: str | None) -> bool:
    """Whether ``name`` (a ModuleNotFoundError's) is one of the ``analyzer`` extra's modules."""
    return (name or "").split(".")[0] in ANALYZER_MODULES
