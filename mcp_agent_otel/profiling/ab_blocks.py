"""A/B in one job: the baseline build and the candidate build profiled in alternating blocks.

Each build is given as the command of its own ``mcp-agent-otel`` (two virtualenvs, two installed
versions side by side). Both are started once as ``profile WORKLOAD --serve-blocks`` workers,
each with its own agent, MCP servers and state directory. Each is first asked for one warm-up
block, which is thrown away, so that no measured block runs while the other build is still
starting. The driver then asks them for short blocks of ``block_runs`` workflows in turn,
A B A B ..., so that drift of the machine (a neighbour's load starting, thermal throttling,
other processes' bursts) falls on both builds alike; a worker goes on through the workload's
tasks from block to block, so block i of A and block i of B run the same tasks. Each answer is
one OTLP-JSON line of the block's spans (run id ``<run>.<block>``, measured blocks numbered
from 1); both sides are kept as spans files in ``workdir`` (CI artifacts), and the gate compares
block i of A with block i of B as a pair (``statistics.compare_many(paired=True)``).

Why short blocks (measured on the real pipeline, load average 3-9 plus a process burning a
core; the README's "A/B in one job" has the figures): a busy machine's state persists for tens
of milliseconds, not for a block of 18 workflows (~0.2 s). With 50 blocks of 18 the residuals
of consecutive workflows correlated +0.3..+0.75, A's block and the next B block only
+0.4..+0.8, so the per-pair differences of ``meta_coordinator.execute``'s log mean had a
standard deviation of 0.19-0.35 and the pass rule's 85% bound sat 2-6% above the estimate: an
unchanged build whose estimate drifted to +5% was inconclusive (7 of 10 passed). With 300
blocks of 3 (the same 900 workflows per side) the bound sat 1.4-3.0% above it and 19 of 20
passed in two runs (the other: a false regression, execute 1.057x); blocks of 1 gained no more
and took a third longer (round trips).

The I/O shell only: processes, pipes, files. The statistics live in the analyzer.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import queue
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO

import numpy as np
from numpy.typing import NDArray

from mcp_agent_otel.errors import McpAgentOtelError
from mcp_agent_otel.regression import gate_defaults
from mcp_agent_otel.regression.gate import Evidence
from mcp_agent_otel.regression.offline import file_samples
from mcp_agent_otel.regression.operation import OperationKey
from mcp_agent_otel.regression.run_variance import Runs
from mcp_agent_otel.tracing import semconv

BLOCK_TIMEOUT_S = 600.0
SIDES = ("A", "B")  # A: the baseline build, B: the candidate build
DEFAULT_BLOCKS = gate_defaults.DEFAULT_AB_BLOCKS
DEFAULT_BLOCK_RUNS = gate_defaults.DEFAULT_AB_BLOCK_RUNS
WARMUP_BLOCK = 0  # each worker's first block: run before any measured block, not kept


class AbError(McpAgentOtelError, RuntimeError):
    """The A/B comparison could not run; the message says which build failed and why."""


def command(text: str) -> list[str]:
    """A build's command line (shell words); its program must exist."""
    words = shlex.split(text)
    if not words:
        raise AbError("an empty command was given for a build")
    program = words[0]
    if shutil.which(program) is None and not Path(program).is_file():
        raise AbError(
            f"{program!r} is not an executable: give the mcp-agent-otel command of each build, "
            "e.g. --baseline-cmd base/.venv/bin/mcp-agent-otel"
        )
    return words


def this() -> list[str]:
    """The ``mcp-agent-otel`` of the running interpreter (the build under test)."""
    return [sys.executable, "-c", "from mcp_agent_otel.cli import main; main()"]


@dataclasses.dataclass(frozen=True)
class AbPlan:
    baseline: list[str]
    candidate: list[str]
    workload: str = "mixed"
    blocks: int = DEFAULT_BLOCKS  # measured blocks per build
    block_runs: int = DEFAULT_BLOCK_RUNS
    workdir: Path | None = None  # where the spans files go (default: a fresh temp directory)
    env: Mapping[str, Mapping[str, str]] = dataclasses.field(default_factory=dict)  # per side

    def __post_init__(self) -> None:
        if self.blocks < 2:
            raise AbError(f"A/B needs at least 2 blocks per build (got {self.blocks})")
        if self.block_runs < 1:
            raise AbError(f"a block needs at least 1 workflow (got {self.block_runs})")


def block_order(blocks: int) -> list[tuple[int, str]]:
    """(block, side) of the measured blocks (numbered from 1), in the order they run:
    A B A B ... (pure).

    Strict alternation, so every block follows a block of the *other* build: switching
    processes has a cost (cold CPU caches, the other build's servers settling), measured at
    up to 20% of a workflow on this machine, and with A B B A ordering it fell on one build in
    half of the pairs and on the other in the rest. In strict alternation every block but the
    first is preceded and followed by the other build, so the pairing of A_i with B_i (rather
    than B_i with A_i+1) is bookkeeping; a slow trend biases B by one short block's worth of
    it only. (Measured with blocks of 18: A B, B A and A B B A orders, 3 tries each, gave no
    detectable order effect; the spread of the estimates came from the block noise.)"""
    return [(block, side) for block in range(1, blocks + 1) for side in SIDES]


