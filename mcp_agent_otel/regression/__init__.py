"""The statistical regression analyzer: OTLP receivers, the SQLite store, statistics, the CI gate,
alerts, the HTTP API and the dashboard.

It needs the ``analyzer`` extra (``pip install 'mcp-agent-otel[analyzer]'``): numpy, scipy and
ddsketch for the statistics, FastAPI, uvicorn and Jinja2 for the service. The agent itself
(``run``, ``demo``, the cache, tracing, instrumentation) never imports this package, so its
base install goes without them; importing it without the extra says what to install.
"""

from __future__ import annotations

from importlib.util import find_spec

#: What the ``analyzer`` extra installs, as import names.
EXTRA_MODULES = ("numpy", "scipy", "ddsketch", "fastapi", "uvicorn", "jinja2")
EXTRA_HINT = "pip install 'mcp-agent-otel[analyzer]'"

_missing = [name for name in EXTRA_MODULES if find_spec(name) is None]
if _missing:
    raise ModuleNotFoundError(
        f"the regression analyzer needs {', '.join(_missing)}, from the 'analyzer' extra: "
        f"{EXTRA_HINT}",
        name=_missing[0],
    )
