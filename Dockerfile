# syntax=docker/dockerfile:1
# The regression analyzer as a slim, non-root image; collector/docker-compose.yaml builds it.
#
#   docker build -t mcp-agent-otel-analyzer .
#   docker run --rm -p 4418:4418 -p 4417:4417 -v analyzer-data:/data mcp-agent-otel-analyzer
#
# Ports: 4418 = API (/health, reports), dashboard (/) and OTLP/HTTP in (/v1/traces);
#        4417 = OTLP/gRPC in. State (the SQLite store) lives in the /data volume.

ARG PYTHON_IMAGE=python:3.11-slim

# --- build: install the project and its dependencies into a venv ------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
WORKDIR /src
COPY pyproject.toml README.md ./
COPY mcp_agent_otel ./mcp_agent_otel
RUN /opt/venv/bin/pip install . \
    && /opt/venv/bin/mcp-agent-otel --version

# --- runtime: the venv on a clean slim base, run as an unprivileged user -----------------
FROM ${PYTHON_IMAGE}
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MCP_AGENT_OTEL_HOME=/data
RUN groupadd --system --gid 10001 analyzer \
    && useradd --system --uid 10001 --gid analyzer --home-dir /data --no-create-home \
       --shell /usr/sbin/nologin analyzer \
    && mkdir -p /data \
    && chown analyzer:analyzer /data
COPY --from=build /opt/venv /opt/venv
WORKDIR /data
VOLUME ["/data"]
EXPOSE 4418 4417
USER 10001:10001
# No curl in the slim image: the probe is a Python one-liner against the analyzer's health route.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=5 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:4418/health', timeout=3).status == 200 else 1)"]
CMD ["mcp-agent-otel", "analyzer", "serve", "--host", "0.0.0.0", "--http-port", "4418", "--grpc-port", "4417", "--db", "/data/analyzer.db"]
