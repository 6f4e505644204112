"""`python -m sinks`: build settings once, configure logging, run the Faust worker."""

from __future__ import annotations

import logging

import faust
from prometheus_client import start_http_server

from schemas.logs import configure_logging
from sinks.app import create_app
from sinks.settings import SinkSettings

logger = logging.getLogger(__name__)


def main() -> None:
    settings = SinkSettings.load()
    configure_logging("sink", settings.common.log_level, json_lines=settings.common.is_prod)
    start_http_server(settings.metrics_port, addr=settings.metrics_host)
    logger.info(
        "Sink metrics on http://%s:%d/metrics", settings.metrics_host, settings.metrics_port
    )
    app = create_app(settings)
    worker = faust.Worker(
        app,
        loglevel=settings.common.log_level.lower(),
        quiet=True,
        redirect_stdouts=False,
        override_logging=False,
    )
    worker.execute_from_commandline()


if __name__ == "__main__":
    main()
