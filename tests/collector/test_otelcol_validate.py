"""``validate --config`` by the real collector binaries, where they exist.

``OTELCOL_BIN`` (or ``otelcol-contrib`` on PATH) validates collector/otelcol-config.yaml —
with its defaults and with every override set; ``JAEGER_BIN`` (or ``jaeger`` on PATH)
validates collector/jaeger-config.yaml (Jaeger v2 is built on the collector and has the same
``validate`` command). Neither binary exists on this machine or in CI, so these tests skip
and say how to run them; the structural checks in test_collector_config.py always run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.collector.otelcol_config import env_references, load_yaml

COLLECTOR_DIR = Path(__file__).resolve().parents[2] / "collector"
OVERRIDES = {
    "MCP_AGENT_OTEL_COLLECTOR_ANALYZER_ENDPOINT": "https://analyzer.observability.internal:4418",
    "MCP_AGENT_OTEL_COLLECTOR_JAEGER_ENDPOINT": "jaeger-collector.observability.internal:4317",
    "MCP_AGENT_OTEL_COLLECTOR_JAEGER_INSECURE": "false",
    "MCP_AGENT_OTEL_COLLECTOR_SLOW_TRACE_MS": "250",
    "MCP_AGENT_OTEL_COLLECTOR_SAMPLE_PERCENT": "5",
    "MCP_AGENT_OTEL_COLLECTOR_DECISION_WAIT": "30s",
    "MCP_AGENT_OTEL_COLLECTOR_MEMORY_LIMIT_PERCENT": "70",
    "MCP_AGENT_OTEL_ANALYZER_TOKEN": "s3cret",
}


def _binary(variable: str, name: str) -> str:
    explicit = os.environ.get(variable)
    if explicit:
        if not os.access(explicit, os.X_OK):
            pytest.fail(f"{variable}={explicit} is not an executable file")
        return explicit
    found = shutil.which(name)
    if found is None:
        pytest.skip(
            f"no {name} binary here (no Docker engine either): set {variable}=/path/to/{name} "
            f"or put {name} on PATH to run `{name} validate` on the bundled config"
        )
    return found


def _validate(binary: str, config: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [binary, "validate", f"--config={config}"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("MCP_AGENT_OTEL_")}


def test_overrides_cover_every_variable_the_config_reads() -> None:
    assert set(OVERRIDES) == set(env_references(load_yaml(COLLECTOR_DIR / "otelcol-config.yaml")))


@pytest.mark.parametrize("overrides", [False, True], ids=["defaults", "overrides"])
def test_otelcol_contrib_validates_the_collector_config(overrides: bool) -> None:
    binary = _binary("OTELCOL_BIN", "otelcol-contrib")
    env = _clean_env() | (OVERRIDES if overrides else {})
    result = _validate(binary, COLLECTOR_DIR / "otelcol-config.yaml", env)
    assert result.returncode == 0, result.stdout + result.stderr


def test_otelcol_contrib_rejects_a_broken_config(tmp_path: Path) -> None:
    binary = _binary("OTELCOL_BIN", "otelcol-contrib")
    text = (COLLECTOR_DIR / "otelcol-config.yaml").read_text()
    broken = tmp_path / "broken.yaml"
    broken.write_text(text.replace("exporters: [otlp_grpc/jaeger]", "exporters: [otlp_grpc/nope]"))
    result = _validate(binary, broken, _clean_env())
    assert result.returncode != 0


def test_jaeger_validates_its_config() -> None:
    binary = _binary("JAEGER_BIN", "jaeger")
    result = _validate(binary, COLLECTOR_DIR / "jaeger-config.yaml", _clean_env())
    assert result.returncode == 0, result.stdout + result.stderr
