"""Install and remove stage wrappers on dotted targets (the I/O shell around ``stage_wrapper``).

A target's module is wrapped when it is imported: right away if it already is, otherwise by a
``wrapt`` post-import hook, so naming a module in ``MCP_AGENT_OTEL_INSTRUMENT`` never imports
it early (and a module that only becomes importable once the application has set up
``sys.path`` is still found). A target that cannot be wrapped gets one warning naming it,
saying why and what to do, and is skipped; the application always keeps running. A target
whose module was never imported is reported by ``pending()`` and, once, when the process
exits.

``restore()`` puts back exactly the object that was there (identity), or removes the
attribute again where the wrapper was placed on a subclass that only inherited it. A wrapper
that something else has wrapped again meanwhile cannot be removed without removing that too:
it is left in place but switched off, so it only passes calls through.
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import wrapt
from opentelemetry.trace import Tracer

from mcp_agent_otel.instrumentation.stage_wrapper import (
    RequestHook,
    ResponseHook,
    StageFunctionWrapper,
    qualified_name,
    unwrappable_reason,
    wrap_stage,
)
from mcp_agent_otel.instrumentation.target_spec import StageTarget

_log = logging.getLogger("mcp_agent_otel.instrumentation")

_MISSING = object()

WRAPPED = "wrapped"
PENDING = "pending: module not imported yet"


@dataclass
class _Patch:
    parent: Any
    attribute: str
    original: Any
    created: bool  # the attribute was inherited, not in vars(parent), before wrapping
    wrapper: StageFunctionWrapper


def _own_value(parent: Any, attribute: str) -> Any:
    try:
        return vars(parent).get(attribute, _MISSING)
    except TypeError:  # no __dict__ (slots): compare what lookup returns
        return getattr(parent, attribute, None)


class TargetPatcher:
    """Wraps a set of targets as their modules are imported, and unwraps them all again."""

    def __init__(
        self,
        request_hook: RequestHook | None = None,
        response_hook: ResponseHook | None = None,
        tracer: Tracer | None = None,
    ) -> None:
        self._tracer = tracer
        self._request_hook = request_hook
        self._response_hook = response_hook
        self._lock = threading.RLock()
        self._active = False
        self._status: dict[StageTarget, str] = {}
        self._patches: dict[StageTarget, _Patch] = {}
        self._reported_pending = False

    # -- install -------------------------------------------------------------------------------

    def apply(self, targets: Iterable[StageTarget]) -> None:
        with self._lock:
            self._active = True
            by_module: dict[str, list[StageTarget]] = {}
            for target in targets:
                if target in self._status:
                    continue
                self._status[target] = PENDING
                by_module.setdefault(target.module, []).append(target)
        atexit.register(self.report_pending)
        for module_name, module_targets in by_module.items():
            try:
                wrapt.register_post_import_hook(self._hook_for(module_targets), module_name)
            except Exception as exc:  # the module raised while being imported
                for target in module_targets:
                    self._skip(target, f"importing module {module_name!r} failed: {exc!r}")

    def _hook_for(self, targets: list[StageTarget]) -> Any:
        def on_import(module: ModuleType) -> None:
            # Runs inside the application's import statement: must never raise.
            for target in targets:
                try:
                    self._wrap(module, target)
                except Exception as exc:
                    self._skip(target, f"wrapping failed: {exc!r}")

        return on_import

    def _wrap(self, module: ModuleType, target: StageTarget) -> None:
        with self._lock:
            if not self._active or self._status.get(target) != PENDING:
                return  # uninstrumented meanwhile, or already handled
            try:
                parent, attribute, original = wrapt.resolve_path(module, target.qualname)
            except Exception:
                self._skip(
                    target,
                    f"module {target.module!r} has no attribute path {target.qualname!r}; "
                    "check the spelling (module:Class.method)",
                )
                return
            try:
                created = attribute not in vars(parent)
            except TypeError:
                created = False
            inherited = next((p for p in self._patches.values() if p.wrapper is original), None)
            if created and inherited is not None:
                # Inherited from a class this patcher wrapped too: wrap the plain function, so
                # the subclass's stage does not depend on the order the targets were listed in.
                original = inherited.original
            reason = unwrappable_reason(original)
            if reason is not None:
                self._skip(target, f"{target.qualname!r} {reason}")
                return
            wrapper = wrap_stage(
                original,
                target.stage,
                function_name=qualified_name(original, f"{target.module}.{target.qualname}"),
                request_hook=self._request_hook,
                response_hook=self._response_hook,
                tracer=self._tracer,
            )
            setattr(parent, attribute, wrapper)
            self._patches[target] = _Patch(parent, attribute, original, created, wrapper)
            self._status[target] = WRAPPED
            _log.debug("mcp-agent-otel: traced %s as stage %r", target.spec, target.stage)

    def _skip(self, target: StageTarget, reason: str) -> None:
        with self._lock:
            self._status[target] = f"skipped: {reason}"
        _log.warning(
            "mcp-agent-otel: instrumentation target %r skipped: %s. The application runs on "
            "without this stage span.",
            str(target),
            reason,
        )

    # -- report --------------------------------------------------------------------------------

    def status(self) -> dict[str, str]:
        """``{"module:Qual.name=stage": "wrapped" | "pending: ..." | "skipped: why"}``."""
        with self._lock:
            return {str(t): s for t, s in self._status.items()}

    def pending(self) -> list[StageTarget]:
        with self._lock:
            return [t for t, s in self._status.items() if s == PENDING]

    def report_pending(self) -> None:
        """One warning per target whose module was never imported (called at exit)."""
        with self._lock:
            if not self._active or self._reported_pending:
                return
            self._reported_pending = True
            waiting = self.pending()
        for target in waiting:
            _log.warning(
                "mcp-agent-otel: instrumentation target %r was never traced: module %r was "
                "never imported by this process. Check the module name and that it is "
                "importable (on sys.path) where the application runs.",
                str(target),
                target.module,
            )

    # -- remove --------------------------------------------------------------------------------

    def restore(self) -> None:
        """Put every original back (by identity); switch off wrappers that cannot be removed."""
        with self._lock:
            self._active = False
            patches, self._patches = self._patches, {}
            self._status.clear()
        atexit.unregister(self.report_pending)  # nothing pending to report, nor to keep alive
        for target, patch in patches.items():
            patch.wrapper.stage_state.active = False
            try:
                if _own_value(patch.parent, patch.attribute) is not patch.wrapper:
                    _log.debug(
                        "mcp-agent-otel: %s was replaced after it was traced; its wrapper is "
                        "left in place, switched off",
                        target.spec,
                    )
                elif patch.created:
                    delattr(patch.parent, patch.attribute)
                else:
                    setattr(patch.parent, patch.attribute, patch.original)
            except Exception as exc:
                _log.warning(
                    "mcp-agent-otel: could not restore %s (%r); its wrapper is switched off",
                    target.spec,
                    exc,
                )
