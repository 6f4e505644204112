"""The certificate fetch never follows a redirect: the URL policy vetted one URL, not its target."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from schemas.providers.paypal_certs import _NoRedirect


@pytest.fixture
def redirecting_server() -> Iterator[tuple[str, list[str]]]:
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            if self.path == "/cert":
                self.send_response(302)
                self.send_header("Location", "/internal-metadata")
                self.end_headers()
            else:
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"secret internal data")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()


def test_a_redirect_is_refused_and_its_target_never_requested(
    redirecting_server: tuple[str, list[str]],
) -> None:
    base, seen = redirecting_server
    opener = urllib.request.build_opener(_NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as refused:
        opener.open(f"{base}/cert", timeout=5)
    assert refused.value.code == 302
    assert seen == ["/cert"]


def test_without_the_guard_urllib_would_follow(redirecting_server: tuple[str, list[str]]) -> None:
    base, seen = redirecting_server  # the control: proves the server really redirects
    with urllib.request.build_opener().open(f"{base}/cert", timeout=5) as answer:
        assert answer.read() == b"secret internal data"
    assert seen == ["/cert", "/internal-metadata"]
