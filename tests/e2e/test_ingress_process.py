"""What only the real ingress process shows: its HTTP parser limits and its quiet access log."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import pytest

from schemas.topics import Topics
from tests.support.stack import Stack


def get(url: str, headers: dict[str, str]) -> int:
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, headers=headers), timeout=5
        ) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


@pytest.fixture
def small_headers(kafka_bootstrap: str, database_url: str, topics: Topics, tmp_path: Path):  # type: ignore[no-untyped-def]
    config = tmp_path / "small.toml"
    config.write_text(
        Path("config/dev.toml")
        .read_text()
        .replace("max_header_bytes = 8190", "max_header_bytes = 4096")
    )
    stack = Stack(kafka_bootstrap, database_url, topics.prefix, tmp_path)
    stack.env["PAYPIPE_CONFIG"] = str(config)
    try:
        stack.start("ingress")
        yield stack
    finally:
        stack.stop_all()


def test_the_configured_header_limit_reaches_the_parser(small_headers: Stack) -> None:
    assert get(f"{small_headers.url}/healthz", {"X-Big": "a" * 4000}) == 200
    assert get(f"{small_headers.url}/healthz", {"X-Big": "a" * 5000}) == 400


def test_requests_write_no_access_log_lines(small_headers: Stack) -> None:
    for _ in range(5):
        get(f"{small_headers.url}/healthz", {})
    assert "aiohttp.access" not in small_headers.log("ingress").read_text()
