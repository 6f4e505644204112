"""`python -m processors`: build settings once, configure logging, run the Faust worker."""

from __future__ import annotations

from processors.app import create_app
from processors.settings import ProcessorSettings
from schemas.logs import configure_logging
from schemas.workers import run_worker


def main() -> None:
    settings = ProcessorSettings.load()
    configure_logging("processor", settings.common.log_level, json_lines=settings.common.is_prod)
    run_worker(create_app(settings), settings.common, settings.metrics_host, settings.metrics_port)


if __name__ == "__main__":
    main()
