"""What the two Faust services share: the App options every worker needs, and how one runs.

The processor and the sink may not import each other, so their common ground lives here.
"""

from __future__ import annotations

import logging
from typing import Any

import faust
from prometheus_client import start_http_server

from schemas.config import Common

logger = logging.getLogger(__name__)


def app_options(
    common: Common,
    *,
    partitions: int,
    session_timeout: float,
    stream_buffer: int,
    max_poll_records: int,
) -> dict[str, Any]:
    """faust.App options of every paypipe worker; each service adds its own."""
    return {
        "broker": [
            f"kafka://{server.strip()}" for server in common.kafka_bootstrap_servers.split(",")
        ],
        "autodiscover": False,
        "web_enabled": False,  # metrics come from prometheus_client on the service's own port
        "topic_partitions": partitions,
        "topic_replication_factor": 1,
        "producer_acks": -1,
        "consumer_auto_offset_reset": "earliest",
        # A worker killed without leaving its group holds its partitions until this runs out:
        # 15 s by default instead of Faust's 60 s. Heartbeats come from the consumer thread.
        "broker_session_timeout": session_timeout,
        "broker_heartbeat_interval": 3.0,
        "broker_commit_interval": 1.0,
        "key_serializer": "raw",
        "value_serializer": "raw",
        # Fetch and buffer more per poll than Faust's defaults: batches fill faster.
        "stream_buffer_maxsize": stream_buffer,
        "broker_max_poll_records": max_poll_records,
    }


def run_worker(app: faust.App, common: Common, metrics_host: str, metrics_port: int) -> None:
    """Serve /metrics, then run `app` until a signal stops it."""
    start_http_server(metrics_port, addr=metrics_host)
    logger.info("%s metrics on http://%s:%d/metrics", app.conf.id, metrics_host, metrics_port)
    worker = faust.Worker(
        app,
        loglevel=common.log_level.lower(),
        quiet=True,
        redirect_stdouts=False,
        override_logging=False,
    )
    worker.execute_from_commandline()
