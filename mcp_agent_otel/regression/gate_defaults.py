"""The CI gate's defaults, importable without numpy or scipy.

``statistics`` and ``gate`` use them, and the CLI shows them in ``check --help``, which must
not load the statistics stack to print a default.
"""

from __future__ import annotations

DEFAULT_THRESHOLD = 0.10
DEFAULT_ALPHA = 0.01
DEFAULT_MIN_SAMPLES = 20
# The pass rule: a slowdown of the threshold must be ruled out at this one-sided confidence.
DEFAULT_PASS_CONFIDENCE = 0.85
# What a comparison measures: span durations ("wall"), or the thread CPU time of the
# synchronous stages ("cpu", from mcp_agent.cpu_time_ms; spans files only).
METRICS = ("wall", "cpu")
# `check --ab`: 300 blocks of 3 = 900 workflows per build. Short blocks pair the two builds
# ~20 ms apart; blocks of 18 left the machine's drift inside each pair (profiling/ab_blocks.py).
DEFAULT_AB_BLOCKS = 300
DEFAULT_AB_BLOCK_RUNS = 3
