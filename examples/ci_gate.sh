#!/usr/bin/env bash
# The performance regression gate in CI.
#
# Recommended: A/B in one job (MODE=ab, the default). Install the baseline build (e.g. the
# main branch) and the candidate build (this commit) side by side, each in its own virtualenv,
# and let the gate run them in alternating blocks on the same runner:
#
#     python -m venv base && base/bin/pip install "git+https://.../mcp-agent-otel@main"
#     python -m venv .venv && .venv/bin/pip install .
#     BASELINE_CMD=base/bin/mcp-agent-otel examples/ci_gate.sh
#
# Both builds see the same machine at the same minutes, block after block (A B A B ...), and
# the statistics compare block i of A with block i of B as a pair: a neighbour's load, a slow
# runner or thermal throttling falls on both alike and cancels. Measured on a shared 2-core
# machine with a core burned by an unrelated process from the first block on: see the README
# ("The CI gate").
#
# Alternative: a stored baseline (MODE=baseline once, then MODE=check in every run). The
# baseline and the candidate are then profiled at different times, so runner noise is not
# cancelled: record the baseline with REPEAT>=3 runs and keep the spans file (BASELINE_FILE),
# so the gate can estimate the run-to-run noise and widen its comparison by it.
#
#     examples/ci_gate.sh baseline    # once, on the build you trust: K runs -> baseline file
#     examples/ci_gate.sh check       # every CI run: profile this build, then the gate
#
# Exit status: 0 pass (a 10% slowdown is ruled out at 85% confidence; faster never blocks),
# 1 regression (the operations and the statistic that moved are named: median, p95 or p99),
# 2 inconclusive (too few samples to decide either way) or unusable input. Fail the job on
# non-zero.
#
# Settings (environment):
#   MODE          ab (default), baseline or check
#   BASELINE_CMD  ab: the baseline build's mcp-agent-otel (required)
#   CANDIDATE_CMD ab: the candidate build's mcp-agent-otel (default: mcp-agent-otel on PATH)
#   BLOCKS        ab: blocks per build (default 300)
#   BLOCK_RUNS    ab: workflows per block (default 3: short blocks pair the builds closely in
#                 time; the blocks go on through the workload's tasks)
#   WORKLOAD      a profile (simple, moderate, complex, mixed) or a task file (default mixed)
#   RUNS          baseline/check: workflows per run (default 1000)
#   REPEAT        baseline: runs to record (default 3); each gets its own mcp_agent.run.id
#   BASELINE_FILE baseline/check: the baseline's spans file (default baseline-spans.jsonl),
#                 kept between CI runs as a cache or artifact
#   VERSION       this build's service.version (default: the short git commit)
#   THRESHOLD     relative slowdown that counts as a regression (default 0.10)
#   METRIC        wall (default) or cpu: the thread CPU time of the synchronous stages, which a
#                 busy neighbour barely moves
# The run id is taken from the CI (GITHUB_RUN_ID, CI_PIPELINE_ID, ...) or MCP_AGENT_OTEL_RUN_ID.
set -euo pipefail

MODE=${1:-${MODE:-ab}}
WORKLOAD=${WORKLOAD:-mixed}
THRESHOLD=${THRESHOLD:-0.10}
METRIC=${METRIC:-wall}
VERSION=${VERSION:-$(git rev-parse --short HEAD 2>/dev/null || echo dev)}
BASELINE_FILE=${BASELINE_FILE:-baseline-spans.jsonl}
RUNS=${RUNS:-1000}

case "$MODE" in
  ab)
    if [[ -z "${BASELINE_CMD:-}" ]]; then
      echo "MODE=ab needs BASELINE_CMD: the baseline build's mcp-agent-otel" \
        "(e.g. base/bin/mcp-agent-otel)" >&2
      exit 2
    fi
    CANDIDATE_CMD=${CANDIDATE_CMD:-mcp-agent-otel}
    exec "$CANDIDATE_CMD" check --ab --baseline-cmd "$BASELINE_CMD" \
      --candidate-cmd "$CANDIDATE_CMD" --workload "$WORKLOAD" \
      --blocks "${BLOCKS:-300}" --block-runs "${BLOCK_RUNS:-3}" \
      --threshold "$THRESHOLD" --metric "$METRIC"
    ;;
  baseline)
    mcp-agent-otel profile "$WORKLOAD" -n "$RUNS" --repeat "${REPEAT:-3}" --record stages \
      --version "$VERSION" --spans-out "$BASELINE_FILE" --memory-runs 0
    ;;
  check)
    mcp-agent-otel profile "$WORKLOAD" -n "$RUNS" --record stages --version "$VERSION" \
      --spans-out candidate-spans.jsonl --memory-runs 0 \
      --markdown profile-"$VERSION".md --json profile-"$VERSION".json
    mcp-agent-otel check --baseline-file "$BASELINE_FILE" \
      --candidate-file candidate-spans.jsonl --threshold "$THRESHOLD" --metric "$METRIC"
    ;;
  *)
    echo "usage: $0 [ab|baseline|check]" >&2
    exit 2
    ;;
esac
