"""The bundled collector config, checked structurally (no collector binary needed).

Every component a pipeline names is defined and every defined one is used, ``memory_limiter``
comes first, receivers bind 0.0.0.0, exporter endpoints name the compose services on the
analyzer's and Jaeger's real ports, and every ``${env:VAR:-default}`` resolves — with the
defaults and with overrides pointing at an existing observability stack.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest

from mcp_agent_otel.regression.config import DEFAULT_GRPC_PORT, DEFAULT_HTTP_PORT
from mcp_agent_otel.tracing import semconv
from tests.collector.otelcol_config import (
    UnresolvedEnvError,
    component_type,
    compose_container_ports,
    endpoint_host_port,
    env_references,
    expand_env,
    load_yaml,
    pipeline_signal,
    pipelines,
    receiver_bind_problems,
    structural_problems,
)

COLLECTOR_DIR = Path(__file__).resolve().parents[2] / "collector"
ENV_PREFIX = f"{semconv.ENV_PREFIX}COLLECTOR_"


@pytest.fixture(scope="module")
def raw_config() -> dict[str, Any]:
    return load_yaml(COLLECTOR_DIR / "otelcol-config.yaml")


@pytest.fixture(scope="module")
def config(raw_config: dict[str, Any]) -> dict[str, Any]:
    """The collector config as the collector sees it with no overrides set."""
    resolved = expand_env(raw_config, {})
    assert isinstance(resolved, dict)
    return resolved


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_yaml(COLLECTOR_DIR / "docker-compose.yaml")


@pytest.fixture(scope="module")
def jaeger_config() -> dict[str, Any]:
    resolved = expand_env(load_yaml(COLLECTOR_DIR / "jaeger-config.yaml"), {})
    assert isinstance(resolved, dict)
    return resolved


def test_every_component_is_defined_used_and_memory_limiter_first(config: dict[str, Any]) -> None:
    assert structural_problems(config) == []
    for name, spec in pipelines(config).items():
        assert component_type(spec["processors"][0]) == "memory_limiter", name


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda c: c["service"]["pipelines"]["traces/jaeger"]["exporters"].append("otlp_grpc/x"),
            "names exporter otlp_grpc/x, not defined",
        ),
        (
            lambda c: c["processors"].update({"attributes/unused": {"actions": []}}),
            "processor attributes/unused is defined but never used",
        ),
        (
            lambda c: c["service"]["pipelines"]["traces/jaeger"]["processors"].reverse(),
            "traces/jaeger: memory_limiter must be the first processor",
        ),
        (
            lambda c: c["service"]["pipelines"].pop("metrics/span_metrics"),
            "connector span_metrics must be an exporter in one pipeline and a receiver",
        ),
        (
            lambda c: c["service"].update({"extensions": []}),
            "extension health_check is defined but never used",
        ),
        (
            lambda c: c["service"]["pipelines"]["traces/analyzer"].update({"receivers": []}),
            "pipeline traces/analyzer has no receivers",
        ),
    ],
    ids=["undefined", "unused", "limiter-not-first", "one-sided-connector", "unused-ext", "empty"],
)
def test_the_wiring_check_catches_each_kind_of_mistake(
    config: dict[str, Any], mutate: Any, expected: str
) -> None:
    broken = copy.deepcopy(config)
    mutate(broken)
    problems = structural_problems(broken)
    assert any(expected in p for p in problems), problems


def test_one_otlp_receiver_on_all_interfaces_feeds_two_trace_pipelines(
    config: dict[str, Any],
) -> None:
    assert set(config["receivers"]) == {"otlp"}
    protocols = config["receivers"]["otlp"]["protocols"]
    assert endpoint_host_port(protocols["grpc"]["endpoint"]) == ("0.0.0.0", 4317)
    assert endpoint_host_port(protocols["http"]["endpoint"]) == ("0.0.0.0", 4318)
    assert receiver_bind_problems(config) == []

    traces = {n: s for n, s in pipelines(config).items() if pipeline_signal(n) == "traces"}
    assert set(traces) == {"traces/analyzer", "traces/jaeger"}
    assert all(spec["receivers"] == ["otlp"] for spec in traces.values())


def test_a_receiver_left_on_localhost_is_reported(config: dict[str, Any]) -> None:
    broken = copy.deepcopy(config)
    broken["receivers"]["otlp"]["protocols"]["http"]["endpoint"] = "localhost:4318"
    del broken["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"]
    problems = receiver_bind_problems(broken)
    assert "receiver otlp.http binds localhost, not 0.0.0.0" in problems
    assert "receiver otlp.grpc has no explicit endpoint (defaults to localhost)" in problems


def test_the_analyzer_gets_every_span_and_jaeger_a_tail_sample(config: dict[str, Any]) -> None:
    pipes = pipelines(config)
    analyzer, jaeger = pipes["traces/analyzer"], pipes["traces/jaeger"]
    # No sampling of any kind on the analyzer's path: its statistics need every span.
    assert [component_type(p) for p in analyzer["processors"]] == ["memory_limiter"]
    assert [component_type(e) for e in analyzer["exporters"]] == ["otlp_http", "span_metrics"]
    assert [component_type(p) for p in jaeger["processors"]] == ["memory_limiter", "tail_sampling"]
    assert [component_type(e) for e in jaeger["exporters"]] == ["otlp_grpc"]

    policies = {p["type"]: p for p in config["processors"]["tail_sampling"]["policies"]}
    assert set(policies) == {"status_code", "latency", "probabilistic"}
    assert policies["status_code"]["status_code"]["status_codes"] == ["ERROR"]
    assert isinstance(policies["latency"]["latency"]["threshold_ms"], int)
    assert "upper_threshold_ms" not in policies["latency"]["latency"]  # every slow trace
    assert 0 < policies["probabilistic"]["probabilistic"]["sampling_percentage"] < 100


def test_components_use_current_contrib_names_and_exporter_batching(
    config: dict[str, Any],
) -> None:
    types = {kind: {component_type(c) for c in config.get(kind) or {}} for kind in config}
    # Renamed in contrib 0.144+ (otlp → otlp_grpc, otlphttp → otlp_http, spanmetrics →
    # span_metrics); the old names are deprecated aliases.
    assert types["exporters"] == {"otlp_grpc", "otlp_http", "prometheus"}
    assert types["connectors"] == {"span_metrics"}
    assert types["extensions"] == {"health_check"}
    # The batch processor is replaced by the exporters' sending_queue batching.
    assert "batch" not in types["processors"]
    for name, exporter in config["exporters"].items():
        if component_type(name) in {"otlp_grpc", "otlp_http"}:
            queue = exporter["sending_queue"]
            assert queue["enabled"] is True, name
            assert queue["batch"]["min_size"] <= queue["batch"]["max_size"], name
            assert queue["batch"]["min_size"] <= queue["queue_size"], name


def test_exporter_endpoints_name_the_compose_services_on_their_documented_ports(
    config: dict[str, Any], compose: dict[str, Any], jaeger_config: dict[str, Any]
) -> None:
    services = compose["services"]
    analyzer_url = config["exporters"]["otlp_http/analyzer"]["endpoint"]
    assert analyzer_url.startswith("http://")
    assert endpoint_host_port(analyzer_url) == ("analyzer", DEFAULT_HTTP_PORT)
    assert {DEFAULT_HTTP_PORT, DEFAULT_GRPC_PORT} <= compose_container_ports(services["analyzer"])

    jaeger_host, jaeger_port = endpoint_host_port(
        config["exporters"]["otlp_grpc/jaeger"]["endpoint"]
    )
    assert jaeger_host == "jaeger"
    assert jaeger_host in services
    jaeger_otlp_grpc = jaeger_config["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"]
    assert endpoint_host_port(jaeger_otlp_grpc)[1] == jaeger_port
    assert config["exporters"]["otlp_grpc/jaeger"]["tls"]["insecure"] is True

    # The collector's own receiver and health ports are the ones compose publishes.
    assert compose_container_ports(services["collector"]) == {4317, 4318, 13133}
    assert endpoint_host_port(config["extensions"]["health_check"]["endpoint"]) == (
        "0.0.0.0",
        13133,
    )
    probe = services["collector-health"]["healthcheck"]["test"]
    assert "http://collector:13133/" in probe


def test_every_env_reference_has_a_default_of_the_right_type(
    raw_config: dict[str, Any], config: dict[str, Any]
) -> None:
    refs = env_references(raw_config)
    assert refs, "the config is expected to be overridable from the environment"
    own = {n for n in refs if n.startswith(ENV_PREFIX)}
    assert set(refs) - own == {semconv.ENV_ANALYZER_TOKEN}, "the analyzer's token, shared"
    assert all(default is not None for default in refs.values()), refs

    limiter = config["processors"]["memory_limiter"]
    assert isinstance(limiter["limit_percentage"], int)
    assert 0 < limiter["spike_limit_percentage"] < limiter["limit_percentage"] <= 100
    assert re.fullmatch(r"\d+(ms|s|m)", config["processors"]["tail_sampling"]["decision_wait"])


def test_overrides_point_the_same_config_at_an_existing_stack(raw_config: dict[str, Any]) -> None:
    env = {
        f"{ENV_PREFIX}ANALYZER_ENDPOINT": "https://analyzer.observability.internal:4418",
        f"{ENV_PREFIX}JAEGER_ENDPOINT": "tempo.observability.internal:4317",
        f"{ENV_PREFIX}JAEGER_INSECURE": "false",
        f"{ENV_PREFIX}SLOW_TRACE_MS": "250",
        f"{ENV_PREFIX}SAMPLE_PERCENT": "2.5",
        f"{ENV_PREFIX}DECISION_WAIT": "30s",
        f"{ENV_PREFIX}MEMORY_LIMIT_PERCENT": "70",
        semconv.ENV_ANALYZER_TOKEN: "s3cret",
    }
    assert set(env) == set(env_references(raw_config)), "every override is exercised here"
    resolved = expand_env(raw_config, env)
    exporters = resolved["exporters"]
    assert exporters["otlp_http/analyzer"]["endpoint"] == env[f"{ENV_PREFIX}ANALYZER_ENDPOINT"]
    assert exporters["otlp_grpc/jaeger"]["endpoint"] == env[f"{ENV_PREFIX}JAEGER_ENDPOINT"]
    assert exporters["otlp_grpc/jaeger"]["tls"]["insecure"] is False
    assert exporters["otlp_http/analyzer"]["headers"] == {"Authorization": "Bearer s3cret"}
    sampling = resolved["processors"]["tail_sampling"]
    policies = {p["type"]: p for p in sampling["policies"]}
    assert policies["latency"]["latency"]["threshold_ms"] == 250
    assert policies["probabilistic"]["probabilistic"]["sampling_percentage"] == 2.5
    assert sampling["decision_wait"] == "30s"
    assert resolved["processors"]["memory_limiter"]["limit_percentage"] == 70
    assert structural_problems(resolved) == []


def test_a_reference_without_default_or_value_is_an_error() -> None:
    with pytest.raises(UnresolvedEnvError, match="MCP_AGENT_OTEL_COLLECTOR_NOPE is not set"):
        expand_env({"endpoint": "${env:MCP_AGENT_OTEL_COLLECTOR_NOPE}"}, {})
    # Embedded references are substituted as text, whole-value ones keep their YAML type.
    assert expand_env({"a": "http://${env:H:-x}:1", "b": "${env:N:-7}"}, {"H": "h"}) == {
        "a": "http://h:1",
        "b": 7,
    }


def test_span_metrics_reach_jaegers_monitor_tab_through_prometheus(
    config: dict[str, Any], compose: dict[str, Any], jaeger_config: dict[str, Any]
) -> None:
    """Wired end to end: connector → prometheus exporter → Prometheus → Jaeger's metric store."""
    connector = config["connectors"]["span_metrics"]
    exporter_host, exporter_port = endpoint_host_port(config["exporters"]["prometheus"]["endpoint"])
    assert exporter_host == "0.0.0.0"

    scrape = load_yaml(COLLECTOR_DIR / "prometheus.yaml")["scrape_configs"]
    targets = [t for job in scrape for group in job["static_configs"] for t in group["targets"]]
    assert targets == [f"collector:{exporter_port}"]
    assert "collector" in compose["services"]

    store = jaeger_config["extensions"]["jaeger_storage"]["metric_backends"]
    query_storage = jaeger_config["extensions"]["jaeger_query"]["storage"]
    prometheus = store[query_storage["metrics"]]["prometheus"]
    host, port = endpoint_host_port(prometheus["endpoint"])
    assert host == "prometheus"
    assert port in compose_container_ports(compose["services"][host])
    # Jaeger queries the names the prometheus exporter gives the connector's metrics.
    assert prometheus["metric_namespace"] == connector["namespace"].replace(".", "_")
    assert prometheus["latency_unit"] == connector["histogram"]["unit"]
    assert prometheus["normalize_calls"] is True
    assert prometheus["normalize_duration"] is True
    assert config["exporters"]["prometheus"]["translation_strategy"].endswith("WithSuffixes")


def test_jaeger_config_is_wired_and_listens_where_compose_expects(
    jaeger_config: dict[str, Any], compose: dict[str, Any]
) -> None:
    # Jaeger v2 is a collector too; it has no processors, so memory_limiter does not apply.
    problems = [p for p in structural_problems(jaeger_config) if "memory_limiter" not in p]
    assert problems == []
    assert receiver_bind_problems(jaeger_config) == []
    extensions = jaeger_config["extensions"]
    backends = extensions["jaeger_storage"]["backends"]
    assert extensions["jaeger_query"]["storage"]["traces"] in backends
    assert jaeger_config["exporters"]["jaeger_storage_exporter"]["trace_storage"] in backends
    ui_port = endpoint_host_port(extensions["jaeger_query"]["http"]["endpoint"])[1]
    assert ui_port == 16686
    assert ui_port in compose_container_ports(compose["services"]["jaeger"])
    health_port = endpoint_host_port(extensions["healthcheckv2"]["http"]["endpoint"])[1]
    assert (
        f"http://127.0.0.1:{health_port}/status"
        in compose["services"]["jaeger"]["healthcheck"]["test"]
    )
