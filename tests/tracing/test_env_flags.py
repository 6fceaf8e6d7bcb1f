"""One spelling of on/off for every setting that is a flag."""

from __future__ import annotations

import pytest

from mcp_agent_otel.env_flags import env_flag
from mcp_agent_otel.tracing import semconv, spans
from mcp_agent_otel.tracing.setup import configure_tracing


@pytest.mark.parametrize("word", ["1", "true", "TRUE", "yes", "on", " On "])
def test_yes_words_turn_a_flag_on(word: str) -> None:
    assert env_flag(word) is True


@pytest.mark.parametrize("word", [None, "", "0", "false", "no", "off", "enabled", "2"])
def test_anything_else_leaves_it_off(word: str | None) -> None:
    assert env_flag(word) is False


@pytest.mark.parametrize("word", ["on", "yes", "1"])
def test_content_capture_and_sdk_disabled_read_the_same_words(
    word: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(semconv.ENV_CAPTURE_CONTENT, word)
    assert spans.content_attributes("find x")[semconv.TASK_TEXT] == "find x"
    handle = configure_tracing(env={"OTEL_SDK_DISABLED": word}, set_global=False)
    assert handle.provider is None
