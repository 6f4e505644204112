"""Backfill end to end: events dropped on the way are recovered from a Stripe-shaped events API.

Some events reach paypipe over HTTP as webhooks; others are "dropped" (never posted). A local
aiohttp server answers `GET /v1/events` the way Stripe does (newest first, `created[gte]`,
`limit`, `starting_after`, `has_more`). `paypipe backfill` runs as a user would run it; every
event must end in payment_events exactly once, and a second run must publish nothing.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from aiohttp import web

from tests.support.http import post_stripe, stripe_event
from tests.support.services import ROOT
from tests.support.stack import Stack

API_KEY = "sk_test_backfill_e2e_key"


class EventsApi:
    """A Stripe-shaped `GET /v1/events` over a fixed list of events."""

    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.events = sorted(events, key=lambda e: (e["created"], e["id"]), reverse=True)
        self.requests: list[dict[str, str]] = []

    async def list(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {API_KEY}":
            return web.json_response({"error": {"type": "invalid_request_error"}}, status=401)
        query = dict(request.query)
        self.requests.append(query)
        since = int(query.get("created[gte]", "0"))
        limit = int(query.get("limit", "10"))
        matching = [e for e in self.events if e["created"] >= since]
        after = query.get("starting_after")
        if after:
            ids = [e["id"] for e in matching]
            matching = matching[ids.index(after) + 1 :]
        page = matching[:limit]
        return web.json_response(
            {"object": "list", "url": "/v1/events", "has_more": len(matching) > limit, "data": page}
        )


@pytest.fixture
async def events_api() -> AsyncIterator[tuple[EventsApi, str]]:
    now = int(time.time())
    events = [
        json.loads(
            stripe_event(
                f"evt_bf_{n}", kind, f"pi_bf_{(n + 1) // 2}", 1000 * n, created=now - 60 + n
            )
        )
        for n, kind in [
            (1, "payment_intent.created"),
            (2, "payment_intent.succeeded"),
            (3, "payment_intent.created"),
            (4, "payment_intent.succeeded"),
            (5, "payment_intent.created"),
            (6, "payment_intent.succeeded"),
        ]
    ]
    # Older than --since: the API filters it out, so backfill never sees it.
    events.append(
        json.loads(stripe_event("evt_bf_old", created=now - 7200, payment_id="pi_bf_old"))
    )
    api = EventsApi(events)
    app = web.Application()
    app.router.add_get("/v1/events", api.list)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield api, f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def config_with_api(tmp_path: Path, api_base: str) -> Path:
    """The dev config with the Stripe endpoint's API key and a local API base."""
    text = (ROOT / "config" / "dev.toml").read_text(encoding="utf-8")
    marker = "[endpoints.stripe]\n"
    assert marker in text
    extra = f'api_key = "env:STRIPE_API_KEY"\napi_base = "{api_base}"\n'
    path = tmp_path / "backfill.toml"
    path.write_text(text.replace(marker, marker + extra, 1), encoding="utf-8")
    return path


async def backfill(stack: Stack, config: Path, *extra: str) -> tuple[int, str, str]:
    env = {**stack.env, "PAYPIPE_CONFIG": str(config), "STRIPE_API_KEY": API_KEY}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "schemas.cli",
        "backfill",
        "--endpoint",
        "stripe",
        "--since",
        "1h",
        "--page-size",
        "2",
        "--rate",
        "50",
        *extra,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def stored(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT event_id, count(*) FROM payment_events"
            " WHERE event_id LIKE 'stripe:evt_bf_%' GROUP BY event_id"
        ).fetchall()
    return {r[0]: r[1] for r in rows}


async def wait_for(url: str, count: int, within: float = 60.0) -> dict[str, int]:
    deadline = time.monotonic() + within
    found = stored(url)
    while len(found) < count and time.monotonic() < deadline:
        await asyncio.sleep(0.3)
        found = stored(url)
    return found


async def test_dropped_events_are_recovered_exactly_once(
    stack: Stack, events_api: tuple[EventsApi, str], tmp_path: Path
) -> None:
    api, base = events_api
    db = stack.env["DATABASE_URL"]
    delivered = [e for e in api.events if e["id"] in ("evt_bf_1", "evt_bf_3", "evt_bf_5")]
    for n, event in enumerate(delivered, start=1):
        status, answer = post_stripe(stack.url, json.dumps(event).encode())
        assert status == 202, answer
        assert len(await wait_for(db, n)) == n
    assert set(stored(db)) == {"stripe:evt_bf_1", "stripe:evt_bf_3", "stripe:evt_bf_5"}

    config = config_with_api(tmp_path, base)
    code, out, err = await backfill(stack, config, "--dry-run")
    assert code == 0, err
    assert "6 events listed in 3 pages, 3 already stored, would publish 3" in out
    assert len(stored(db)) == 3

    code, out, err = await backfill(stack, config)
    assert code == 0, err
    assert "6 events listed in 3 pages, 3 already stored, published 3" in out
    found = await wait_for(db, 6)
    assert found == {f"stripe:evt_bf_{n}": 1 for n in range(1, 7)}
    with psycopg.connect(db) as conn:
        states = conn.execute(
            "SELECT payment_id, status, amount FROM payments WHERE payment_id LIKE 'pi_bf_%'"
            " ORDER BY payment_id"
        ).fetchall()
    assert states == [
        ("pi_bf_1", "succeeded", 2000),
        ("pi_bf_2", "succeeded", 4000),
        ("pi_bf_3", "succeeded", 6000),
    ]

    # Paginated, with the filter and the cursor Stripe's API takes.
    assert [r.get("starting_after") for r in api.requests[-3:]] == [None, "evt_bf_5", "evt_bf_3"]
    assert all(r["limit"] == "2" for r in api.requests)

    code, out, err = await backfill(stack, config)
    assert code == 0, err
    assert "6 already stored, published 0" in out
    assert stored(db) == found


async def test_a_refused_api_key_fails_without_showing_it(
    stack: Stack, events_api: tuple[EventsApi, str], tmp_path: Path
) -> None:
    _, base = events_api
    config = config_with_api(tmp_path, base)
    env = {**stack.env, "PAYPIPE_CONFIG": str(config), "STRIPE_API_KEY": "sk_test_wrong_key"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "schemas.cli",
        "backfill",
        "--endpoint",
        "stripe",
        "--since",
        "1h",
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert proc.returncode == 1
    assert b"refused the endpoint's API key" in err
    assert b"sk_test_wrong_key" not in out + err
