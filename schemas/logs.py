"""One `configure_logging()` per entry point: readable lines in dev, JSON lines in production."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

# Fields a log call may attach with `extra=` so one event can be followed across services.
TRACE_FIELDS = ("request_id", "event_id", "endpoint", "provider", "source")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for name in TRACE_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


class DevFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        trace = " ".join(
            f"{name}={getattr(record, name)}"
            for name in TRACE_FIELDS
            if getattr(record, name, None) is not None
        )
        return f"{text} {trace}" if trace else text


def configure_logging(service: str, level: str = "INFO", json_lines: bool = False) -> None:
    """Send every log line of this process to stderr in the mode's format."""
    handler = logging.StreamHandler(sys.stderr)
    if json_lines:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            DevFormatter(f"%(asctime)s %(levelname)s {service} %(name)s: %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # aiokafka is chatty at INFO about every connection; its warnings still show.
    logging.getLogger("aiokafka").setLevel(max(logging.WARNING, root.level))
