"""``mcp-agent-otel dashboard``: the analyzer on the embedded store, and a browser on its page.

Parsing and printing only: the server is the analyzer's own (``service.AnalyzerServer``), so
the page also receives OTLP while it is open (``POST /v1/traces`` on the same port, gRPC on
the port it prints). Runs until Ctrl-C or SIGTERM, then writes what is pending and exits 0.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import webbrowser
from types import FrameType

import click

from mcp_agent_otel.cli.console import fail
from mcp_agent_otel.cli.options import db_option
from mcp_agent_otel.regression.config import DEFAULT_HTTP_PORT, AnalyzerConfigError, config_from_env

HOST = "127.0.0.1"


def open_browser(url: str) -> bool:
    """Open ``url`` in the user's browser; False when there is none (never raises)."""
    try:
        return bool(webbrowser.open(url, new=2))
    except Exception:  # a broken BROWSER setting must not stop the server
        return False


@click.command("dashboard", context_settings={"help_option_names": ["-h", "--help"]})
@db_option
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_HTTP_PORT,
    show_default=True,
    help="HTTP port on 127.0.0.1 for the page, the API and OTLP/HTTP (0: any free port)",
)
@click.option("--no-browser", is_flag=True, help="only print the URL")
def dashboard_command(db: str | None, port: int, no_browser: bool) -> None:
    """Open the latency dashboard on the analyzer's store."""
    from mcp_agent_otel.regression.ingest import UnstoredSpansError
    from mcp_agent_otel.regression.runtime import RegressionAnalyzer
    from mcp_agent_otel.regression.service import AnalyzerServer
    from mcp_agent_otel.regression.store import StoreError, StoreInUseError

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        config = config_from_env(db_path=db)
        try:
            analyzer = RegressionAnalyzer(config)
        except StoreInUseError:
            # `analyzer serve` receives into this database: show it, and take spans sent
            # here without this process's own spool (acknowledged before they are durable).
            click.echo(
                "note: another analyzer process receives spans into this database; spans "
                "sent to this dashboard's port are acknowledged before they are on disk",
                err=True,
            )
            analyzer = RegressionAnalyzer(config.with_changes(durable=False))
    except (AnalyzerConfigError, StoreError) as exc:
        fail(str(exc))
    server = AnalyzerServer(analyzer, host=HOST, http_port=port, grpc_port=0)
    try:
        endpoints = server.start()
    except OSError as exc:
        analyzer.close()
        fail(
            f"cannot listen on {HOST}:{port}: {exc.strerror or exc}. Is the analyzer already "
            f"running there? Then open http://{HOST}:{port}/ directly; otherwise choose another "
            "port with --port (0: any free port)"
        )
    except RuntimeError as exc:
        analyzer.close()
        fail(str(exc))
    # SIGTERM means "stop cleanly" from here on: before the URL is printed, so a caller that
    # reads it (or a browser that opens it) and stops us at once never kills us half-way.
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        url = f"{endpoints.http_url}/"
        click.echo(f"dashboard: {url}")
        click.echo(
            f"  receiving OTLP/HTTP at {endpoints.http_url}/v1/traces and OTLP/gRPC at "
            f"{endpoints.grpc_target}; database {config.db_path}"
        )
        click.echo("  press Ctrl-C to stop")
        sys.stdout.flush()
        if not no_browser and not open_browser(url):
            click.echo(f"  no browser could be opened: open {url} yourself")
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.stop()
        try:
            analyzer.close()
        except UnstoredSpansError as exc:
            fail(str(exc), 1)
    click.echo("dashboard stopped")
