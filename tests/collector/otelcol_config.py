"""Reading OpenTelemetry Collector configs the way the collector does, and checking their wiring.

Pure functions over the parsed YAML, shared by the collector tests. The collector itself is
not needed: these checks cover what ``otelcol-contrib validate`` would reject structurally
(a pipeline naming an undefined component, an unused one, a connector with only one side)
plus the house rules for this deployment (``memory_limiter`` first, receivers on 0.0.0.0).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

COMPONENT_KINDS = ("receivers", "processors", "exporters", "connectors", "extensions")

# ${env:NAME} or ${env:NAME:-default}, as the collector's confmap env provider reads them.
ENV_REF = re.compile(r"\$\{env:(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}")


class UnresolvedEnvError(ValueError):
    """A ``${env:NAME}`` with no default and no value in the environment."""


def load_yaml(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a YAML mapping at the top level")
    return data


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, Mapping):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


def env_references(config: Any) -> dict[str, str | None]:
    """Every ``${env:NAME[:-default]}`` in the config: name → default (None when it has none)."""
    refs: dict[str, str | None] = {}
    for text in _strings(config):
        for match in ENV_REF.finditer(text):
            refs[match.group("name")] = match.group("default")
    return refs


def _expand_string(text: str, env: Mapping[str, str]) -> Any:
    def value_of(match: re.Match[str]) -> str:
        name, default = match.group("name"), match.group("default")
        if name in env:
            return env[name]
        if default is None:
            raise UnresolvedEnvError(f"${{env:{name}}} has no default and {name} is not set")
        return default

    whole = ENV_REF.fullmatch(text)
    if whole is not None:
        # A value that is only a reference takes the type its text has in YAML (int, bool, ...).
        return yaml.safe_load(value_of(whole))
    return ENV_REF.sub(value_of, text)


def expand_env(config: Any, env: Mapping[str, str]) -> Any:
    """The config with every env reference resolved against ``env`` (defaults otherwise)."""
    if isinstance(config, str):
        return _expand_string(config, env)
    if isinstance(config, Mapping):
        return {key: expand_env(value, env) for key, value in config.items()}
    if isinstance(config, list):
        return [expand_env(value, env) for value in config]
    return config


def component_type(component_id: str) -> str:
    """``otlp_http/analyzer`` → ``otlp_http``."""
    return component_id.split("/", 1)[0]


def pipeline_signal(pipeline_id: str) -> str:
    """``traces/jaeger`` → ``traces``."""
    return pipeline_id.split("/", 1)[0]


def defined(config: Mapping[str, Any], kind: str) -> set[str]:
    section = config.get(kind) or {}
    return set(section)


def pipelines(config: Mapping[str, Any]) -> dict[str, dict[str, list[str]]]:
    service = config.get("service") or {}
    return {
        name: {
            role: list(spec.get(role) or []) for role in ("receivers", "processors", "exporters")
        }
        for name, spec in (service.get("pipelines") or {}).items()
    }


def endpoint_host_port(endpoint: str) -> tuple[str, int]:
    """``0.0.0.0:4317``, ``jaeger:4317`` or ``http://analyzer:4418`` → (host, port)."""
    parts = urlsplit(endpoint if "://" in endpoint else f"//{endpoint}")
    if parts.hostname is None or parts.port is None:
        raise ValueError(f"endpoint {endpoint!r} has no host:port")
    return parts.hostname, parts.port


def structural_problems(config: Mapping[str, Any]) -> list[str]:
    """What is wrong with the wiring of a collector config; empty when nothing is."""
    problems: list[str] = []
    pipes = pipelines(config)
    if not pipes:
        problems.append("service.pipelines is empty")
    connectors = defined(config, "connectors")
    used: dict[str, set[str]] = {kind: set() for kind in COMPONENT_KINDS}
    connector_as_exporter: set[str] = set()
    connector_as_receiver: set[str] = set()

    for name, spec in pipes.items():
        for role in ("receivers", "exporters"):
            if not spec[role]:
                problems.append(f"pipeline {name} has no {role}")
        for role in ("receivers", "processors", "exporters"):
            for component in spec[role]:
                if role != "processors" and component in connectors:
                    used["connectors"].add(component)
                    side = connector_as_receiver if role == "receivers" else connector_as_exporter
                    side.add(component)
                    continue
                if component not in defined(config, role):
                    problems.append(f"pipeline {name} names {role[:-1]} {component}, not defined")
                used[role].add(component)
        processors = spec["processors"]
        if not processors or component_type(processors[0]) != "memory_limiter":
            problems.append(f"pipeline {name}: memory_limiter must be the first processor")

    service_extensions = list((config.get("service") or {}).get("extensions") or [])
    for extension in service_extensions:
        if extension not in defined(config, "extensions"):
            problems.append(f"service names extension {extension}, not defined")
        used["extensions"].add(extension)

    for kind in COMPONENT_KINDS:
        for component in sorted(defined(config, kind) - used[kind]):
            problems.append(f"{kind[:-1]} {component} is defined but never used")
    for connector in sorted(connector_as_exporter ^ connector_as_receiver):
        problems.append(
            f"connector {connector} must be an exporter in one pipeline and a receiver in another"
        )
    return problems


def receiver_bind_problems(config: Mapping[str, Any]) -> list[str]:
    """Receivers (and their protocols) that do not bind 0.0.0.0 explicitly."""
    problems: list[str] = []
    for name, receiver in (config.get("receivers") or {}).items():
        receiver = receiver or {}
        protocols = receiver.get("protocols")
        targets = protocols.items() if isinstance(protocols, Mapping) else [(None, receiver)]
        for protocol, settings in targets:
            label = f"{name}.{protocol}" if protocol else name
            endpoint = (settings or {}).get("endpoint")
            if not endpoint:
                problems.append(
                    f"receiver {label} has no explicit endpoint (defaults to localhost)"
                )
                continue
            host, _ = endpoint_host_port(str(endpoint))
            if host != "0.0.0.0":
                problems.append(f"receiver {label} binds {host}, not 0.0.0.0")
    return problems


def compose_container_ports(service: Mapping[str, Any]) -> set[int]:
    """Container-side ports a compose service publishes (short syntax ``"host:container"``)."""
    ports: set[int] = set()
    for entry in service.get("ports") or []:
        if isinstance(entry, Mapping):
            ports.add(int(entry["target"]))
        else:
            ports.add(int(str(entry).rsplit(":", 1)[-1].split("/", 1)[0]))
    return ports
