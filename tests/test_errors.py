"""One error tree: every public exception class of the package descends from McpAgentOtelError."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import mcp_agent_otel
from mcp_agent_otel import errors


def _public_exceptions() -> dict[str, type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(mcp_agent_otel.__path__, "mcp_agent_otel."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == info.name
                and not name.startswith("_")
            ):
                found[f"{info.name}.{name}"] = value
    return found


def test_every_public_error_is_in_the_tree() -> None:
    found = _public_exceptions()
    assert len(found) > 20  # the walk did reach the subpackages
    outside = sorted(
        name for name, cls in found.items() if not issubclass(cls, errors.McpAgentOtelError)
    )
    assert outside == []


@pytest.mark.parametrize(
    ("branch", "builtin"),
    [
        (errors.ConfigError, ValueError),
        (errors.InputError, ValueError),
        (errors.StoreError, RuntimeError),
        (errors.NetworkError, ConnectionError),
    ],
)
def test_each_branch_is_also_the_builtin_it_replaces(
    branch: type[Exception], builtin: type[Exception]
) -> None:
    assert issubclass(branch, errors.McpAgentOtelError)
    assert issubclass(branch, builtin)


def test_the_tree_and_the_errors_of_exported_functions_are_exported() -> None:
    for name in ("McpAgentOtelError", "ConfigError", "InputError", "StoreError", "NetworkError"):
        assert getattr(mcp_agent_otel, name) is getattr(errors, name)
    assert issubclass(mcp_agent_otel.TracingConfigError, mcp_agent_otel.ConfigError)
    with pytest.raises(mcp_agent_otel.ConfigError, match="OTEL_EXPORTER_OTLP_PROTOCOL"):
        mcp_agent_otel.configure_tracing(
            env={
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9",
                "OTEL_EXPORTER_OTLP_PROTOCOL": "carrier-pigeon",
            },
            set_global=False,
        )
