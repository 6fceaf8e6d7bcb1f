"""The agent against five real third-party MCP servers.

``python -m evals.real_servers`` (``make eval``) installs the servers at pinned versions
(:mod:`.install`), builds a fresh fixture per task (:mod:`.fixture`), runs every task of
``tasks.toml`` through the real ``mcp-agent-otel run --json`` (:mod:`.runner`), snapshots the
fixture before and after (:mod:`.snapshot`), judges the outcome (:mod:`.checks`, pure) and
prints and writes the report (:mod:`.report`).
"""
