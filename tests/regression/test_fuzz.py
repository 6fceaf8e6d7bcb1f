"""Fuzzing: the OTLP/HTTP receiver with hypothesis (random bytes, mutated valid protobufs,
random JSON, OTLP-shaped JSON with random values) and the API with schemathesis against its
own OpenAPI schema. Never a 5xx; the server keeps answering; stored data stays intact.

Both run in-process against the ASGI app (the same app `analyzer serve` runs) to keep the
example counts useful within a CI time budget.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import positive_data_acceptance
from starlette.testclient import TestClient

from mcp_agent_otel.regression.api import create_app
from mcp_agent_otel.regression.baselines import Selector
from mcp_agent_otel.regression.config import AnalyzerConfig
from mcp_agent_otel.regression.runtime import RegressionAnalyzer

from .otlp_builders import lognormal_ms, request, to_otlp_json

FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
PB = {"content-type": "application/x-protobuf"}
JS = {"content-type": "application/json"}
VALID = request(lognormal_ms(50, 5.0, 0.5, 1), names=["a", "b"]).SerializeToString()


@pytest.fixture(scope="module")
def fuzzed(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[RegressionAnalyzer, TestClient]]:
    path = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    analyzer = RegressionAnalyzer(
        AnalyzerConfig(db_path=path, max_body_bytes=256 * 1024, max_operations=50),
        background=False,
        sinks=[],
    )
    with TestClient(
        create_app(analyzer), base_url="http://127.0.0.1", raise_server_exceptions=False
    ) as client:
        assert client.post("/v1/traces", content=VALID, headers=PB).status_code == 200
        yield analyzer, client
        assert client.get("/health").status_code == 200
        ops = {
            o["name"]: o["count"]
            for o in client.get("/api/operations", params={"since": "0"}).json()
        }
        assert ops["a"] >= 25  # the first, valid request is still there
    analyzer.close()


def _post(client: TestClient, body: bytes, headers: dict[str, str]) -> int:
    status = client.post("/v1/traces", content=body, headers=headers).status_code
    assert status < 500, f"{status} for {body[:80]!r}"
    assert status in (200, 400, 413, 415)
    return status


@FUZZ
@given(body=st.binary(max_size=4096))
def test_random_bytes_never_break_the_receiver(fuzzed, body: bytes) -> None:  # type: ignore[no-untyped-def]
    _, client = fuzzed
    _post(client, body, PB)
    _post(client, body, JS)


@FUZZ
@given(
    edits=st.lists(
        st.tuples(
            st.sampled_from(["flip", "cut", "insert"]),
            st.integers(0, len(VALID) - 1),
            st.binary(min_size=1, max_size=8),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_mutated_protobufs_never_break_the_receiver(
    fuzzed, edits: list[tuple[str, int, bytes]]
) -> None:  # type: ignore[no-untyped-def]
    _, client = fuzzed
    body = bytearray(VALID)
    for kind, at, data in edits:
        at = min(at, len(body) - 1) if body else 0
        if kind == "flip" and body:
            body[at] ^= data[0] or 0xFF
        elif kind == "cut":
            del body[at : at + len(data) * 16]
        else:
            body[at:at] = data
    _post(client, bytes(body), PB)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=30,
)


@FUZZ
@given(value=JSON_VALUES)
def test_random_json_never_breaks_the_receiver(fuzzed, value: Any) -> None:  # type: ignore[no-untyped-def]
    _, client = fuzzed
    _post(client, json.dumps(value).encode(), JS)


SCALARS = (
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.text(max_size=40) | st.floats()
)


@FUZZ
@given(
    span_patch=st.dictionaries(
        st.sampled_from(
            [
                "traceId",
                "spanId",
                "name",
                "kind",
                "startTimeUnixNano",
                "endTimeUnixNano",
                "status",
                "attributes",
                "links",
            ]
        ),
        SCALARS
        | st.lists(SCALARS, max_size=3)
        | st.dictionaries(st.sampled_from(["code", "key", "value"]), SCALARS, max_size=2),
        max_size=4,
    ),
    resource_patch=st.dictionaries(
        st.sampled_from(["attributes", "droppedAttributesCount"]), SCALARS, max_size=2
    ),
)
def test_otlp_shaped_json_with_random_values(
    fuzzed, span_patch: dict[str, Any], resource_patch: dict[str, Any]
) -> None:  # type: ignore[no-untyped-def]
    _, client = fuzzed
    data = to_otlp_json(request([1.0, 2.0], names="shaped"))
    data["resourceSpans"][0]["resource"].update(resource_patch)
    data["resourceSpans"][0]["scopeSpans"][0]["spans"][0].update(span_patch)
    body = json.dumps(data, allow_nan=True).encode()
    status = _post(client, body, JS)
    if status == 200:
        reply = client.post("/v1/traces", content=body, headers=JS).json()
        rejected = int(reply.get("partialSuccess", {}).get("rejectedSpans", 0))
        assert 0 <= rejected <= 2


# --- the API against its own OpenAPI schema ----------------------------------------------------


def test_api_conforms_to_its_schema(tmp_path: Path) -> None:
    """Every documented operation, fuzzed from the schema (with a token configured, so that
    requests without it or with a wrong one must be refused): no 5xx, documented status codes
    and content types, bodies that match the response schemas. (Valid-looking requests may still
    be refused with a documented 4xx, e.g. a baseline for a version that has no spans.)

    schemathesis' pytest loader (``from_fixture``) does not run under pytest 9, so the
    operations are driven through its Python API with hypothesis directly."""
    token = "fuzz-token"
    config = AnalyzerConfig(
        db_path=tmp_path / "api.db",
        token=token,
        allowed_hosts=("127.0.0.1", "testserver"),  # the Host schemathesis' ASGI client sends
    )
    analyzer = RegressionAnalyzer(config, background=False, sinks=[])
    try:
        analyzer.ingestor.ingest(request(lognormal_ms(200, 5.0, 0.5, 1), names="op", version="1"))
        analyzer.create_baseline("base", Selector(version="1"))
        schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(analyzer))
        tested = []
        for result in schema.get_all_operations():
            operation = result.ok()
            tested.append(f"{operation.method.upper()} {operation.path}")

            @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy())
            def check(case: Any) -> None:
                case.call_and_validate(
                    headers={"Authorization": f"Bearer {token}"},
                    excluded_checks=[positive_data_acceptance],
                )

            check()
        assert len(tested) >= 12
        assert analyzer.get_baseline("base").spans == 200  # fuzzing did not damage it
    finally:
        analyzer.close()
