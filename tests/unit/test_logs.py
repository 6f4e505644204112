"""Log lines: JSON in production with the trace fields, readable in dev; secrets stay masked."""

from __future__ import annotations

import json
import logging

import pytest

from schemas.config import Secret
from schemas.logs import configure_logging


@pytest.fixture(autouse=True)
def _restore_logging() -> object:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield None
    root.handlers[:] = handlers
    root.setLevel(level)


def test_production_lines_are_json_with_the_trace_fields(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("sink", "INFO", json_lines=True)
    logging.getLogger("sinks.app").info(
        "Persisted %s", "one", extra={"request_id": "req-1", "event_id": "stripe:evt_1"}
    )
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["msg"] == "Persisted one"
    assert (line["level"], line["logger"]) == ("info", "sinks.app")
    assert (line["request_id"], line["event_id"]) == ("req-1", "stripe:evt_1")
    assert line["ts"].endswith("+00:00")


def test_dev_lines_are_readable_and_carry_the_trace_fields(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("ingress", "INFO", json_lines=False)
    logging.getLogger("ingress.webhooks").info("Accepted", extra={"request_id": "req-2"})
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert " INFO ingress ingress.webhooks: Accepted request_id=req-2" in line


def test_a_secret_logged_by_mistake_prints_masked(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("processor", "INFO", json_lines=True)
    logging.getLogger("processors").info("endpoint secret %s", Secret("whsec_do_not_print"))
    assert "whsec_do_not_print" not in capsys.readouterr().err
