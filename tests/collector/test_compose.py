"""collector/docker-compose.yaml: compose-spec valid, pinned, health-checked, ports documented.

No Docker engine runs here, so the file is validated against the compose-spec JSON schema
(``check-jsonschema --builtin-schema vendor.compose-spec``, vendored with check-jsonschema: no
network) and cross-checked against the files it mounts and the collector config it runs.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.collector.otelcol_config import compose_container_ports, env_references, load_yaml

ROOT = Path(__file__).resolve().parents[2]
COLLECTOR_DIR = ROOT / "collector"
COMPOSE_FILE = COLLECTOR_DIR / "docker-compose.yaml"

PINNED = re.compile(r"^(?P<repo>[a-z0-9./_-]+):v?(?P<version>\d+\.\d+\.\d+)$")


def _check_jsonschema() -> str:
    beside_python = Path(sys.executable).with_name("check-jsonschema")
    found = str(beside_python) if beside_python.exists() else shutil.which("check-jsonschema")
    if found is None:
        pytest.fail("check-jsonschema is not installed: run `make test` (it installs .[dev])")
    return found


def _validate(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_check_jsonschema(), "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_yaml(COMPOSE_FILE)


def test_compose_file_validates_against_the_compose_spec_schema() -> None:
    result = _validate(COMPOSE_FILE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok -- validation done" in result.stdout


def test_the_schema_check_rejects_a_broken_compose_file(
    compose: dict[str, Any], tmp_path: Path
) -> None:
    broken = dict(compose)
    broken["services"] = dict(compose["services"])
    broken["services"]["jaeger"] = {**compose["services"]["jaeger"], "helthcheck": {}}
    path = tmp_path / "docker-compose.yaml"
    path.write_text(yaml.safe_dump(broken))
    result = _validate(path)
    assert result.returncode != 0
    assert "helthcheck" in result.stdout + result.stderr


def test_images_are_pinned_to_released_versions(compose: dict[str, Any]) -> None:
    images: dict[str, tuple[str, str]] = {}
    for name, service in compose["services"].items():
        if "build" in service:
            continue
        match = PINNED.match(service["image"])
        assert match, f"service {name}: image {service['image']!r} is not pinned to x.y.z"
        images[match.group("repo")] = (name, match.group("version"))
    assert set(images) == {
        "otel/opentelemetry-collector-contrib",
        "jaegertracing/jaeger",
        "prom/prometheus",
        "busybox",
    }
    contrib = tuple(int(x) for x in images["otel/opentelemetry-collector-contrib"][1].split("."))
    assert contrib >= (0, 144, 0), "otlp_grpc / otlp_http exporter names need contrib >= 0.144"
    assert images["jaegertracing/jaeger"][1].startswith("2."), "Jaeger v2"


def test_every_service_has_a_health_check_and_the_collector_waits_for_its_backends(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    for name, service in services.items():
        if name == "collector":
            # Its image is FROM scratch (no shell, no wget): the sidecar probes it instead.
            probe = services["collector-health"]["healthcheck"]["test"]
            assert probe[-1] == "http://collector:13133/"
            continue
        test = service.get("healthcheck", {}).get("test")
        assert isinstance(test, list), f"service {name} has no exec-form health check"
        assert test[0] == "CMD", name
    depends = services["collector"]["depends_on"]
    assert depends == {
        "analyzer": {"condition": "service_healthy"},
        "jaeger": {"condition": "service_healthy"},
    }


def test_every_published_port_is_documented() -> None:
    text = COMPOSE_FILE.read_text()
    header = "\n".join(line for line in text.splitlines() if line.startswith("#"))
    mappings = re.findall(r'^\s*- "([\d.]+):(\d+):(\d+)"(.*)$', text, flags=re.MULTILINE)
    assert mappings
    for address, host, container, rest in mappings:
        assert address == "127.0.0.1", f"port {host} is published beyond this machine"
        assert host == container, "host ports match the container ports the docs name"
        assert "#" in rest, f"port {host} has no comment saying what it is"
        assert re.search(rf"#\s+{host}\s+\w+", header), f"port {host} missing from the header"


def test_mounted_files_exist_and_the_analyzer_is_built_from_the_project(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                assert (COLLECTOR_DIR / source).is_file(), f"{name} mounts missing {source}"
            else:
                assert source in compose["volumes"], f"{name} uses undeclared volume {source}"

    build = services["analyzer"]["build"]
    assert (COLLECTOR_DIR / build["context"]).resolve() == ROOT
    assert (ROOT / build["dockerfile"]).is_file()
    assert "analyzer-data:/data" in services["analyzer"]["volumes"]
    assert compose_container_ports(services["analyzer"]) == {4418, 4417}


def test_the_collector_receives_exactly_the_overrides_its_config_reads(
    compose: dict[str, Any],
) -> None:
    passed = compose["services"]["collector"]["environment"]
    assert all("=" not in entry for entry in passed), "defaults live in the config, once"
    config_refs = env_references(load_yaml(COLLECTOR_DIR / "otelcol-config.yaml"))
    assert set(passed) == set(config_refs)
    mount = compose["services"]["collector"]["volumes"][0].split(":")
    assert mount[0] == "./otelcol-config.yaml"
    assert compose["services"]["collector"]["command"] == [f"--config={mount[1]}"]
