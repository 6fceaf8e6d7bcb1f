"""The statistical regression analyzer: OTLP receivers, the SQLite store, statistics, the CI gate,
alerts, the HTTP API and the dashboard.

It needs the ``analyzer`` extra (``pip install 'mcp-agent-otel[analyzer]'``): numpy, scipy and
ddsketch for the statistics, FastAPI, uvicorn and Jinja2 for the service. The agent itself
(``run``, ``demo``, the cache, tracing, instrumentation) never imports this package, so its
base install goes without them; importing it without the extra says what to install.
"""

from __future__ import annotations

from mcp_agent_otel.extras import analyzer_extra_message, missing_analyzer_modules

_missing = missing_analyzer_modules()
if _missing:
    raise ModuleNotFoundError(analyzer_extra_message(_missing), name=_missing[0])
