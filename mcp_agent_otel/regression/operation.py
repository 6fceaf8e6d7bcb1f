"""What an operation is: the pair (service.name, span name), and how it is shown."""

from __future__ import annotations

import dataclasses

from mcp_agent_otel.autonomous.models import Model

SEPARATOR = " :: "
# The largest operation id a URL may name (ids are SQLite rowids); larger ones are a 422.
MAX_ID = 2**62


@dataclasses.dataclass(frozen=True, order=True)
class OperationKey(Model):
    service: str
    name: str

    @property
    def label(self) -> str:
        """``service :: span name`` (span names may contain spaces and slashes)."""
        return f"{self.service}{SEPARATOR}{self.name}"

    def __str__(self) -> str:
        return self.label
