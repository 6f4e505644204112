"""`python -m ingress`: build settings once, configure logging, serve."""

from __future__ import annotations

import logging

from aiohttp import web

from ingress.app import create_app, server_options
from ingress.settings import IngressSettings
from schemas.logs import configure_logging

logger = logging.getLogger(__name__)


def main() -> None:
    settings = IngressSettings.load()
    configure_logging("ingress", settings.common.log_level, json_lines=settings.common.is_prod)
    logger.info("Ingress listening on http://%s:%d", settings.host, settings.port)
    web.run_app(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        print=None,
        access_log=None,  # one line per request is log volume nobody reads; metrics count them
        shutdown_timeout=10,
        # Straight to the connection handlers: this aiohttp's run_app has no handler_args.
        **server_options(settings),
    )


if __name__ == "__main__":
    main()
