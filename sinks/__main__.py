"""`python -m sinks`: build settings once, configure logging, run the Faust worker."""

from __future__ import annotations

from schemas.logs import configure_logging
from schemas.workers import run_worker
from sinks.app import create_app
from sinks.settings import SinkSettings


def main() -> None:
    settings = SinkSettings.load()
    configure_logging("sink", settings.common.log_level, json_lines=settings.common.is_prod)
    run_worker(create_app(settings), settings.common, settings.metrics_host, settings.metrics_port)


if __name__ == "__main__":
    main()
