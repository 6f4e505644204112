"""Fuzzing the live ingress: no 5xx but the contract's 503, no dead process, no row written.

`FUZZ_EXAMPLES` sets how many requests the hypothesis fuzzer sends (default 300; `make fuzz`
runs 5,000), and `FUZZ_SCHEMATHESIS_EXAMPLES` how many per operation schemathesis generates.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import aiohttp
import psycopg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.services import ROOT
from tests.support.stack import Stack

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "300"))
SCHEMATHESIS_EXAMPLES = os.environ.get("FUZZ_SCHEMATHESIS_EXAMPLES", "60")
ENDPOINTS = ["stripe", "paypal", "adyen", "square", "standard"]
SIGNATURE_HEADERS = [
    "Stripe-Signature",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "x-square-hmacsha256-signature",
    "PAYPAL-TRANSMISSION-ID",
    "PAYPAL-TRANSMISSION-TIME",
    "PAYPAL-TRANSMISSION-SIG",
    "PAYPAL-CERT-URL",
    "PAYPAL-AUTH-ALGO",
]
header_text = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=200)


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, str, dict[str, str], bytes]:
    method = draw(
        st.sampled_from(
            ["POST", "POST", "POST", "GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]
        )
    )
    endpoint = draw(
        st.one_of(
            st.sampled_from(ENDPOINTS),
            st.text(st.characters(min_codepoint=48, max_codepoint=122), max_size=30),
        )
    )
    path = draw(
        st.sampled_from(
            [
                f"/webhooks/{endpoint}",
                "/webhooks/",
                f"/webhooks/{endpoint}/x",
                "/",
                "/healthz",
                "/readyz",
                "/metrics",
                "/openapi.json",
                "/%2e%2e/etc/passwd",
            ]
        )
    )
    headers = draw(
        st.dictionaries(
            st.sampled_from(
                [*SIGNATURE_HEADERS, "Content-Type", "X-Request-Id", "Content-Encoding"]
            ),
            header_text,
            max_size=6,
        )
    )
    body = draw(
        st.one_of(
            st.binary(max_size=2048),
            st.builds(
                lambda v: json.dumps(v).encode(),
                st.recursive(
                    st.none() | st.booleans() | st.floats(allow_nan=False) | st.text(max_size=20),
                    lambda c: (
                        st.lists(c, max_size=4)
                        | st.dictionaries(st.text(max_size=10), c, max_size=4)
                    ),
                    max_leaves=20,
                ),
            ),
            st.just(b'{"id":"evt_1","type":"payment_intent.succeeded","data":{"object":{}}}'),
            st.integers(1024 * 1024 - 10, 1024 * 1024 + 10).map(lambda n: b"a" * n),
        )
    )
    if headers.get("Content-Encoding") == "gzip" and draw(st.booleans()):
        body = gzip.compress(body)
    return method, path, headers, body


def test_arbitrary_requests_never_break_the_ingress(stack: Stack) -> None:
    statuses: list[int] = []

    async def send_all(examples: list[tuple[str, str, dict[str, str], bytes]]) -> None:
        async with aiohttp.ClientSession(auto_decompress=False) as session:
            for method, path, headers, body in examples:
                async with session.request(
                    method,
                    stack.url + path,
                    data=body,
                    headers=headers,
                    skip_auto_headers=["Content-Type"],
                ) as answer:
                    await answer.read()
                    statuses.append(answer.status)

    collected: list[tuple[str, str, dict[str, str], bytes]] = []

    @settings(
        max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    @given(requests())
    def collect(example: tuple[str, str, dict[str, str], bytes]) -> None:
        collected.append(example)

    collect()
    asyncio.run(send_all(collected))

    assert len(statuses) == len(collected) > 0
    assert not [s for s in statuses if s >= 500 and s != 503], sorted(set(statuses))
    assert all(proc.poll() is None for proc in stack.procs.values()), "a service died"
    with psycopg.connect(stack.env["DATABASE_URL"]) as conn:
        assert conn.execute("SELECT count(*) FROM payment_events").fetchone() == (0,)


def test_schemathesis_finds_no_server_error(stack: Stack, tmp_path: Path) -> None:
    spec = json.loads((ROOT / "schemas" / "openapi.json").read_text())
    item = spec["paths"]["/webhooks/{endpoint}"]
    for parameter in [*item.get("parameters", []), *item["post"].get("parameters", [])]:
        if parameter.get("name") == "endpoint":
            parameter["schema"] = {"type": "string", "enum": [*ENDPOINTS, "no-such-endpoint"]}
    path = tmp_path / "openapi.json"
    path.write_text(json.dumps(spec))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "run",
            str(path),
            "--url",
            stack.url,
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,"
            "response_headers_conformance,response_schema_conformance",
            "--max-examples",
            SCHEMATHESIS_EXAMPLES,
            "--seed",
            "20261126",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert all(proc.poll() is None for proc in stack.procs.values())