@dataclasses.dataclass(frozen=True)
class AbResult:
    files: dict[str, Path]  # side -> spans file (one line per block)
    blocks: int
    wall_s: float

    def evidence(
        self, *, service: str | None = None, metric: str = "wall"
    ) -> tuple[dict[OperationKey, Evidence], dict[OperationKey, Evidence]]:
        """Per operation, the A and B blocks as ``Runs`` paired by position (blocks where an
        operation has no span on one side are left out of that operation's pairs)."""
        sides = [
            file_samples([self.files[side]], service=service, metric=metric)[0] for side in SIDES
        ]
        base: dict[OperationKey, Evidence] = {}
        cand: dict[OperationKey, Evidence] = {}
        for key in sorted(set(sides[0]) & set(sides[1])):
            a, b = (_by_block(side[key]) for side in sides)
            common = sorted(set(a) & set(b))
            base[key] = Runs(tuple(a[i] for i in common))
            cand[key] = Runs(tuple(b[i] for i in common))
        return base, cand


def _by_block(by_run: Mapping[str, NDArray[np.float64]]) -> dict[int, NDArray[np.float64]]:
    """Run ids ``<run>.<block>`` -> block number."""
    out = {}
    for run_id, values in by_run.items():
        _, _, suffix = run_id.rpartition(".")
        if suffix.isdigit():
            out[int(suffix)] = values
    return out


class _Worker:
    """One build's ``profile --serve-blocks`` process."""

    def __init__(self, side: str, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.side = side
        self.log = log
        self._stderr = log.open("wb")
        try:
            self.process = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                env=env,
            )
        except OSError as exc:
            self._stderr.close()
            raise AbError(f"cannot start build {side} ({shlex.join(argv)}): {exc}") from None
        self._lines: queue.Queue[bytes] = queue.Queue()
        assert self.process.stdout is not None
        threading.Thread(target=self._read, args=(self.process.stdout,), daemon=True).start()

    def _read(self, stream: IO[bytes]) -> None:
        for line in stream:
            self._lines.put(line)
        self._lines.put(b"")  # end of output

    def block(self, runs: int) -> bytes:
        stdin = self.process.stdin
        assert stdin is not None
        try:
            stdin.write(f"{runs}\n".encode())
            stdin.flush()
        except OSError:
            raise self._died() from None
        try:
            line = self._lines.get(timeout=BLOCK_TIMEOUT_S)
        except queue.Empty:
            raise AbError(
                f"build {self.side} did not answer a block of {runs} within "
                f"{BLOCK_TIMEOUT_S:g} s (its log: {self.log})"
            ) from None
        if not line.strip():
            raise self._died()
        return line

    def _died(self) -> AbError:
        self.process.wait(timeout=30)
        tail = self.log.read_text(errors="replace").strip().splitlines()[-5:]
        return AbError(
            f"build {self.side} stopped (exit {self.process.returncode}); does its "
            "mcp-agent-otel have `profile --serve-blocks`? Last lines of its log:\n  "
            + "\n  ".join(tail)
        )

    def close(self) -> None:
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._stderr.close()


def run_ab(
    plan: AbPlan,
    progress: Callable[[str], None] | None = None,
    on_block: Callable[[int, str], None] | None = None,
) -> AbResult:
    """Run both builds in alternating blocks; their spans files are the result.
    ``on_block(block, side)`` is called after each measured block (numbered from 1; e.g. to
    log or change the load)."""
    say = progress or (lambda text: None)
    workdir = plan.workdir or Path(tempfile.mkdtemp(prefix="mcp-agent-otel-ab-"))
    workdir.mkdir(parents=True, exist_ok=True)
    argv = {"A": plan.baseline, "B": plan.candidate}
    workers: dict[str, _Worker] = {}
    files = {side: workdir / f"spans-{side}.jsonl" for side in SIDES}
    started = time.monotonic()
    try:
        for side in SIDES:
            env = {
                **os.environ,
                semconv.ENV_HOME: str(workdir / f"home-{side}"),
                semconv.ENV_RUN_ID: f"ab-{side}",
                **plan.env.get(side, {}),
            }
            args = [*argv[side], "profile", plan.workload, "--serve-blocks", "--record", "stages"]
            workers[side] = _Worker(side, args, env, workdir / f"build-{side}.log")
        for side in SIDES:  # the warm-up blocks: both builds started and warm, then measure
            workers[side].block(plan.block_runs)
        say("A/B: both builds warmed up")
        outputs = {side: files[side].open("wb") for side in SIDES}
        try:
            for block, side in block_order(plan.blocks):
                outputs[side].write(workers[side].block(plan.block_runs))
                outputs[side].flush()
                say(f"A/B: block {block}/{plan.blocks} of build {side} done")
                if on_block is not None:
                    on_block(block, side)
        finally:
            for out in outputs.values():
                out.close()
    finally:
        for worker in workers.values():
            worker.close()
    say(f"A/B: spans of both builds in {workdir}")
    return AbResult(files, plan.blocks, time.monotonic() - started)
