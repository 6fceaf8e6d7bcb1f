# Every target creates .venv and installs the project with all its extras (the regression
# analyzer's and the development tools) when needed.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench format clean browser eval real-servers

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[analyzer,dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/mcp-agent-otel demo

test: $(STAMP) browser real-servers
	$(BIN)/pytest -q

# The five third-party MCP servers of the real-server evaluation (evals/real_servers), pinned:
# pip into a venv and npm into a folder under .mcp-agent-otel/real-servers/; quick when there.
real-servers: $(STAMP)
	$(BIN)/python -m evals.real_servers.install

# The agent on the real servers: every task of evals/real_servers/tasks.toml in a fresh
# fixture; prints the table and writes eval-results.json (exit 0 unless the harness broke).
eval: $(STAMP) real-servers
	$(BIN)/python -m evals.real_servers

# Debian's Chromium for the dashboard's headless-browser test; installed when missing and we
# are root (as on CI and a fresh machine). Otherwise that test fails saying how to install it.
browser:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check mcp_agent_otel tests examples evals
	$(BIN)/ruff format --check mcp_agent_otel tests examples evals
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff check --fix mcp_agent_otel tests examples evals
	$(BIN)/ruff format mcp_agent_otel tests examples evals

bench: $(STAMP)
	$(BIN)/pytest -q -s tests/performance --bench-size=full

clean:
	rm -rf $(VENV) .mcp-agent-otel .pytest_cache .mypy_cache .ruff_cache bench-results.json bench-summary.md test-artifacts eval-results.json
