"""The ingress application factory."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from importlib import resources
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ingress.publisher import Publisher
from ingress.settings import IngressSettings
from ingress.webhooks import WebhookHandler

PUBLISHER = web.AppKey("publisher", Publisher)


def create_app(settings: IngressSettings) -> web.Application:
    # aiohttp's own limit is a backstop; the handler answers 413 with our JSON body first.
    app = web.Application(client_max_size=settings.max_body_bytes + 1)
    publisher = Publisher(
        settings.common.kafka_bootstrap_servers,
        max_in_flight=settings.max_in_flight,
        send_timeout=settings.send_timeout_seconds,
        linger_ms=settings.linger_ms,
    )
    app[PUBLISHER] = publisher

    async def kafka(_: web.Application) -> AsyncIterator[None]:
        await publisher.start()
        yield
        await publisher.stop()

    app.cleanup_ctx.append(kafka)
    app.router.add_post("/webhooks/{endpoint}", WebhookHandler(settings, publisher))
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/openapi.json", openapi)
    return app


def server_options(settings: IngressSettings) -> dict[str, Any]:
    """HTTP parser limits: oversized request lines and headers are refused (400)."""
    return {
        "max_line_size": settings.max_header_bytes,
        "max_field_size": settings.max_header_bytes,
        "keepalive_timeout": 30,
    }


async def healthz(_: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    ready = request.app[PUBLISHER].ready
    return web.json_response(
        {"ready": ready, "kafka": "connected" if ready else "unavailable"},
        status=200 if ready else 503,
    )


async def metrics(_: web.Request) -> web.Response:
    response = web.Response(body=generate_latest())
    response.content_type = CONTENT_TYPE_LATEST.split(";")[0]
    return response


async def openapi(_: web.Request) -> web.Response:
    document = resources.files("schemas").joinpath("openapi.json").read_text(encoding="utf-8")
    return web.json_response(json.loads(document))
