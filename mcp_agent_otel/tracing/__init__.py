"""Tracing: SDK setup from OTEL_* settings, names, stage helpers, exporters."""
