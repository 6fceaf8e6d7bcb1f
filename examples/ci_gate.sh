#!/usr/bin/env bash
# The performance regression gate in CI: profile this build, compare it with a stored baseline.
#
# Once, from the build you trust (e.g. on the main branch), record it and name the baseline:
#
#     examples/ci_gate.sh baseline          # profile -> store as $VERSION -> baseline $BASELINE
#
# Then in every CI run, the two steps the gate needs:
#
#     examples/ci_gate.sh                   # profile -> store as $VERSION -> check vs $BASELINE
#
# Exit status of the check: 0 pass, 1 regression (the operations that regressed are named),
# 2 inconclusive (too few samples, no common operation, no baseline): fail the job on non-zero.
#
# Settings (environment):
#   STORE     the analyzer store (SQLite) kept between CI runs, e.g. as a cache or artifact
#             (default .mcp-agent-otel/analyzer.db); or ANALYZER_URL for a running analyzer
#   BASELINE  the baseline's name (default main)
#   VERSION   this build's service.version (default: the short git commit)
#   WORKLOAD  a profile (simple, moderate, complex, mixed) or a task file (default mixed)
#   RUNS      workflows to profile (default 1000: the statistics want several hundred spans
#             per operation and side to decide a 10% change; fewer runs are "inconclusive")
#   RECORD    stages (default): record the workflow and its four stage spans, one of each per
#             run, so every compared operation has RUNS samples; all: every span, including
#             one operation per tool (each with fewer samples: more runs needed to decide)
#   THRESHOLD relative slowdown that counts as a regression (default 0.10)
#
# Noise: the baseline and the candidate are profiled at different times, so profile both on
# the same kind of quiet runner; a busy machine alone can make a build look 10-20% slower.
set -euo pipefail

MODE=${1:-check}
STORE=${STORE:-.mcp-agent-otel/analyzer.db}
ANALYZER_URL=${ANALYZER_URL:-}
BASELINE=${BASELINE:-main}
VERSION=${VERSION:-$(git rev-parse --short HEAD 2>/dev/null || echo dev)}
WORKLOAD=${WORKLOAD:-mixed}
RUNS=${RUNS:-1000}
RECORD=${RECORD:-stages}
THRESHOLD=${THRESHOLD:-0.10}

if [[ -n "$ANALYZER_URL" ]]; then
  record=(--to-analyzer "$ANALYZER_URL")
  where=(--url "$ANALYZER_URL")
else
  mkdir -p "$(dirname "$STORE")"
  record=(--store "$STORE")
  where=(--db "$STORE")
fi

# Step 1: profile this build through the real pipeline; its spans go to the analyzer,
# tagged service.version=$VERSION. The report is kept as a CI artifact.
mcp-agent-otel profile "$WORKLOAD" -n "$RUNS" --version "$VERSION" --record "$RECORD" "${record[@]}" \
  --markdown profile-"$VERSION".md --json profile-"$VERSION".json

case "$MODE" in
  baseline)
    if [[ -n "$ANALYZER_URL" ]]; then
      echo "create the baseline on the analyzer's host:" \
        "mcp-agent-otel analyzer baseline create $BASELINE --version $VERSION" >&2
      exit 0
    fi
    mcp-agent-otel analyzer baseline delete "$BASELINE" "${where[@]}" >/dev/null 2>&1 || true
    mcp-agent-otel analyzer baseline create "$BASELINE" --version "$VERSION" "${where[@]}"
    ;;
  check)
    # Step 2: the gate.
    mcp-agent-otel check --baseline "$BASELINE" --candidate-version "$VERSION" \
      --threshold "$THRESHOLD" "${where[@]}"
    ;;
  *)
    echo "usage: $0 [baseline|check]" >&2
    exit 2
    ;;
esac
