"""The ingress baseline: a bare aiohttp handler that reads the body and answers 202, no Kafka.

`python -m tests.bench.bare_ingress PORT`
"""

from __future__ import annotations

import sys
import uuid

from aiohttp import web


async def accept(request: web.Request) -> web.Response:
    await request.read()
    request_id = request.headers.get("X-Request-Id") or uuid.uuid4().hex
    return web.json_response({"status": "accepted", "request_id": request_id}, status=202)


def main() -> None:
    app = web.Application()
    app.router.add_post("/webhooks/{endpoint}", accept)
    app.router.add_get("/readyz", lambda _: web.Response(text="ok"))  # type: ignore[arg-type,return-value]
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)


if __name__ == "__main__":
    main()
