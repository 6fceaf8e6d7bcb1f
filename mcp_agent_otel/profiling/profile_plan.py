"""What one profile is to do, as plain data: ``ProfilePlan`` (run by ``profile_run``).

Importable without the agent stack (the MCP SDK, numpy): ``profile --help`` shows the
defaults defined here.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mcp_agent_otel.profiling.baseline_profiler import ProfileSettings

DEFAULT_MEMORY_RUNS = 10  # extra workflows, one at a time, with tracemalloc on
DEFAULT_TOP = 5  # bottlenecks listed


@dataclasses.dataclass(frozen=True)
class ProfilePlan:
    """A validated profile: the workload and its settings, where it runs, how it is tagged.

    ``servers`` None means the bundled demo servers. ``version`` and ``run_id`` go into the
    resource of this process and of its MCP servers (``service.version``,
    ``mcp_agent.run.id``; repeated runs are ``<run_id>.1`` .. ``.K``). ``keep_spans`` keeps
    the measured spans per run (to record or write them); ``only_stages`` keeps the workflow
    and its four stage spans only.
    """

    settings: ProfileSettings
    servers: Path | None
    version: str
    run_id: str
    keep_spans: bool = False
    only_stages: bool = False
